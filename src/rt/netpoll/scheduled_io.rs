//! `ScheduledIo`: the per-registration state the netpoller shares with the
//! task that owns an I/O object: a readiness word and one waker per
//! direction.
//!
//! The readiness word packs three fields:
//!
//! ```text
//! bits 0..6    readiness: READABLE WRITABLE READ_CLOSED WRITE_CLOSED ERROR SHUTDOWN
//! bits 8..24   tick: bumped by every event the netpoller applies
//! bits 24..    generation of the slab slot (see slab.rs)
//! ```
//!
//! Edge-triggered rules: an event only *adds* readiness; readiness is
//! cleared only by the owner after an operation returned `WouldBlock`, and
//! only if no event arrived since the owner observed it (same tick), so a
//! clear can never erase an edge it did not see. Closed and shutdown bits
//! are sticky. The error bit is cleared with readiness: the kernel's
//! pending error (`SO_ERROR`) is consumed by the operation that reports it,
//! so once an operation returns `WouldBlock` the error is gone (a UDP
//! socket lives on after an ICMP error; keeping the bit would make every
//! later wait return at once, a busy loop).
//!
//! No lost wake-up between `poll_ready` and `set_readiness`: the poller
//! stores its waker and re-reads readiness under the waiters lock; the
//! netpoller publishes readiness (RMW) and then takes the wakers under the
//! same lock. Either the poller's critical section comes first (the
//! netpoller finds the waker) or second (the lock's release/acquire makes
//! the new readiness visible to the re-read). Argument and loom model:
//! docs/design/netpoll.md, loom-tests/netpoll.rs.

use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire},
};
use crate::loom::sync::Mutex;
use std::task::{Context, Poll, Waker};

pub(crate) const READABLE: usize = 1 << 0;
pub(crate) const WRITABLE: usize = 1 << 1;
pub(crate) const READ_CLOSED: usize = 1 << 2;
pub(crate) const WRITE_CLOSED: usize = 1 << 3;
pub(crate) const ERROR: usize = 1 << 4;
/// The runtime's netpoller shut down: every operation fails from now on.
pub(crate) const SHUTDOWN: usize = 1 << 5;
const READY_MASK: usize = 0xFF;

const TICK_SHIFT: u32 = 8;
const TICK_MASK: usize = 0xFFFF << TICK_SHIFT;
pub(crate) const GEN_SHIFT: u32 = 24;
/// Generations wrap within the bits the word has left.
pub(crate) const GEN_MAX: usize = usize::MAX >> GEN_SHIFT;

/// One of the two directions an I/O object waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The readiness bits that end a wait in this direction.
    #[inline]
    pub(crate) fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR | SHUTDOWN,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR | SHUTDOWN,
        }
    }
}

/// What `poll_ready` saw: the readiness bits of its direction and the tick
/// they were seen at (for `clear_readiness`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadyEvent {
    pub(crate) ready: usize,
    tick: usize,
}

impl ReadyEvent {
    #[cfg_attr(all(test, loom), allow(dead_code))] // the netpoller's; not built under loom
    pub(crate) fn is_shutdown(&self) -> bool {
        self.ready & SHUTDOWN != 0
    }
}

#[derive(Debug, Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
}

#[derive(Debug)]
pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

fn generation(word: usize) -> usize {
    word >> GEN_SHIFT
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo { readiness: AtomicUsize::new(0), waiters: Mutex::new(Waiters::default()) }
    }

    /// Hands the slot to a new registration: bumps the generation, clears
    /// readiness and tick. Returns the new generation. Called by the slab
    /// with the slot off the free list (no owner, no poller).
    pub(crate) fn reset_for_new_owner(&self) -> usize {
        self.reset_for_new_owner_with(0)
    }

    /// `reset_for_new_owner` with readiness `initial` assumed: the first
    /// operation in those directions is attempted without waiting for the
    /// netpoller's first edge (a `WouldBlock` clears it as usual). Sound
    /// because registering a ready fd makes epoll/kqueue report it at once
    /// anyway: assuming readiness can cost one `WouldBlock`, never a wake-up.
    pub(crate) fn reset_for_new_owner_with(&self, initial: usize) -> usize {
        let mut cur = self.readiness.load(Acquire);
        loop {
            let gen = (generation(cur) + 1) & GEN_MAX;
            // AcqRel: pairs with the netpoller's CAS in `set_readiness`; a
            // stale event that loses this race sees the new generation.
            let new = (gen << GEN_SHIFT) | (initial & (READABLE | WRITABLE));
            match self.readiness.compare_exchange(cur, new, AcqRel, Acquire) {
                Ok(_) => return gen,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The slot is being freed: bump the generation (so a late event for
    /// the old token is ignored) and drop any waker left behind.
    pub(crate) fn release(&self) {
        self.reset_for_new_owner();
        let waiters = std::mem::take(&mut *self.waiters.lock());
        drop(waiters);
    }

    /// Netpoller side: adds `ready` if the slot still belongs to generation
    /// `gen`. Returns false for a stale event.
    #[inline]
    pub(crate) fn set_readiness(&self, gen: usize, ready: usize) -> bool {
        let mut cur = self.readiness.load(Acquire);
        loop {
            if generation(cur) != gen & GEN_MAX {
                return false;
            }
            let tick = ((cur & TICK_MASK) + (1 << TICK_SHIFT)) & TICK_MASK;
            let new = (cur & !TICK_MASK) | tick | (ready & READY_MASK);
            // AcqRel: Release publishes the readiness to `poll_ready`'s
            // Acquire loads; Acquire orders us after the generation bump of
            // `reset_for_new_owner`.
            match self.readiness.compare_exchange(cur, new, AcqRel, Acquire) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Netpoller side, after `set_readiness`: takes the wakers of the
    /// directions `ready` ends a wait for (wake them after returning: no
    /// lock is held across foreign code). Inlined into the netpoller's
    /// event loop, which calls it for every event.
    #[inline(always)]
    pub(crate) fn take_wakers(&self, ready: usize, out: &mut Vec<Waker>) {
        let mut waiters = self.waiters.lock();
        if ready & Direction::Read.mask() != 0 {
            if let Some(w) = waiters.reader.take() {
                out.push(w);
            }
        }
        if ready & Direction::Write.mask() != 0 {
            if let Some(w) = waiters.writer.take() {
                out.push(w);
            }
        }
    }

    /// Marks the slot shut down and wakes both directions.
    #[cfg_attr(all(test, loom), allow(dead_code))] // the netpoller's; not built under loom
    pub(crate) fn shutdown(&self) {
        // AcqRel: publishes the flag to every later `poll_ready`.
        self.readiness.fetch_or(SHUTDOWN, AcqRel);
        let mut wakers = Vec::with_capacity(2);
        self.take_wakers(SHUTDOWN, &mut wakers);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The readiness of `dir` right now, without registering a waker.
    #[inline]
    pub(crate) fn ready_event(&self, dir: Direction) -> Option<ReadyEvent> {
        // Acquire: pairs with the netpoller's Release in `set_readiness`.
        let cur = self.readiness.load(Acquire);
        let ready = cur & dir.mask();
        (ready != 0).then_some(ReadyEvent { ready, tick: cur & TICK_MASK })
    }

    /// Owner side: ready in `dir`, or Pending with `cx`'s waker stored.
    /// Inlined: the ready test is one load; storing the waker is not.
    #[inline]
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<ReadyEvent> {
        match self.ready_event(dir) {
            Some(ev) => Poll::Ready(ev),
            None => self.poll_ready_store_waker(cx, dir),
        }
    }

    /// `poll_ready` found `dir` not ready: stores the waker and looks again
    /// under the lock.
    #[inline(never)]
    fn poll_ready_store_waker(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<ReadyEvent> {
        let mut waiters = self.waiters.lock();
        let slot = match dir {
            Direction::Read => &mut waiters.reader,
            Direction::Write => &mut waiters.writer,
        };
        match slot {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        // Re-read under the lock (see the module docs): an event applied
        // before the netpoller took this lock is visible now.
        match self.ready_event(dir) {
            Some(ev) => Poll::Ready(ev),
            None => Poll::Pending,
        }
    }

    /// Owner side, after an operation returned `WouldBlock`: clears the
    /// readable/writable/error bits of `ev` unless an event arrived since
    /// (tick changed). Closed and shutdown bits are never cleared.
    #[inline]
    pub(crate) fn clear_readiness(&self, ev: ReadyEvent) {
        let clear = ev.ready & (READABLE | WRITABLE | ERROR);
        let mut cur = self.readiness.load(Acquire);
        loop {
            if cur & TICK_MASK != ev.tick {
                return;
            }
            let new = cur & !clear;
            if new == cur {
                return;
            }
            // AcqRel: ordered against the netpoller's CAS on the same word;
            // failing on a tick change is what keeps a new edge.
            match self.readiness.compare_exchange(cur, new, AcqRel, Acquire) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct CountWake(AtomicUsize);
    impl Wake for CountWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<CountWake>, Waker) {
        let c = Arc::new(CountWake(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn pending_then_event_wakes_and_is_ready() {
        let io = ScheduledIo::new();
        let gen = io.reset_for_new_owner();
        let (count, w) = waker();
        let mut cx = Context::from_waker(&w);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        assert!(io.set_readiness(gen, READABLE));
        let mut out = Vec::new();
        io.take_wakers(READABLE, &mut out);
        assert_eq!(out.len(), 1);
        out.into_iter().for_each(Waker::wake);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_ready());
        // The write direction is untouched.
        assert!(io.poll_ready(&mut cx, Direction::Write).is_pending());
    }

    #[test]
    fn assumed_readiness_is_ready_at_once_and_cleared_by_a_would_block() {
        let io = ScheduledIo::new();
        let gen = io.reset_for_new_owner_with(READABLE | WRITABLE);
        let (count, w) = waker();
        let mut cx = Context::from_waker(&w);
        let Poll::Ready(ev) = io.poll_ready(&mut cx, Direction::Write) else { panic!("assumed writable") };
        // The guess was wrong (the operation said WouldBlock): clear it.
        io.clear_readiness(ev);
        assert!(io.poll_ready(&mut cx, Direction::Write).is_pending());
        // The netpoller's edge then wakes the waiter as usual.
        assert!(io.set_readiness(gen, WRITABLE));
        let mut out = Vec::new();
        io.take_wakers(WRITABLE, &mut out);
        out.into_iter().for_each(Waker::wake);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // Only READABLE/WRITABLE can be assumed.
        let io = ScheduledIo::new();
        io.reset_for_new_owner_with(ERROR | SHUTDOWN | READ_CLOSED);
        assert!(io.ready_event(Direction::Read).is_none());
    }

    #[test]
    fn stale_generation_is_ignored() {
        let io = ScheduledIo::new();
        let old = io.reset_for_new_owner();
        io.release();
        let new = io.reset_for_new_owner();
        assert_ne!(old, new);
        assert!(!io.set_readiness(old, READABLE));
        assert!(io.ready_event(Direction::Read).is_none());
        assert!(io.set_readiness(new, READABLE));
        assert!(io.ready_event(Direction::Read).is_some());
    }

    #[test]
    fn clear_keeps_an_edge_that_arrived_after_the_observation() {
        let io = ScheduledIo::new();
        let gen = io.reset_for_new_owner();
        assert!(io.set_readiness(gen, READABLE));
        let seen = io.ready_event(Direction::Read).unwrap();
        // A new edge arrives between the observation and the WouldBlock.
        assert!(io.set_readiness(gen, READABLE));
        io.clear_readiness(seen);
        assert!(io.ready_event(Direction::Read).is_some(), "the newer edge must survive");
        let seen = io.ready_event(Direction::Read).unwrap();
        io.clear_readiness(seen);
        assert!(io.ready_event(Direction::Read).is_none());
    }

    #[test]
    fn closed_and_shutdown_are_sticky() {
        let io = ScheduledIo::new();
        let gen = io.reset_for_new_owner();
        assert!(io.set_readiness(gen, READABLE | READ_CLOSED));
        let seen = io.ready_event(Direction::Read).unwrap();
        io.clear_readiness(seen);
        assert_eq!(io.ready_event(Direction::Read).unwrap().ready, READ_CLOSED);
        io.shutdown();
        assert!(io.ready_event(Direction::Write).unwrap().is_shutdown());
    }

    #[test]
    fn error_is_cleared_by_a_would_block() {
        let io = ScheduledIo::new();
        let gen = io.reset_for_new_owner();
        assert!(io.set_readiness(gen, READABLE | ERROR));
        let seen = io.ready_event(Direction::Read).unwrap();
        io.clear_readiness(seen);
        assert!(io.ready_event(Direction::Read).is_none(), "a consumed error must not stay ready");
    }

    #[test]
    fn generation_wraps_without_touching_other_fields() {
        let io = ScheduledIo::new();
        io.readiness.store(GEN_MAX << GEN_SHIFT, Ordering::SeqCst);
        let gen = io.reset_for_new_owner();
        assert_eq!(gen, 0);
        assert!(io.set_readiness(0, WRITABLE));
        assert!(io.ready_event(Direction::Write).is_some());
    }
}
