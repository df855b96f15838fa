//! The runnext slot: the task a worker runs next (the last one its running
//! task woke or spawned), in an atomic pointer so that the monitor can take
//! it from a worker stuck in a long poll (docs/design/stalls.md).
//!
//! Protocol: only the owning worker puts a task in (it is the only writer of
//! a non-null value); the owner and the monitor may take it out (swap with
//! null). So the owner can trust a null it loads (nobody else fills the
//! slot) and store into it without an RMW; taking, and replacing a task that
//! is there, are swaps because the monitor may empty the slot at any time.
//! Other workers never steal from it (as in tokio; Go's thieves do, after a
//! back-off), so the hot path costs one uncontended swap per runnext task.
//!
//! loom: `loom-tests/steal.rs`, `monitor_takes_runnext_from_a_running_owner`.

use crate::loom::sync::atomic::{AtomicPtr, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};
use crate::rt::task::Notified;
use std::ptr::{self, NonNull};

#[derive(Debug)]
pub(crate) struct Runnext {
    slot: AtomicPtr<crate::rt::task::Header>,
}

impl Runnext {
    pub(crate) fn new() -> Runnext {
        Runnext { slot: AtomicPtr::new(ptr::null_mut()) }
    }

    /// Owner only: puts `task` in the slot, returning the task that was
    /// there (to be queued behind).
    pub(crate) fn replace(&self, task: Notified) -> Option<Notified> {
        let new = task.into_raw().as_ptr();
        // Relaxed: only this thread writes non-null values, so a null here
        // stays null until our store.
        if self.slot.load(Relaxed).is_null() {
            // Release: pairs with the Acquire swap in `steal`, publishing
            // the pointer's ownership (the task itself was published to us
            // by whoever scheduled it).
            self.slot.store(new, Release);
            return None;
        }
        // Release: as above, for the new task. The old one was stored by
        // this thread, so reading it needs no Acquire.
        let old = self.slot.swap(new, Release);
        // SAFETY: a non-null value in the slot came from `into_raw` and the
        // swap took it out exactly once.
        NonNull::new(old).map(|p| unsafe { Notified::from_raw(p) })
    }

    /// Owner only: takes the task out.
    pub(crate) fn take(&self) -> Option<Notified> {
        // Relaxed: only this thread fills the slot; a null stays null.
        if self.slot.load(Relaxed).is_null() {
            return None;
        }
        // Relaxed: the value (if the monitor did not take it first) was
        // stored by this thread.
        let old = self.slot.swap(ptr::null_mut(), Relaxed);
        // SAFETY: as in `replace`.
        NonNull::new(old).map(|p| unsafe { Notified::from_raw(p) })
    }

    /// Any thread other than the owner (the monitor): takes the task out.
    pub(crate) fn steal(&self) -> Option<Notified> {
        // Relaxed: a hint; the swap below decides.
        if self.slot.load(Relaxed).is_null() {
            return None;
        }
        // Acquire: pairs with the owner's Release store/swap.
        let old = self.slot.swap(ptr::null_mut(), Acquire);
        // SAFETY: as in `replace`.
        NonNull::new(old).map(|p| unsafe { Notified::from_raw(p) })
    }

    /// Owner: exact. Others: a hint.
    pub(crate) fn is_empty(&self) -> bool {
        // Relaxed: see above.
        self.slot.load(Relaxed).is_null()
    }
}

impl Drop for Runnext {
    fn drop(&mut self) {
        // Dropping the scheduler: give the reference back.
        drop(self.take());
    }
}
