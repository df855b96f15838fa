//! The real poller: mio (epoll on Linux, kqueue on the BSDs and macOS).

use super::scheduled_io::{ERROR, READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};
use super::slab::{self, Slab};
use mio::event::Source;
use mio::{Events, Interest, Poll, Registry, Token, Waker as MioWaker};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::task::Waker;
use std::time::Duration;

/// The waker's token: an index no slot can have.
const WAKER_TOKEN: Token = Token(usize::MAX);

pub(crate) struct Poller {
    poll: Poll,
    events: Events,
}

/// The half of the poller any thread may use: it registers and deregisters
/// sources (through mio's registry and the slab) and wakes the thread
/// blocked in `poll`. The `Poller` half belongs to whoever polls.
pub(crate) struct Registrar {
    registry: Registry,
    waker: MioWaker,
    pub(crate) slab: Slab,
    /// Set once a poll error has been reported (report once, not per poll).
    reported: AtomicBool,
}

pub(crate) fn new(capacity: usize) -> io::Result<(Poller, Registrar)> {
    let poll = Poll::new()?;
    let registry = poll.registry().try_clone()?;
    let waker = MioWaker::new(&registry, WAKER_TOKEN)?;
    Ok((
        Poller { poll, events: Events::with_capacity(capacity) },
        Registrar { registry, waker, slab: Slab::new(), reported: AtomicBool::new(false) },
    ))
}

impl Registrar {
    pub(crate) fn wake(&self) {
        if let Err(e) = self.waker.wake() {
            // An eventfd write fails only if the counter would overflow,
            // i.e. the poller already has a pending wake-up.
            if !self.reported.swap(true, Relaxed) {
                eprintln!("weft: netpoll waker failed: {e}");
            }
        }
    }

    pub(crate) fn has_registrations(&self) -> bool {
        self.slab.live() > 0
    }

    pub(crate) fn shutdown(&self) {
        self.slab.for_each(|io| io.shutdown());
    }

    /// Registers `source` for `interest`: (slot index, generation).
    pub(crate) fn register(
        &self,
        source: &mut impl Source,
        interest: Interest,
        assume_ready: usize,
    ) -> io::Result<(usize, usize)> {
        let (index, gen) = self.slab.allocate_with(assume_ready)?;
        if let Err(e) = self.registry.register(source, Token(slab::token(index, gen)), interest) {
            self.slab.release(index);
            return Err(e);
        }
        Ok((index, gen))
    }

    /// Deregisters `source` and frees its slot.
    pub(crate) fn deregister(&self, source: &mut impl Source, index: usize) -> io::Result<()> {
        let result = self.registry.deregister(source);
        self.slab.release(index);
        result
    }
}

fn readiness(event: &mio::event::Event) -> usize {
    let mut ready = 0;
    if event.is_readable() || event.is_priority() {
        ready |= READABLE;
    }
    if event.is_writable() {
        ready |= WRITABLE;
    }
    if event.is_read_closed() {
        ready |= READ_CLOSED;
    }
    if event.is_write_closed() {
        ready |= WRITE_CLOSED;
    }
    if event.is_error() {
        ready |= ERROR;
    }
    ready
}

pub(crate) fn poll(
    poller: &mut Poller,
    registrar: &Registrar,
    timeout: Option<Duration>,
    wakers: &mut Vec<Waker>,
) -> usize {
    if let Err(e) = poller.poll.poll(&mut poller.events, timeout) {
        if e.kind() != io::ErrorKind::Interrupted && !registrar.reported.swap(true, Relaxed) {
            eprintln!("weft: netpoll failed: {e}");
        }
        return 0;
    }
    let mut applied = 0;
    for event in poller.events.iter() {
        if event.token() == WAKER_TOKEN {
            continue;
        }
        let (index, gen) = slab::untoken(event.token().0);
        let Some(io) = registrar.slab.get(index) else { continue };
        let ready = readiness(event);
        if io.set_readiness(gen, ready) {
            io.take_wakers(ready, wakers);
            applied += 1;
        }
    }
    applied
}
