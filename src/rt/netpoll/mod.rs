//! The netpoller: one `mio::Poll` per runtime, driven by the workers
//! themselves (no reactor thread), in the manner of Go's netpoll.
//!
//! - `Driver` (this file): who may poll (an ownership flag), the blocking
//!   poll's published deadline (so a new earlier timer can interrupt it),
//!   and the waker that interrupts it.
//! - `sys_mio.rs` / `sys_shell.rs`: the OS poller (mio) or, under loom, a
//!   shell with the same blocking and waking behaviour and no I/O.
//! - `slab.rs`: registrations by index; the token carries a generation.
//! - `scheduled_io.rs`: per-registration readiness and wakers.
//! - `registration.rs`: what an I/O object holds (`PollEvented`).
//! - `fd.rs`: a raw file descriptor as a mio source (pipes, pidfds, the
//!   signal self-pipe).
//! - `inq.rs` (Linux): TCP_INQ, so a stream read that empties the socket
//!   says so and the `WouldBlock` read after it is not made.
//!
//! Without the `net` and `signal` features (`process` turns on `signal`)
//! nothing registers I/O: `registration.rs` is
//! compiled out, and the registration half of the others (slab
//! allocation, readiness waits) stays compiled but unused, since the
//! workers' poll loop, its waker and the timer hand-off share those files.
//!
//! Who polls, and how (docs/design/netpoll.md has the whole argument):
//! - A worker that runs out of local work polls without blocking (if no
//!   one else holds the poller) before it searches other queues; a busy
//!   worker does the same every `GLOBAL_POLL_INTERVAL` ticks.
//! - A worker that parks tries to take the poller; the one that gets it
//!   blocks in `epoll_wait` with a timeout equal to the earliest timer,
//!   the others block on their private parkers. Unparking the owner writes
//!   the mio waker.
//! - Events set readiness and collect wakers; the polling worker wakes them
//!   with its core installed, so woken tasks land in its own queue.

#![cfg_attr(not(any(feature = "net", feature = "signal")), allow(dead_code))]

#[cfg(all(test, loom))]
#[path = "sys_shell.rs"]
mod sys;
#[cfg(not(all(test, loom)))]
#[path = "sys_mio.rs"]
mod sys;

#[cfg(all(unix, feature = "signal", not(all(test, loom))))]
pub(crate) mod fd;
#[cfg(all(target_os = "linux", any(feature = "net", feature = "signal"), not(all(test, loom))))]
pub(crate) mod inq;
#[cfg(all(any(feature = "net", feature = "signal"), not(all(test, loom))))]
pub(crate) mod registration;
pub(crate) mod scheduled_io;
#[cfg(not(all(test, loom)))]
pub(crate) mod slab;

#[cfg(all(unix, feature = "signal", not(all(test, loom))))]
pub(crate) use fd::FdSource;
#[cfg(all(any(feature = "net", feature = "signal"), not(all(test, loom))))]
pub(crate) use registration::PollEvented;
#[cfg(any(feature = "net", feature = "signal"))]
pub(crate) use scheduled_io::Direction;

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{
    fence, AtomicBool, AtomicU64,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
};
use std::fmt;
use std::io;
use std::task::Waker;
use std::time::Duration;

/// Events taken per poll (Go and tokio use 128 and 1024).
pub(crate) const EVENTS_CAPACITY: usize = 1024;

/// `poll_deadline` while no worker is blocked in the poller.
pub(crate) const NOT_POLLING: u64 = u64::MAX;
/// `poll_deadline` while the owner blocks without a timer.
pub(crate) const NO_DEADLINE: u64 = u64::MAX - 1;

/// What [`Driver::timer_inserted`] found (and did) for a new earliest timer.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerHandoff {
    /// Nobody is blocked in the poller: the caller must see to it that a
    /// parked worker wakes (it then owns the poller with a timeout that
    /// covers the timer, see `DriverGuard::publish_timer_deadline`).
    NotPolling,
    /// The owner blocks until a later deadline (or none): its poll was
    /// interrupted, it will recompute its timeout.
    Woken,
    /// The owner's published deadline is not later than the timer.
    Covered,
}

pub(crate) struct Driver {
    /// The poller's ownership: true while a worker holds it. A hand-made
    /// try-lock (nobody ever waits for it; a worker that fails to take it
    /// parks on its own parker instead).
    owned: AtomicBool,
    /// The OS poller and its event buffer, touched only by the owner.
    poller: UnsafeCell<sys::Poller>,
    /// What any thread may touch: registry, slab, waker.
    registrar: sys::Registrar,
    /// The wheel millisecond the owner's blocking poll will time out at
    /// (`NO_DEADLINE` if none), or `NOT_POLLING`. SeqCst, with the timer
    /// shards' SeqCst `next` words: the store-buffering hand-off between
    /// an owner going to sleep and a thread inserting an earlier timer
    /// (docs/design/netpoll.md, "timers").
    poll_deadline: AtomicU64,
    is_shutdown: AtomicBool,
}

// SAFETY: `poller` is only reached through a `DriverGuard`, of which at most
// one exists at a time (the `owned` flag); everything else is Sync.
unsafe impl Sync for Driver {}
// SAFETY: the poller and the registrar are Send; no thread-bound state.
unsafe impl Send for Driver {}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("owned", &self.owned.load(Relaxed))
            .field("poll_deadline", &self.poll_deadline.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// Exclusive use of the poller; released on drop.
pub(crate) struct DriverGuard<'a> {
    driver: &'a Driver,
}

impl Driver {
    pub(crate) fn new() -> io::Result<Driver> {
        let (poller, registrar) = sys::new(EVENTS_CAPACITY)?;
        Ok(Driver {
            owned: AtomicBool::new(false),
            poller: UnsafeCell::new(poller),
            registrar,
            poll_deadline: AtomicU64::new(NOT_POLLING),
            is_shutdown: AtomicBool::new(false),
        })
    }

    /// Takes the poller if nobody holds it.
    pub(crate) fn try_acquire(&self) -> Option<DriverGuard<'_>> {
        // Relaxed pre-check: skip the RMW (a shared-line write) when it is
        // obviously held.
        if self.owned.load(Relaxed) {
            return None;
        }
        // Acquire: pairs with the Release in `DriverGuard::drop`; the
        // previous owner's use of the poller happens-before ours.
        self.owned.compare_exchange(false, true, Acquire, Relaxed).ok().map(|_| DriverGuard { driver: self })
    }

    /// Interrupts a blocking poll (or makes the next one return at once).
    pub(crate) fn wake(&self) {
        self.registrar.wake();
    }

    /// The owner's published timeout (see the field).
    pub(crate) fn poll_deadline(&self) -> u64 {
        self.poll_deadline.load(SeqCst)
    }

    /// The inserter's half of the timer hand-off: a timer insert made
    /// `deadline` (wheel ms) the earliest of its shard, after the shard's
    /// `next` was stored (SeqCst). Reads the owner's published deadline and
    /// interrupts the poll if it would sleep past `deadline`. The other
    /// half is `DriverGuard::publish_timer_deadline`; one of the two sees
    /// the other (docs/design/netpoll.md, "timers").
    pub(crate) fn timer_inserted(&self, deadline: u64) -> TimerHandoff {
        // The StoreLoad barrier between the caller's store of `next` and
        // our load (pairs with the fence in `publish_timer_deadline`).
        // The SeqCst accesses alone suffice in Rust's memory model; the
        // fence makes it explicit and is what loom can check (loom treats
        // SeqCst loads and stores as AcqRel but models SeqCst fences).
        fence(SeqCst);
        let polling_until = self.poll_deadline();
        if polling_until == NOT_POLLING {
            TimerHandoff::NotPolling
        } else if deadline < polling_until {
            self.wake();
            TimerHandoff::Woken
        } else {
            TimerHandoff::Covered
        }
    }

    /// Stops the netpoller: every registration fails its pending and later
    /// operations with an error; new registrations are refused.
    pub(crate) fn shutdown(&self) {
        if self.is_shutdown.swap(true, SeqCst) {
            return;
        }
        self.registrar.shutdown();
        self.wake();
    }

    /// True if any I/O object is registered (a non-blocking poll is then
    /// worth its system call).
    pub(crate) fn has_registrations(&self) -> bool {
        self.registrar.has_registrations()
    }

    #[cfg_attr(all(test, loom), allow(dead_code))] // the netpoller's; not built under loom
    pub(crate) fn is_shutdown(&self) -> bool {
        self.is_shutdown.load(SeqCst)
    }

    #[cfg(not(all(test, loom)))]
    pub(crate) fn registrar(&self) -> &sys::Registrar {
        &self.registrar
    }
}

impl DriverGuard<'_> {
    /// Publishes the deadline the coming blocking poll will time out at
    /// (`NO_DEADLINE` for none). SeqCst: see `Driver::poll_deadline`.
    fn publish_deadline(&self, deadline_ms: u64) {
        self.driver.poll_deadline.store(deadline_ms, SeqCst);
    }

    /// The owner's half of the timer hand-off, before a blocking poll:
    /// publishes the earliest timer (`next_expiration`, the timer shards'
    /// SeqCst min) as the poll's deadline, then re-reads it, until a
    /// re-read finds nothing earlier than what was published. Returns the
    /// published deadline (`None`: no timer, `NO_DEADLINE` published).
    ///
    /// An inserter stores its shard's `next` and then reads our deadline
    /// (`Driver::timer_inserted`). In the SeqCst total order either its
    /// read comes after our publication (it sees our deadline and wakes the
    /// poll if that is later than its timer) or our re-read comes after its
    /// store (we see its timer and publish again). Model: loom-tests/netpoll.rs,
    /// `timer_deadline_handoff`.
    pub(crate) fn publish_timer_deadline(&self, next_expiration: impl Fn() -> Option<u64>) -> Option<u64> {
        let key = |next: Option<u64>| next.unwrap_or(u64::MAX);
        let mut next = next_expiration();
        loop {
            self.publish_deadline(next.unwrap_or(NO_DEADLINE));
            // StoreLoad barrier: pairs with the fence in
            // `Driver::timer_inserted` (see there). Costs one full fence
            // on the way into a blocking poll.
            fence(SeqCst);
            let again = next_expiration();
            if key(again) >= key(next) {
                return next;
            }
            next = again;
        }
    }

    /// Polls for events, blocking up to `timeout` (`None`: until woken), and
    /// applies them: readiness set, wakers pushed to `wakers` (the caller
    /// wakes them). Returns the number of I/O events applied (the waker's
    /// own event is not counted).
    pub(crate) fn poll(&mut self, timeout: Option<Duration>, wakers: &mut Vec<Waker>) -> usize {
        let driver = self.driver;
        driver.poller.with_mut(|poller| {
            // SAFETY: we hold the ownership flag (this guard exists), so no
            // other thread touches the poller until we release it.
            let poller = unsafe { &mut *poller };
            sys::poll(poller, &driver.registrar, timeout, wakers)
        })
    }
}

impl Drop for DriverGuard<'_> {
    fn drop(&mut self) {
        self.driver.poll_deadline.store(NOT_POLLING, SeqCst);
        // Release: pairs with the Acquire in `try_acquire`.
        self.driver.owned.store(false, Release);
    }
}
