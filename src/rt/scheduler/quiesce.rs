//! The paused test clock's view of the scheduler: when the runtime is idle
//! enough that paused time may move, and who looks again when that
//! changes (docs/design/test-clock.md).
//!
//! A paused clock moves only when nothing could make progress without it:
//! every worker parked with empty queues, every `block_on` thread of this
//! runtime asleep without a pending wake-up, the blocking pool idle, and a
//! non-blocking netpoll finding no event. The worker that owns the
//! netpoller checks this each time it is about to block in it; whatever
//! can end the idleness without waking a worker (a `block_on` thread going
//! to sleep, a blocking thread going idle, a worker parking) writes the
//! netpoller's waker on a paused clock, so the owner looks again.
//!
//! With the runtime idle, the owner first completes the waiters of
//! `time::advance` (which wait for the runtime to settle after the timers
//! they fired); with none, it moves the clock to the earliest timer
//! (auto-advance), whose firing then wakes its task.

use super::park::Parker;
use super::Shared;
use crate::loom::sync::{Arc, Mutex};
use std::task::Waker;

/// Threads and futures that the idleness check must know about.
pub(crate) struct Quiescence {
    /// Parkers of the threads inside `block_on` on this runtime. A thread
    /// whose parker is asleep (parked, no token) is idle; any other state
    /// means it is polling or about to.
    block_on: Mutex<Vec<Arc<Parker>>>,
    /// `time::advance` callers waiting for the runtime to settle, and the
    /// number of times waiters were released (a waiter is done once it
    /// changes).
    settled: Mutex<(u64, Vec<Waker>)>,
}

/// Registration of a `block_on` thread; removed on drop.
pub(crate) struct BlockOnEntry<'a> {
    quiescence: &'a Quiescence,
    parker: Arc<Parker>,
}

impl Drop for BlockOnEntry<'_> {
    fn drop(&mut self) {
        let mut list = self.quiescence.block_on.lock();
        if let Some(i) = list.iter().position(|p| Arc::ptr_eq(p, &self.parker)) {
            list.swap_remove(i);
        }
    }
}

impl Quiescence {
    pub(crate) fn new() -> Quiescence {
        Quiescence { block_on: Mutex::new(Vec::new()), settled: Mutex::new((0, Vec::new())) }
    }

    pub(crate) fn register_block_on(&self, parker: Arc<Parker>) -> BlockOnEntry<'_> {
        self.block_on.lock().push(parker.clone());
        BlockOnEntry { quiescence: self, parker }
    }

    fn block_on_threads_asleep(&self) -> bool {
        self.block_on.lock().iter().all(|p| p.is_asleep())
    }

    /// The release count now (a waiter registers against it).
    #[cfg_attr(not(feature = "time"), allow(dead_code))] // `time::advance` is the waiter
    pub(crate) fn settle_generation(&self) -> u64 {
        self.settled.lock().0
    }

    /// Registers `waker` to be woken when the runtime settles, unless it
    /// settled since `generation`. Returns true if it has.
    #[cfg_attr(not(feature = "time"), allow(dead_code))]
    pub(crate) fn wait_settled(&self, generation: u64, waker: &Waker) -> bool {
        let mut settled = self.settled.lock();
        if settled.0 != generation {
            return true;
        }
        if !settled.1.iter().any(|w| w.will_wake(waker)) {
            settled.1.push(waker.clone());
        }
        false
    }

    fn has_settle_waiters(&self) -> bool {
        !self.settled.lock().1.is_empty()
    }

    /// Releases every waiter; true if there was one.
    fn release_settle_waiters(&self) -> bool {
        let waiters = {
            let mut settled = self.settled.lock();
            if settled.1.is_empty() {
                return false;
            }
            settled.0 += 1;
            std::mem::take(&mut settled.1)
        };
        waiters.into_iter().for_each(Waker::wake);
        true
    }
}

impl Shared {
    pub(crate) fn quiescence(&self) -> &Quiescence {
        &self.quiescence
    }

    /// True if nothing in this runtime runs or is about to run (see the
    /// module doc). Called by the netpoller's owner, itself parked.
    pub(crate) fn is_quiescent(&self) -> bool {
        self.idle.load().num_unparked() == 0
            && !self.has_stealable_work()
            && self.quiescence.block_on_threads_asleep()
            && self.services.blocking().is_idle()
    }

    /// On a paused clock, makes the netpoller's owner check again whether
    /// time may move. Nothing on a running clock.
    pub(crate) fn kick_paused_clock(&self) {
        if self.services.timers().clock().is_paused() {
            self.services.driver().wake();
        }
    }

    /// True if a settled runtime would have something to do with a paused
    /// clock: a timer to advance to, or `advance` callers to release.
    pub(crate) fn paused_clock_has_work(&self, next_timer: Option<u64>) -> bool {
        next_timer.is_some() || self.quiescence.has_settle_waiters()
    }

    /// The runtime is settled on a paused clock (the caller checked): let
    /// `advance` callers go on, or else move the clock to the earliest
    /// timer (which the caller then fires).
    pub(crate) fn on_settled(&self) {
        if self.quiescence.release_settle_waiters() {
            return;
        }
        let timers = self.services.timers();
        if let Some(next) = timers.next_expiration() {
            let clock = timers.clock();
            clock.advance_to(clock.ms_to_instant(next));
        }
    }
}
