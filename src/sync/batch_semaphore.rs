//! The batch semaphore under `Semaphore`, `Mutex`, `RwLock` and the bounded
//! mpsc channel: a count of permits, FIFO-fair acquisition of several at
//! once, and cancel-safe waiting.
//!
//! Two pieces of state, kept apart so a reader sees which needs the lock:
//!
//! - `word` (lock-free): `permits << SHIFT | WAITERS | CLOSED`.
//!   An uncontended `try_acquire` or `release` is one CAS loop on it.
//! - `waiters` (under the mutex): an intrusive FIFO [`List`] of [`Waiter`]
//!   nodes, each inside a pinned [`Acquire`] future.
//!
//! Invariants:
//! 1. `WAITERS` is set if and only if the list is non-empty, and is only
//!    changed under the lock (the enqueue CAS sets it, the last unlink
//!    clears it).
//! 2. While `WAITERS` is set the word holds no permits: the waiter that
//!    enqueues takes every available permit in the same CAS that sets
//!    `WAITERS`, and releasers that see `WAITERS` hand their permits to
//!    the waiters under the lock instead of adding them to the word; only
//!    what is left once the list is empty goes back to the word, in the
//!    same RMW that clears `WAITERS`. Hence nobody jumps the queue: a
//!    fast-path acquire sees no permits (or `WAITERS`) while anyone waits.
//! 3. Only the head waiter is ever partly assigned. A waiter's `state`
//!    holds the permits it still needs (and `CLOSED`), changes only under
//!    the lock, and a waiter is linked exactly when it still needs permits
//!    and was not closed out.
//! 4. Every permit is in exactly one place: the word, a waiter's assigned
//!    part (`n - needed`), or a caller that acquired it. Dropping an
//!    `Acquire` at any point gives back what its node holds.
//!
//! The full argument (no lost wake-up, no lost or duplicated permit) is in
//! `docs/design/sync.md`.

use super::list::{Links, List, Node};
use super::wake_list::WakeList;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire as Acq, Relaxed, Release},
};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::rt::coop;
use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{ready, Context, Poll, Waker};

/// The most permits a semaphore can hold (`usize::MAX >> 3`: the word keeps
/// two flag bits below the count, and one bit of headroom so an overflow
/// check can add before it compares).
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

/// Set once by `close`, never cleared.
const CLOSED: usize = 0b01;
/// Set exactly while the waiter list is non-empty (invariant 1); the word
/// then holds no permits (invariant 2).
const WAITERS: usize = 0b10;
/// The permit count starts here.
const SHIFT: usize = 2;

/// In a waiter's `state`: the semaphore was closed while it waited; it is
/// no longer linked. The count of still-needed permits sits above it.
const NODE_CLOSED: usize = 0b1;

/// The semaphore was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AcquireError;

/// Why `try_acquire` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits now (or others are already waiting for them).
    NoPermits,
}

pub(crate) struct Semaphore {
    /// `permits << SHIFT | WAITERS | CLOSED`.
    word: AtomicUsize,
    waiters: Mutex<List<Waiter>>,
}

/// A queued acquirer. Lives inside its `Acquire` future.
pub(crate) struct Waiter {
    links: UnsafeCell<Links<Waiter>>,
    /// `needed << 1 | NODE_CLOSED`. Written only under the semaphore's
    /// lock; read lock-free by the owning future.
    state: AtomicUsize,
    /// Written under the lock only (by the owner registering, by a
    /// releaser or `close` taking it).
    waker: UnsafeCell<Option<Waker>>,
    /// Linked nodes must not move.
    _pin: PhantomPinned,
}

// SAFETY: `links` and `waker` are only accessed under the semaphore's lock
// (the list and the code below), `state` is atomic; so sharing a node across
// threads is sound.
unsafe impl Sync for Waiter {}
// SAFETY: as above; a `Waker` is `Send`.
unsafe impl Send for Waiter {}

// SAFETY: `links` returns the same field for the node's whole life, and
// nothing but `List` touches it.
unsafe impl Node for Waiter {
    fn links(&self) -> &UnsafeCell<Links<Waiter>> {
        &self.links
    }
}

impl Waiter {
    fn new() -> Waiter {
        Waiter {
            links: UnsafeCell::new(Links::new()),
            state: AtomicUsize::new(0),
            waker: UnsafeCell::new(None),
            _pin: PhantomPinned,
        }
    }

    /// Takes the waker. Caller holds the semaphore's lock.
    fn take_waker(&self) -> Option<Waker> {
        // SAFETY: the waker cell is only touched under the lock (caller).
        self.waker.with_mut(|p| unsafe { (*p).take() })
    }

    /// Stores `waker` unless the one there would wake the same task.
    /// Caller holds the semaphore's lock.
    fn set_waker(&self, waker: &Waker) {
        self.waker.with_mut(|p| {
            // SAFETY: as in `take_waker`.
            let slot = unsafe { &mut *p };
            if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                *slot = Some(waker.clone());
            }
        })
    }
}

/// Where an [`Acquire`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not polled yet: holds nothing, not linked.
    Init,
    /// Its node went through the enqueue: it holds `n - needed` permits and
    /// is linked unless `needed == 0` or `NODE_CLOSED`.
    Queued,
    /// Returned `Ready`: the caller owns the permits (or got the error).
    Done,
}

/// Future of [`Semaphore::acquire`].
pub(crate) struct Acquire<'a> {
    sem: &'a Semaphore,
    node: Waiter,
    n: u32,
    phase: Phase,
}

impl Semaphore {
    crate::sync::maybe_const_fn! {
        /// A semaphore with `permits` permits. Panics if `permits >
        /// MAX_PERMITS` (the public constructors check first and say what to do).
        pub(crate) fn new(permits: usize) -> Semaphore {
            assert!(permits <= MAX_PERMITS, "a semaphore holds at most usize::MAX >> 3 permits");
            Semaphore { word: AtomicUsize::new(permits << SHIFT), waiters: Mutex::new(List::new()) }
        }
    }

    /// Waits for `n` permits, FIFO-fair. Dropping the future gives back
    /// every permit it was already assigned.
    pub(crate) fn acquire(&self, n: u32) -> Acquire<'_> {
        Acquire { sem: self, node: Waiter::new(), n, phase: Phase::Init }
    }

    /// An acquire's lock-free first step as a plain poll (one CAS, charged
    /// to the budget like [`acquire`](Self::acquire)): `Some` with the
    /// outcome, or `None` (budget unit returned) when the caller must
    /// queue. For callers that keep more state around the acquire than
    /// the `Acquire` future needs (a bounded mpsc send's cancel guard).
    pub(crate) fn poll_try_acquire(
        &self,
        cx: &mut Context<'_>,
        n: u32,
    ) -> Poll<Option<Result<(), AcquireError>>> {
        let coop = ready!(coop::poll_proceed(cx));
        match self.try_acquire(n) {
            Ok(()) => {
                coop.made_progress();
                Poll::Ready(Some(Ok(())))
            }
            Err(TryAcquireError::Closed) => {
                coop.made_progress();
                Poll::Ready(Some(Err(AcquireError)))
            }
            // Dropping `coop` unspent returns the unit: the slow path
            // charges it.
            Err(TryAcquireError::NoPermits) => Poll::Ready(None),
        }
    }

    /// Takes `n` permits now, or fails. Fails while others wait, even if
    /// enough permits were about to be handed to them.
    pub(crate) fn try_acquire(&self, n: u32) -> Result<(), TryAcquireError> {
        let need = (n as usize) << SHIFT;
        // Relaxed: only the starting guess for the CAS.
        let mut cur = self.word.load(Relaxed);
        loop {
            if cur & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if n == 0 {
                return Ok(());
            }
            if cur & WAITERS != 0 || cur < need {
                return Err(TryAcquireError::NoPermits);
            }
            // Acquire: pairs with the Release RMW of the `release` that put
            // these permits in the word, so what the releaser did while
            // holding them (a mutex's data) is visible to us.
            match self.word.compare_exchange_weak(cur, cur - need, Acq, Relaxed) {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Gives back `n` permits: to the queued waiters first (head first),
    /// the rest to the word.
    ///
    /// Panics if the semaphore would then hold more than [`MAX_PERMITS`]
    /// (the public `add_permits` documents this contract).
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        if n > MAX_PERMITS {
            // Checked before any waiter is served, so the panic leaves the
            // semaphore as it was. With waiters queued the word holds no
            // permits (invariant 2), so the slow path cannot overflow after
            // it starts serving them.
            panic!("semaphore permits overflowed: adding {n} is more than MAX_PERMITS (usize::MAX >> 3)");
        }
        // Relaxed: only the starting guess for the CAS.
        let mut cur = self.word.load(Relaxed);
        loop {
            if cur & WAITERS != 0 {
                let list = self.waiters.lock();
                return self.release_locked(list, n);
            }
            let new = Self::checked_add(cur, n);
            // Release: pairs with the Acquire CAS of the next acquirer (fast
            // path or enqueue), publishing what we did with the permits.
            match self.word.compare_exchange_weak(cur, new, Release, Relaxed) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// `cur` with `n` more permits, or the documented panic.
    fn checked_add(cur: usize, n: usize) -> usize {
        let have = cur >> SHIFT;
        if n > MAX_PERMITS - have {
            panic!("semaphore permits overflowed: {have} + {n} is more than MAX_PERMITS (usize::MAX >> 3)");
        }
        cur + (n << SHIFT)
    }

    /// `release` with the lock held: hand `n` permits to the waiters, the
    /// rest to the word, and wake the satisfied waiters after unlocking.
    fn release_locked<'a>(&'a self, mut list: MutexGuard<'a, List<Waiter>>, n: usize) {
        let mut rem = n;
        let mut wakers = WakeList::new();
        while rem > 0 {
            let Some(head) = list.front() else { break };
            // SAFETY: `head` is linked, so alive (list invariant: its owner
            // unlinks it under this lock before its memory goes away).
            let node = unsafe { head.as_ref() };
            // Relaxed: `state` is only written under the lock we hold.
            let needed = node.state.load(Relaxed) >> 1;
            debug_assert!(needed > 0, "a linked waiter needs permits");
            if rem < needed {
                // Partial assignment to the head (invariant 3). Relaxed:
                // the owner acts only on 0 or NODE_CLOSED; a partial count
                // is read under the lock (drop, re-poll) or superseded by
                // the Release store that completes the assignment.
                node.state.store((needed - rem) << 1, Relaxed);
                rem = 0;
                break;
            }
            rem -= needed;
            list.pop_front();
            // The waker is taken before the store below: once the owner
            // sees 0 it may complete and free the node without the lock.
            let waker = node.take_waker();
            // Release: pairs with the Acquire load in `poll_queued`;
            // publishes every releaser's writes (ours, and earlier partial
            // assigners' through the lock) to the woken acquirer.
            node.state.store(0, Release);
            wakers.push(waker);
            if wakers.is_full() {
                drop(list);
                wakers.wake_all();
                list = self.waiters.lock();
            }
        }
        if list.is_empty() {
            // The list is empty (or became so): give the rest to the word
            // and clear WAITERS in one RMW (invariants 1 and 2). AcqRel:
            // Release pairs with the next fast-path acquirer's Acquire, as
            // in `release`; Acquire orders us after the fast-path releases
            // this RMW's value includes (their permits may reach a waiter
            // we serve later under this lock).
            let mut cur = self.word.load(Relaxed);
            loop {
                let new = Self::checked_add(cur, rem) & !WAITERS;
                match self.word.compare_exchange_weak(cur, new, AcqRel, Relaxed) {
                    Ok(_) => break,
                    Err(actual) => cur = actual,
                }
            }
        } else {
            debug_assert_eq!(rem, 0, "permits left over while waiters remain");
        }
        drop(list);
        wakers.wake_all();
    }

    /// Closes the semaphore: every waiter completes with `AcquireError`,
    /// and later acquires fail. Permits can still be released (they count
    /// in `available_permits`).
    pub(crate) fn close(&self) {
        let mut list = self.waiters.lock();
        // Release: pairs with the Acquire load in `is_closed`, so a caller
        // that sees the semaphore closed also sees what the closer did
        // before. Under the lock, so no waiter enqueues after this point
        // (the enqueue CAS sees CLOSED).
        self.word.fetch_or(CLOSED, Release);
        let mut wakers = WakeList::new();
        while let Some(head) = list.pop_front() {
            // SAFETY: `head` was linked until the line above, under the lock
            // we hold, so its owner has not freed it.
            let node = unsafe { head.as_ref() };
            let waker = node.take_waker();
            // Relaxed load: written only under our lock. Release store:
            // pairs with the Acquire load in `poll_queued`; after it the
            // owner may free the node (waker taken before).
            let s = node.state.load(Relaxed);
            node.state.store(s | NODE_CLOSED, Release);
            wakers.push(waker);
            if wakers.is_full() {
                drop(list);
                wakers.wake_all();
                list = self.waiters.lock();
            }
        }
        // Empty now (nobody can enqueue on a closed semaphore): clear
        // WAITERS (invariant 1). Relaxed: under the lock; no permits move.
        self.word.fetch_and(!WAITERS, Relaxed);
        drop(list);
        wakers.wake_all();
    }

    pub(crate) fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release `fetch_or` in `close`.
        self.word.load(Acq) & CLOSED != 0
    }

    /// Permits in the word now (0 while anyone waits).
    pub(crate) fn available_permits(&self) -> usize {
        // Relaxed: a snapshot for the caller, no data depends on it.
        self.word.load(Relaxed) >> SHIFT
    }

    /// Removes up to `n` available permits for good; returns how many.
    pub(crate) fn forget_permits(&self, n: usize) -> usize {
        // Relaxed: only the starting guess for the CAS.
        let mut cur = self.word.load(Relaxed);
        loop {
            let take = (cur >> SHIFT).min(n);
            // Acquire: as in `try_acquire` (we consume released permits).
            match self.word.compare_exchange_weak(cur, cur - (take << SHIFT), Acq, Relaxed) {
                Ok(_) => return take,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The slow path of a first poll: under the lock, take what is there
    /// and, if that is not enough, link `node` at the tail.
    fn enqueue(&self, node: &Waiter, n: u32, waker: &Waker) -> Poll<Result<(), AcquireError>> {
        let mut list = self.waiters.lock();
        // Relaxed: only the starting guess for the CAS.
        let mut cur = self.word.load(Relaxed);
        loop {
            if cur & CLOSED != 0 {
                return Poll::Ready(Err(AcquireError));
            }
            let have = cur >> SHIFT;
            let take = have.min(n as usize);
            let needed = n as usize - take;
            // Not enough (or others already wait): take what there is and
            // set WAITERS in the same RMW (invariant 2).
            let new = if needed == 0 { cur - (take << SHIFT) } else { (cur - (take << SHIFT)) | WAITERS };
            // Acquire: pairs with the Release of the releases whose permits
            // we take (see `try_acquire`).
            match self.word.compare_exchange_weak(cur, new, Acq, Relaxed) {
                Ok(_) if needed == 0 => return Poll::Ready(Ok(())),
                Ok(_) => {
                    // Relaxed: nobody else sees the node before it is linked,
                    // and linking happens under the lock we hold.
                    node.state.store(needed << 1, Relaxed);
                    node.set_waker(waker);
                    // SAFETY: the node is in no list (phase Init), lives in
                    // a pinned `Acquire` whose `Drop` unlinks it under this
                    // lock before it goes away.
                    unsafe { list.push_back(NonNull::from(node)) };
                    return Poll::Pending;
                }
                Err(actual) => cur = actual,
            }
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        let w = self.word.load(Relaxed);
        f.debug_struct("Semaphore")
            .field("permits", &(w >> SHIFT))
            .field("waiters", &(w & WAITERS != 0))
            .field("closed", &(w & CLOSED != 0))
            .finish()
    }
}

impl Acquire<'_> {
    /// A queued acquire: done if its node was served (or closed out), else
    /// refresh the waker.
    fn poll_queued(&self, waker: &Waker) -> Poll<Result<(), AcquireError>> {
        // Acquire: pairs with the Release store in `release_locked` /
        // `close` that finished this node.
        let s = self.node.state.load(Acq);
        if let Some(done) = self.finished(s) {
            return Poll::Ready(done);
        }
        let list = self.sem.waiters.lock();
        // Relaxed: under the lock, which orders us after every writer.
        let s = self.node.state.load(Relaxed);
        if s & NODE_CLOSED == 0 && s != 0 {
            self.node.set_waker(waker);
            return Poll::Pending;
        }
        drop(list);
        Poll::Ready(self.finished(s).expect("state is final"))
    }

    /// The outcome once the node is unlinked (`state` 0 or closed), or
    /// `None` while it waits. On close, gives back what was assigned (the
    /// caller must not hold the lock).
    fn finished(&self, state: usize) -> Option<Result<(), AcquireError>> {
        if state & NODE_CLOSED != 0 {
            self.sem.release(self.n as usize - (state >> 1));
            Some(Err(AcquireError))
        } else if state == 0 {
            Some(Ok(()))
        } else {
            None
        }
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = ready!(coop::poll_proceed(cx));
        // SAFETY: nothing is moved out of `this`; the node is only used
        // through `&` (its fields are cells and atomics), so it keeps its
        // pinned address.
        let this = unsafe { self.get_unchecked_mut() };
        let out = match this.phase {
            Phase::Init => match this.sem.try_acquire(this.n) {
                Ok(()) => Poll::Ready(Ok(())),
                Err(TryAcquireError::Closed) => Poll::Ready(Err(AcquireError)),
                Err(TryAcquireError::NoPermits) => {
                    let out = this.sem.enqueue(&this.node, this.n, cx.waker());
                    if out.is_pending() {
                        this.phase = Phase::Queued;
                    }
                    out
                }
            },
            Phase::Queued => this.poll_queued(cx.waker()),
            Phase::Done => panic!("semaphore Acquire polled after it completed"),
        };
        if out.is_ready() {
            this.phase = Phase::Done;
            coop.made_progress();
        }
        out
    }
}

impl Drop for Acquire<'_> {
    /// Cancellation: unlink the node if it is still linked and give back
    /// every permit it holds (to the next waiter first).
    fn drop(&mut self) {
        if self.phase != Phase::Queued {
            return;
        }
        let mut list = self.sem.waiters.lock();
        // Relaxed: written only under the lock we hold.
        let s = self.node.state.load(Relaxed);
        let needed = s >> 1;
        if s & NODE_CLOSED == 0 && needed > 0 {
            // SAFETY: not closed out and still needing permits: linked
            // (invariant 3), in this semaphore's list.
            unsafe { list.remove(NonNull::from(&self.node)) };
        }
        // `release_locked` also clears WAITERS if the list is now empty
        // (invariant 1), even when we give back nothing.
        let held = self.n as usize - needed;
        self.sem.release_locked(list, held);
    }
}

// SAFETY: the node is `Send + Sync` (see `Waiter`); `&Semaphore` is `Send`
// because `Semaphore` is `Sync`.
unsafe impl Send for Acquire<'_> {}
// SAFETY: `&Acquire` exposes nothing (no `&self` methods are public).
unsafe impl Sync for Acquire<'_> {}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire").field("n", &self.n).field("phase", &self.phase).finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
#[path = "batch_semaphore_tests.rs"]
mod tests;
