//! A timer entry: the part of a timer that the future owning it and the
//! wheel shard linking it share.
//!
//! The entry lives inside its owner (a [`Timer`](super::timer::Timer), in a
//! pinned future, in the task's one allocation): no per-timer allocation.
//! It is `!Unpin`, so once registered it stays at its address until the
//! owner unregisters it, which `Timer`'s `Drop` does.
//!
//! # Who may touch what
//!
//! | field | rule |
//! | --- | --- |
//! | `node` (links, location, deadline) | only the wheel, under the lock of the shard the state names; while UNREGISTERED nobody touches it |
//! | `state` | see the constants: the owner and a lock holder, each for its own transitions |
//! | `waker` | the [`AtomicWaker`] protocol: the owner registers, the firer takes |
//!
//! Invariant (S): the state is REGISTERED(i) exactly while the entry is
//! linked in shard i's wheel, and both change only under shard i's lock.
//! FIRING is only ever seen *outside* that lock (the firer holds it for the
//! whole of FIRING). FIRED means the firer has made its last access.
//!
//! The full state protocol and its argument are in `docs/design/timers.md`.

use super::atomic_waker::{AtomicWaker, Register};
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use std::fmt;
use std::marker::PhantomPinned;
use std::ptr::NonNull;
use std::task::Waker;

/// In no wheel. Only the owner touches the entry. Set by the owner
/// (from FIRED, owner-only) or under the shard lock (from REGISTERED).
const UNREGISTERED: usize = 0;
/// Linked in the wheel of shard `state >> SHARD_SHIFT`. Set and cleared only
/// under that shard's lock (invariant S).
const REGISTERED: usize = 1;
/// Unlinked by a firer that still holds the shard lock and is taking the
/// waker. The owner treats it as elapsed but must not free the entry
/// without taking the lock. Never observed by another lock holder.
const FIRING: usize = 2;
/// The firer is done: no thread but the owner touches the entry again.
const FIRED: usize = 3;
const TAG_MASK: usize = 0b11;
/// With FIRING or FIRED: fired by shutdown, not by the deadline.
const SHUTDOWN: usize = 0b100;
const SHARD_SHIFT: u32 = 3;

/// A decoded state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Unregistered,
    Registered { shard: usize },
    Firing { shard: usize, shutdown: bool },
    Fired { shutdown: bool },
}

impl State {
    fn decode(word: usize) -> State {
        let shard = word >> SHARD_SHIFT;
        let shutdown = word & SHUTDOWN != 0;
        match word & TAG_MASK {
            UNREGISTERED => State::Unregistered,
            REGISTERED => State::Registered { shard },
            FIRING => State::Firing { shard, shutdown },
            _ => State::Fired { shutdown },
        }
    }

    /// FIRING or FIRED: the timer has elapsed (or was shut down) as far as
    /// its owner is concerned.
    pub(crate) fn has_fired(self) -> Option<bool> {
        match self {
            State::Firing { shutdown, .. } | State::Fired { shutdown } => Some(shutdown),
            State::Unregistered | State::Registered { .. } => None,
        }
    }
}

/// Where a linked entry sits in its wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loc {
    Unlinked,
    Slot {
        level: u8,
        slot: u8,
    },
    /// In the wheel's list of expired entries not yet handed out.
    Pending,
}

/// The wheel's part of an entry. Accessed only through [`with_node`].
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) prev: Option<NonNull<Entry>>,
    pub(crate) next: Option<NonNull<Entry>>,
    pub(crate) loc: Loc,
    /// The deadline, in wheel milliseconds.
    pub(crate) deadline: u64,
}

pub(crate) struct Entry {
    node: UnsafeCell<Node>,
    state: AtomicUsize,
    waker: AtomicWaker,
    /// Linked entries are reached through raw pointers: never move one.
    _pinned: PhantomPinned,
}

// SAFETY: `node`'s raw pointers are only dereferenced by the wheel that links
// the entry, under its shard lock (invariant S); `waker` is guarded by the
// AtomicWaker protocol and `Waker` is Send + Sync; `state` is atomic.
unsafe impl Send for Entry {}
// SAFETY: as for Send: every shared access goes through an atomic, the
// shard lock, or the AtomicWaker protocol.
unsafe impl Sync for Entry {}

/// Runs `f` on the entry's wheel node.
///
/// # Safety
///
/// - `entry` points to a live `Entry` (not freed, not moved);
/// - the caller has exclusive access to the node: it owns (under the shard
///   lock) the wheel the entry is linked in or being linked into, and no
///   other `with_node` on this entry is running.
pub(crate) unsafe fn with_node<R>(entry: NonNull<Entry>, f: impl FnOnce(&mut Node) -> R) -> R {
    // SAFETY: the entry is live (first obligation); the reference is used
    // only during this call.
    let entry = unsafe { entry.as_ref() };
    entry.node.with_mut(|node| {
        // SAFETY: exclusive access to the node (second obligation); the
        // reference does not outlive the closure.
        f(unsafe { &mut *node })
    })
}

impl Entry {
    pub(crate) fn new() -> Entry {
        Entry {
            node: UnsafeCell::new(Node { prev: None, next: None, loc: Loc::Unlinked, deadline: 0 }),
            state: AtomicUsize::new(UNREGISTERED),
            waker: AtomicWaker::new(),
            _pinned: PhantomPinned,
        }
    }

    /// The state as the owner sees it outside any lock.
    pub(crate) fn state(&self) -> State {
        // Acquire: pairs with the firer's Release store of FIRED in `fire`,
        // so when we see FIRED every access of the firer to this entry
        // happens before whatever we do next (free it, re-register it).
        State::decode(self.state.load(Acquire))
    }

    /// The state as seen by a holder of the lock of the shard the entry is
    /// (or was) registered in.
    pub(crate) fn state_locked(&self) -> State {
        // Relaxed: every store that matters to a lock holder (REGISTERED,
        // UNREGISTERED from REGISTERED, FIRED) was made under the same lock,
        // which orders it before us.
        State::decode(self.state.load(Relaxed))
    }

    /// UNREGISTERED -> REGISTERED(shard). Caller: the owner, holding
    /// `shard`'s lock, having just linked the entry into its wheel.
    pub(crate) fn set_registered(&self, shard: usize) {
        debug_assert_eq!(self.state_locked(), State::Unregistered);
        // Relaxed: read only under this lock (`state_locked`) and by the
        // owner, which is this thread.
        self.state.store(REGISTERED | (shard << SHARD_SHIFT), Relaxed);
    }

    /// REGISTERED -> UNREGISTERED under the shard lock, having unlinked the
    /// entry; or FIRED -> UNREGISTERED by the owner (nobody else touches a
    /// FIRED entry).
    pub(crate) fn set_unregistered(&self) {
        debug_assert!(matches!(self.state_locked(), State::Registered { .. } | State::Fired { .. }));
        // Relaxed: from REGISTERED, the lock orders it for the next lock
        // holder; from FIRED, only the owner (this thread) reads it.
        self.state.store(UNREGISTERED, Relaxed);
    }

    /// UNREGISTERED -> FIRED without a wheel: the deadline had passed or the
    /// timers were shut down when the owner tried to register. Owner only.
    pub(crate) fn set_fired_unregistered(&self, shutdown: bool) {
        debug_assert_eq!(self.state_locked(), State::Unregistered);
        let flag = if shutdown { SHUTDOWN } else { 0 };
        // Relaxed: no other thread can reach an UNREGISTERED entry.
        self.state.store(FIRED | flag, Relaxed);
    }

    /// Registers the owner's waker. The caller must re-read [`state`]
    /// afterwards: a fire that races with this call is seen there.
    ///
    /// [`state`]: Entry::state
    pub(crate) fn register_waker(&self, waker: &Waker) -> Register {
        self.waker.register(waker)
    }

    /// Fires an entry that the caller just unlinked from shard `shard`'s
    /// wheel: REGISTERED -> FIRING -> FIRED. Returns the waker to wake
    /// *after* the caller releases the lock.
    ///
    /// # Safety
    ///
    /// - `entry` is live: it was linked in the wheel until the caller
    ///   unlinked it, under the lock it still holds (the owner cannot free
    ///   it without that lock or without seeing FIRED, which is stored
    ///   last);
    /// - the caller holds `shard`'s lock and the state is REGISTERED(shard).
    pub(crate) unsafe fn fire(entry: NonNull<Entry>, shard: usize, shutdown: bool) -> Option<Waker> {
        // SAFETY: the entry is live (first obligation). The reference is not
        // used after the FIRED store below, after which the owner may free it.
        let this = unsafe { entry.as_ref() };
        debug_assert_eq!(this.state_locked(), State::Registered { shard });
        let flag = if shutdown { SHUTDOWN } else { 0 };
        // Release: pairs with the owner's Acquire in `state`. The owner's
        // no-lost-wake-up argument does not need it (the waker's RMWs in
        // `take` carry this store to a racing `register`); it keeps the
        // pairing of each load local.
        this.state.store(FIRING | flag | (shard << SHARD_SHIFT), Release);
        let waker = this.waker.take();
        // Release: pairs with the owner's Acquire in `state`; our last
        // access to the entry. From here the owner may free it.
        this.state.store(FIRED | flag, Release);
        waker
    }
}

impl Default for Entry {
    fn default() -> Entry {
        Entry::new()
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry").field("state", &self.state()).finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn state_round_trips_through_the_word() {
        let e = Entry::new();
        assert_eq!(e.state(), State::Unregistered);
        e.set_registered(41);
        assert_eq!(e.state(), State::Registered { shard: 41 });
        e.set_unregistered();
        e.set_fired_unregistered(true);
        assert_eq!(e.state(), State::Fired { shutdown: true });
        assert_eq!(e.state().has_fired(), Some(true));
        e.set_unregistered();
        assert_eq!(e.state().has_fired(), None);
    }

    #[test]
    fn fire_wakes_the_registered_waker_once() {
        let e = Entry::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        assert_eq!(e.register_waker(&Waker::from(count.clone())), Register::Stored);
        e.set_registered(3);
        // SAFETY: `e` is live on this stack frame; the test plays the shard
        // whose lock guards it (nothing else can reach it).
        let w = unsafe { Entry::fire(NonNull::from(&e), 3, false) };
        assert_eq!(e.state(), State::Fired { shutdown: false });
        w.expect("a registered waker is returned").wake();
        assert_eq!(count.0.load(SeqCst), 1);
    }
}
