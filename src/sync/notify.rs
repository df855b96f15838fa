//! `Notify`: wake one waiting task (or leave one permit), or wake every
//! task waiting now.
//!
//! State, split as in the batch semaphore:
//! - `state` (lock-free): `generation << 2 | EMPTY / WAITING / NOTIFIED`.
//!   `generation` counts `notify_waiters` calls.
//! - `waiters` (under the mutex): an intrusive FIFO list of [`Waiter`]
//!   nodes inside pinned [`Notified`] futures.
//!
//! Invariants:
//! 1. `WAITING` if and only if the list is non-empty; the state moves into
//!    or out of `WAITING` only under the lock (so while it is `WAITING`, a
//!    notifier that holds the lock sees a stable list).
//! 2. `NOTIFIED` (one stored permit) only while the list is empty: a
//!    `notify_one` that finds waiters hands the notification to the head
//!    instead. There is never more than one stored permit.
//! 3. A node's `notified` is set only under the lock, when the node is
//!    unlinked: `ONE` by `notify_one` (or a pass-on), `ALL` by
//!    `notify_waiters`. A dropped node marked `ONE` whose future never
//!    returned `Ready` passes the notification on (to the next waiter, or
//!    back to the permit), so a `notify_one` is never swallowed.
//! 4. A `Notified` remembers the generation when it was created; if
//!    `notify_waiters` ran since, its first poll completes. So
//!    `notify_waiters` wakes every `Notified` that exists when it is called
//!    (polled or not), and stores nothing for later ones.
//!
//! The argument is in `docs/design/sync.md` ("Notify").

use super::list::{Links, List, Node};
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::rt::coop;
use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{ready, Context, Poll, Waker};

/// No waiter, no permit.
const EMPTY: usize = 0;
/// Waiters are queued (invariant 1).
const WAITING: usize = 1;
/// One permit is stored; no waiter is queued (invariant 2).
const NOTIFIED: usize = 2;
const STATE_MASK: usize = 0b11;
/// One `notify_waiters` call in the generation count.
const GEN_ONE: usize = 0b100;

/// In a node's `notified`: not notified (and linked, while its future waits).
const NODE_WAITING: usize = 0;
/// Chosen by `notify_one` (invariant 3).
const NODE_ONE: usize = 1;
/// Released by `notify_waiters`.
const NODE_ALL: usize = 2;

/// Notifies tasks: a building block for "something changed" signals.
///
/// - [`notify_one`](Notify::notify_one) wakes the task that has waited
///   longest; if none waits, it stores one permit that the next
///   [`notified`](Notify::notified) consumes at once (several calls store
///   still one permit).
/// - [`notify_waiters`](Notify::notify_waiters) wakes every task waiting
///   now (every `Notified` future that exists when it is called), and
///   stores nothing.
///
/// No notification is lost: a `notify_one` racing a task that is starting
/// to wait, or a `Notified` dropped right after it was chosen, ends up
/// either waking a task or stored as the permit. Waiting allocates nothing.
///
/// ```
/// use std::sync::Arc;
/// use weft::sync::Notify;
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let notify = Arc::new(Notify::new());
///     let waiter = {
///         let notify = notify.clone();
///         weft::spawn(async move { notify.notified().await })
///     };
///     // Whether or not the task is already waiting, it completes: a
///     // notify_one with nobody waiting leaves a permit.
///     notify.notify_one();
///     waiter.await.unwrap();
/// });
/// ```
pub struct Notify {
    /// `generation << 2 | EMPTY / WAITING / NOTIFIED`.
    state: AtomicUsize,
    waiters: Mutex<List<Waiter>>,
}

/// A queued `Notified`'s node.
struct Waiter {
    links: UnsafeCell<Links<Waiter>>,
    /// `NODE_WAITING`, `NODE_ONE` or `NODE_ALL`. Written under the lock;
    /// read lock-free by the owner.
    notified: AtomicUsize,
    /// Under the lock only.
    waker: UnsafeCell<Option<Waker>>,
    _pin: PhantomPinned,
}

// SAFETY: `links` and `waker` are only accessed under the `Notify`'s lock;
// `notified` is atomic.
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
    /// Caller holds the lock.
    fn take_waker(&self) -> Option<Waker> {
        // SAFETY: the waker cell is only touched under the lock (caller).
        self.waker.with_mut(|p| unsafe { (*p).take() })
    }

    /// Caller holds the lock.
    fn set_waker(&self, waker: Option<&Waker>) {
        let Some(waker) = waker else { return };
        self.waker.with_mut(|p| {
            // SAFETY: as in `take_waker`.
            let slot = unsafe { &mut *p };
            if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                *slot = Some(waker.clone());
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not registered: not linked.
    Init,
    /// Linked, or unlinked and marked by a notifier.
    Waiting,
    /// Returned (or will return) `Ready`; owes nothing.
    Done,
}

/// Future of [`Notify::notified`]: completes when notified.
///
/// Completing or being dropped, it loses no `notify_one` (see "Cancel
/// safety").
///
/// ```
/// use std::pin::pin;
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let notify = weft::sync::Notify::new();
///     let mut notified = pin!(notify.notified());
///     // Registered now: this notify_one picks it (no permit is stored).
///     assert!(!notified.as_mut().enable());
///     notify.notify_one();
///     notified.await;
/// });
/// ```
///
/// # Cancel safety
///
/// Dropping a `Notified` loses no `notify_one`: a notification it was chosen
/// for passes to the next waiter or is kept as the permit. A `notify_waiters`
/// call reaches only the `Notified` futures that exist when it is made: one
/// created after it, in the next iteration of a `select!` loop, does not see
/// it. Where that matters, create the future before checking the condition it
/// signals, and `enable` it.
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    node: Waiter,
    /// The `notify_waiters` generation when this was created (invariant 4).
    generation: usize,
    phase: Phase,
    /// The caller of `notified`, for task dumps.
    site: &'static std::panic::Location<'static>,
}

// SAFETY: the node is `Send + Sync`; `Notify` is `Sync`.
unsafe impl Send for Notified<'_> {}
// SAFETY: no `&self` method touches the node.
unsafe impl Sync for Notified<'_> {}

impl Notify {
    crate::sync::maybe_const_fn! {
        /// A `Notify` with no waiter and no permit (a `const fn`).
        pub fn new() -> Notify {
            Notify { state: AtomicUsize::new(EMPTY), waiters: Mutex::new(List::new()) }
        }
    }

    /// A future that completes at the next notification: a stored permit
    /// (consumed), a `notify_one` that picks it, or a `notify_waiters` call
    /// made after this returns.
    #[track_caller]
    pub fn notified(&self) -> Notified<'_> {
        // Relaxed: coherence suffices. A `notify_waiters` that happens
        // after this call increments after this load, so the first poll
        // sees a different generation.
        let generation = self.state.load(Relaxed) >> 2;
        Notified {
            notify: self,
            node: Waiter {
                links: UnsafeCell::new(Links::new()),
                notified: AtomicUsize::new(NODE_WAITING),
                waker: UnsafeCell::new(None),
                _pin: PhantomPinned,
            },
            generation,
            phase: Phase::Init,
            site: std::panic::Location::caller(),
        }
    }

    /// Wakes the task that has waited longest, or, if none waits, stores
    /// one permit for the next `notified()` (at most one is stored).
    pub fn notify_one(&self) {
        // Relaxed: only the starting guess for the CAS.
        let mut cur = self.state.load(Relaxed);
        loop {
            if cur & STATE_MASK == WAITING {
                let mut list = self.waiters.lock();
                let waker = self.notify_one_locked(&mut list);
                drop(list);
                if let Some(w) = waker {
                    w.wake();
                }
                return;
            }
            // EMPTY or NOTIFIED: store the permit. An RMW even when it is
            // already NOTIFIED, so this call joins the release sequence the
            // consumer acquires. Release: pairs with the Acquire CAS that
            // consumes the permit.
            match self.state.compare_exchange_weak(cur, (cur & !STATE_MASK) | NOTIFIED, Release, Relaxed) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// `notify_one` under the lock: hand the notification to the head
    /// waiter (returning its waker), or store the permit if none waits.
    fn notify_one_locked(&self, list: &mut MutexGuard<'_, List<Waiter>>) -> Option<Waker> {
        let Some(head) = list.pop_front() else {
            // No waiter: the state is EMPTY or NOTIFIED (invariant 1) and
            // leaves them only by RMWs; store the permit as in `notify_one`.
            let mut cur = self.state.load(Relaxed);
            loop {
                debug_assert_ne!(cur & STATE_MASK, WAITING, "WAITING with an empty list");
                match self.state.compare_exchange_weak(cur, (cur & !STATE_MASK) | NOTIFIED, Release, Relaxed)
                {
                    Ok(_) => return None,
                    Err(actual) => cur = actual,
                }
            }
        };
        if list.is_empty() {
            // Invariant 1. Relaxed: under the lock; nothing is published
            // through WAITING -> EMPTY (the woken node carries it).
            self.state.fetch_and(!STATE_MASK, Relaxed);
        }
        // SAFETY: `head` was linked until `pop_front` under the lock we
        // hold, so its owner has not freed it (it unlinks under this lock).
        let node = unsafe { head.as_ref() };
        let waker = node.take_waker();
        // Release: pairs with the Acquire load in `Notified::poll`; after
        // this store the owner may free the node (waker taken before).
        node.notified.store(NODE_ONE, Release);
        waker
    }

    /// Wakes every task waiting now, i.e. every [`Notified`] that exists
    /// when this is called (also those not polled yet). Stores no permit:
    /// a `notified()` created after this call waits for the next
    /// notification.
    pub fn notify_waiters(&self) {
        let mut list = self.waiters.lock();
        // New generation; WAITING becomes EMPTY since the list empties
        // below (invariant 1). Release: pairs with the Acquire load of a
        // `Notified`'s first poll that sees the new generation.
        let mut cur = self.state.load(Relaxed);
        loop {
            let mut new = cur.wrapping_add(GEN_ONE);
            if new & STATE_MASK == WAITING {
                new &= !STATE_MASK;
            }
            match self.state.compare_exchange_weak(cur, new, Release, Relaxed) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        let mut wakers = Vec::new();
        while let Some(head) = list.pop_front() {
            // SAFETY: as in `notify_one_locked`.
            let node = unsafe { head.as_ref() };
            wakers.push(node.take_waker());
            // Release: as in `notify_one_locked`.
            node.notified.store(NODE_ALL, Release);
        }
        drop(list);
        for w in wakers.into_iter().flatten() {
            w.wake();
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        let s = self.state.load(Relaxed);
        let state = match s & STATE_MASK {
            EMPTY => "empty",
            WAITING => "waiting",
            _ => "notified",
        };
        f.debug_struct("Notify").field("state", &state).field("generation", &(s >> 2)).finish()
    }
}

impl Notified<'_> {
    /// Registers this future as a waiter without polling it, so that a
    /// `notify_one` from now on may pick it. Returns `true` if it is
    /// already notified (a later poll then returns `Ready` at once).
    pub fn enable(self: Pin<&mut Self>) -> bool {
        // SAFETY: nothing is moved out; the node is used through `&` only.
        let this = unsafe { self.get_unchecked_mut() };
        let ready = this.poll_inner(None).is_ready();
        if ready {
            this.phase = Phase::Done;
        }
        ready
    }

    /// One step: `waker` is `None` from `enable`.
    fn poll_inner(&mut self, waker: Option<&Waker>) -> Poll<()> {
        match self.phase {
            Phase::Init => self.register(waker),
            Phase::Waiting => {
                // Acquire: pairs with the Release store of the notifier
                // that unlinked this node.
                if self.node.notified.load(Acquire) != NODE_WAITING {
                    return Poll::Ready(());
                }
                let list = self.notify.waiters.lock();
                // Relaxed: under the lock, which orders us after notifiers.
                if self.node.notified.load(Relaxed) != NODE_WAITING {
                    return Poll::Ready(());
                }
                self.node.set_waker(waker);
                drop(list);
                Poll::Pending
            }
            Phase::Done => Poll::Ready(()),
        }
    }

    /// First registration: consume the permit or see a new generation,
    /// else link the node (under the lock, re-checking both first).
    fn register(&mut self, waker: Option<&Waker>) -> Poll<()> {
        if self.try_consume() {
            return Poll::Ready(());
        }
        let mut list = self.notify.waiters.lock();
        if self.try_consume() {
            return Poll::Ready(());
        }
        // Under the lock the generation is stable (`notify_waiters` takes
        // the lock), but a lock-free `notify_one` may still store a permit
        // while the state is not WAITING: hence the CAS, which either
        // registers us or sees that permit.
        let mut cur = self.notify.state.load(Relaxed);
        loop {
            match cur & STATE_MASK {
                NOTIFIED => {
                    if self.try_consume() {
                        return Poll::Ready(());
                    }
                    cur = self.notify.state.load(Relaxed);
                }
                _ => {
                    // EMPTY -> WAITING (or WAITING stays). Relaxed: no data
                    // is published; a racing lock-free `notify_one` either
                    // stored its permit first (the CAS fails, we consume
                    // it) or sees WAITING and takes the lock we hold.
                    let new = (cur & !STATE_MASK) | WAITING;
                    match self.notify.state.compare_exchange(cur, new, Relaxed, Relaxed) {
                        Ok(_) => break,
                        Err(actual) => {
                            if actual >> 2 != self.generation {
                                return Poll::Ready(());
                            }
                            cur = actual;
                        }
                    }
                }
            }
        }
        self.node.set_waker(waker);
        // SAFETY: the node is in no list (phase Init) and lives in this
        // pinned future, whose `Drop` unlinks it under this lock.
        unsafe { list.push_back(NonNull::from(&self.node)) };
        self.phase = Phase::Waiting;
        drop(list);
        Poll::Pending
    }

    /// Completes if `notify_waiters` ran since creation, or takes the stored
    /// permit.
    fn try_consume(&self) -> bool {
        // Acquire: pairs with the Release CAS of `notify_waiters` (a new
        // generation) or of `notify_one` (the permit).
        let mut cur = self.notify.state.load(Acquire);
        loop {
            if cur >> 2 != self.generation {
                return true;
            }
            if cur & STATE_MASK != NOTIFIED {
                return false;
            }
            // Acquire: as above, for the permit we consume.
            match self.notify.state.compare_exchange_weak(cur, cur & !STATE_MASK, Acquire, Acquire) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        // SAFETY: nothing is moved out of `this`; the node is only used
        // through `&`, so it keeps its pinned address.
        let this = unsafe { self.get_unchecked_mut() };
        let out = this.poll_inner(Some(cx.waker()));
        if out.is_ready() {
            this.phase = Phase::Done;
            coop.made_progress();
        } else {
            crate::rt::task::wait::record(crate::rt::task::WaitKind::Notify, this.site);
        }
        out
    }
}

impl Drop for Notified<'_> {
    /// Unlinks a waiting node; passes on a `notify_one` it was chosen for
    /// but never reported (invariant 3).
    fn drop(&mut self) {
        if self.phase != Phase::Waiting {
            return;
        }
        let mut list = self.notify.waiters.lock();
        // Relaxed: written only under the lock we hold.
        let waker = match self.node.notified.load(Relaxed) {
            NODE_WAITING => {
                // SAFETY: not marked, so still linked (invariant 3).
                unsafe { list.remove(NonNull::from(&self.node)) };
                if list.is_empty() {
                    // Invariant 1. Relaxed: under the lock, nothing published.
                    self.notify.state.fetch_and(!STATE_MASK, Relaxed);
                }
                None
            }
            NODE_ONE => self.notify.notify_one_locked(&mut list),
            _ => None,
        };
        drop(list);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified").field("phase", &self.phase).finish_non_exhaustive()
    }
}
