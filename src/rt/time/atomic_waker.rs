//! The waker slot of a timer entry: one registering side (the future that
//! owns the timer) and one taking side (the thread that fires it).
//!
//! An `AtomicWaker` in the style of `futures`' and tokio's, specialised to
//! the timer: the registering side never wakes anything itself. When a
//! `take` runs at the same time as a `register`, `register` returns
//! [`Register::Raced`] and the owner, which must re-read the entry's state
//! after every `register`, sees the fire and completes in the poll it is
//! already in. So each fire produces exactly one of: one wake of the waker
//! that was registered last, or a poll that observes the fire; never both
//! for the same registration, never neither. The argument is in
//! `docs/design/timers.md` ("The waker slot").
//!
//! The protocol word:
//! - `WAITING`: nobody is in the slot; a registerer or a taker may enter.
//! - `REGISTERING`: the owner is writing the slot. Set and cleared only by
//!   the owner.
//! - `WAKING`: a taker has claimed the slot (alone), or has seen
//!   `REGISTERING` and left the slot to the owner (with `REGISTERING`).
//!   Cleared by whoever holds the slot when it leaves.

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire, Release},
};
use std::fmt;
use std::task::Waker;

/// Nobody holds the slot.
const WAITING: usize = 0;
/// The owner holds the slot and is writing a waker into it. Only the owner
/// sets or clears it; at most one owner exists per entry.
const REGISTERING: usize = 0b01;
/// A taker claimed the slot. Alone: the taker holds the slot. Together with
/// `REGISTERING`: the owner holds the slot and must withdraw its waker.
const WAKING: usize = 0b10;

/// Result of [`AtomicWaker::register`].
#[must_use = "the caller must re-check the fired state after registering"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Register {
    /// The waker is in the slot; the next `take` returns it.
    Stored,
    /// A `take` ran concurrently. The waker is not in the slot. Whatever the
    /// taker published before its `take` (the entry's FIRING state) is
    /// visible to the caller now.
    Raced,
}

pub(crate) struct AtomicWaker {
    state: AtomicUsize,
    /// Written only by whoever holds the slot (see the module doc).
    waker: UnsafeCell<Option<Waker>>,
}

impl AtomicWaker {
    pub(crate) fn new() -> AtomicWaker {
        AtomicWaker { state: AtomicUsize::new(WAITING), waker: UnsafeCell::new(None) }
    }

    /// Stores `waker` in the slot (skipping the clone if the slot already
    /// holds a waker that wakes the same task). Only the entry's owner
    /// calls this, and never from two threads at once.
    pub(crate) fn register(&self, waker: &Waker) -> Register {
        // Acquire on success: pairs with the Release `fetch_and` that ends a
        // `take`, so the taker's access to the slot happens before ours.
        // Acquire on failure: pairs with `take`'s `fetch_or`, so what the
        // taker wrote before it (FIRING) is visible to the caller's re-check.
        match self.state.compare_exchange(WAITING, REGISTERING, Acquire, Acquire) {
            Ok(_) => {}
            Err(actual) => {
                debug_assert_eq!(actual, WAKING, "two owners registering on one timer");
                return Register::Raced;
            }
        }
        let old = self.waker.with_mut(|slot| {
            // SAFETY: we hold the slot: we set REGISTERING, which a taker
            // sees and then leaves the slot alone, and we are the only
            // registering side; no reference to the slot outlives this
            // closure.
            let slot = unsafe { &mut *slot };
            match slot {
                Some(current) if current.will_wake(waker) => None,
                _ => slot.replace(waker.clone()),
            }
        });
        // Release on success: publishes the slot write to the next `take`
        // (its Acquire `fetch_or`). Acquire on failure: pairs with the
        // `fetch_or` of the taker that found REGISTERING and left, making
        // FIRING visible to the caller.
        let outcome = match self.state.compare_exchange(REGISTERING, WAITING, AcqRel, Acquire) {
            Ok(_) => Register::Stored,
            Err(actual) => {
                debug_assert_eq!(actual, REGISTERING | WAKING);
                // A taker came while we wrote and left the slot to us: take
                // the waker back (the caller completes instead) and release.
                let ours = self.waker.with_mut(|slot| {
                    // SAFETY: we still hold the slot (REGISTERING is set and
                    // the taker has left); no reference outlives the closure.
                    unsafe { (*slot).take() }
                });
                // Release: pairs with the Acquire of the next `register` or
                // `take`, ordering our slot access before theirs.
                self.state.store(WAITING, Release);
                drop(ours);
                Register::Raced
            }
        };
        // Dropped outside the protocol: a waker's drop may run arbitrary code.
        drop(old);
        outcome
    }

    /// Takes the registered waker, if any, for the firer to wake. Returns
    /// `None` if the owner is registering right now (it will see the fire
    /// itself) or if no waker was ever registered.
    pub(crate) fn take(&self) -> Option<Waker> {
        // AcqRel: Acquire pairs with `register`'s Release CAS back to
        // WAITING (we see the waker it stored); Release publishes what the
        // caller stored before this call (FIRING) to a `register` that finds
        // WAKING set (its Acquire CAS failure).
        match self.state.fetch_or(WAKING, AcqRel) {
            WAITING => {
                let waker = self.waker.with_mut(|slot| {
                    // SAFETY: we hold the slot: the state was WAITING and we
                    // set WAKING, so a `register` fails its first CAS and
                    // never touches the slot; no reference outlives this
                    // closure.
                    unsafe { (*slot).take() }
                });
                // Release: pairs with `register`'s Acquire CAS, ordering our
                // slot access before the next registration's.
                self.state.fetch_and(!WAKING, Release);
                waker
            }
            // REGISTERING: the owner holds the slot, sees our WAKING on its
            // second CAS and clears it. (WAKING alone would be a second
            // concurrent taker, which the shard lock rules out.)
            _ => None,
        }
    }
}

impl fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a diagnostic snapshot, nothing is read through it.
        let state = self.state.load(crate::loom::sync::atomic::Ordering::Relaxed);
        f.debug_struct("AtomicWaker").field("state", &state).finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::Wake;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count::default());
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn take_returns_the_last_registered_waker() {
        let slot = AtomicWaker::new();
        assert!(slot.take().is_none());
        let (a, wa) = counting();
        let (b, wb) = counting();
        assert_eq!(slot.register(&wa), Register::Stored);
        assert_eq!(slot.register(&wb), Register::Stored);
        slot.take().expect("registered").wake();
        assert_eq!((a.0.load(SeqCst), b.0.load(SeqCst)), (0, 1));
        assert!(slot.take().is_none(), "a waker is taken once");
    }

    #[test]
    fn register_of_the_same_waker_does_not_clone() {
        let slot = AtomicWaker::new();
        let (count, w) = counting();
        assert_eq!(slot.register(&w), Register::Stored);
        let strong = Arc::strong_count(&count);
        assert_eq!(slot.register(&w), Register::Stored);
        assert_eq!(Arc::strong_count(&count), strong);
    }

    #[test]
    fn register_during_take_reports_the_race() {
        let slot = AtomicWaker::new();
        // Simulate a taker that has claimed the slot.
        slot.state.store(WAKING, SeqCst);
        let (_count, w) = counting();
        assert_eq!(slot.register(&w), Register::Raced);
        slot.state.store(WAITING, SeqCst);
        assert!(slot.take().is_none(), "a raced registration stores nothing");
    }

    #[test]
    fn take_during_register_leaves_the_slot_to_the_owner() {
        let slot = AtomicWaker::new();
        slot.state.store(REGISTERING, SeqCst);
        assert!(slot.take().is_none());
        assert_eq!(slot.state.load(SeqCst), REGISTERING | WAKING);
    }
}
