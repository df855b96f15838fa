//! A single value that one sender updates and many receivers watch.
//!
//! Receivers always read the *latest* value; intermediate values may be
//! skipped, but a receiver never misses *that* a change happened:
//! [`Receiver::changed`] resolves once for any number of sends since the
//! receiver last marked the value seen.
//!
//! ```
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     let (tx, mut rx) = weft::sync::watch::channel("starting");
//!     let watcher = weft::spawn(async move {
//!         while rx.changed().await.is_ok() {
//!             if *rx.borrow_and_update() == "ready" {
//!                 return true;
//!             }
//!         }
//!         false
//!     });
//!     tx.send("ready").unwrap();
//!     assert!(watcher.await.unwrap());
//! });
//! ```
//!
//! # Cancel safety
//!
//! [`Receiver::changed`] and [`Sender::closed`] are cancel-safe: a dropped
//! future removes its waker, and `changed` marks nothing seen unless it
//! returns `Ok`.
//!
//! # Deadlocks
//!
//! A [`Ref`] holds the read lock: drop it before `send` on the same
//! thread, and do not hold it across an `.await`.

// Invariants
//
// - The value lives in a reader-writer lock. `state` holds a version
//   (counting in steps of 2) and the `CLOSED` bit; the version is bumped
//   only while the write lock is held, so a reader that loads it under
//   the read lock gets the version of the value it sees.
// - A receiver remembers the version it saw last; "changed" means the
//   current version differs from it.
// - No lost wake-up: a sender bumps the version (or sets `CLOSED`)
//   *before* it takes the waiters' lock to wake them; a `changed` future
//   re-reads the state *under* that lock before registering. Either the
//   sender's lock comes after the registration and wakes it, or the
//   re-read comes after the sender's unlock and sees the new version
//   (docs/design/channels.md, "watch"). `Sender::closed` uses the same
//   scheme with the receiver count.

use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use crate::loom::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use crate::sync::wait_list::WaitList;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

/// In `state`: the sender is gone. Never cleared.
const CLOSED: usize = 1;
/// In `state`: one send.
const VERSION_STEP: usize = 2;

struct Shared<T> {
    value: RwLock<T>,
    /// `version | CLOSED`; see the module doc.
    state: AtomicUsize,
    /// Live receivers.
    rx_count: AtomicUsize,
    /// Pending `Receiver::changed` futures.
    rx_waiters: Mutex<WaitList>,
    /// Pending `Sender::closed` futures.
    tx_waiters: Mutex<WaitList>,
}

/// Wakes everyone in `list`; the caller changed what they wait for
/// before calling (see the module doc).
fn wake_all(list: &Mutex<WaitList>) {
    let wakers = list.lock().take_all();
    for w in wakers {
        w.wake();
    }
}

/// Creates a watch channel holding `init`.
///
/// The receiver starts with `init` marked as seen: `changed` waits for
/// the first send.
///
/// ```
/// let (tx, rx) = weft::sync::watch::channel(0);
/// tx.send(1).unwrap();
/// assert_eq!(*rx.borrow(), 1);
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: AtomicUsize::new(0),
        rx_count: AtomicUsize::new(1),
        rx_waiters: Mutex::new(WaitList::new()),
        tx_waiters: Mutex::new(WaitList::new()),
    });
    (Sender { shared: shared.clone() }, Receiver { shared, seen: 0 })
}

/// The sending half of a watch [`channel`].
///
/// ```
/// let (tx, rx) = weft::sync::watch::channel(vec![1]);
/// tx.send_modify(|v| v.push(2));
/// assert_eq!(*rx.borrow(), [1, 2]);
/// assert_eq!(tx.receiver_count(), 1);
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half of a watch [`channel`]; clone it (or
/// [`Sender::subscribe`]) for more receivers.
///
/// ```
/// let (tx, mut rx) = weft::sync::watch::channel('a');
/// assert!(!rx.has_changed().unwrap());
/// tx.send('b').unwrap();
/// assert!(rx.has_changed().unwrap());
/// assert_eq!(*rx.borrow_and_update(), 'b');
/// assert!(!rx.has_changed().unwrap());
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver saw last (without `CLOSED`).
    seen: usize,
}

/// A read borrow of the current value (holds the read lock; see the
/// module doc on deadlocks).
///
/// ```
/// let (_tx, rx) = weft::sync::watch::channel(String::from("hi"));
/// let r = rx.borrow();
/// assert_eq!(r.len(), 2);
/// ```
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
}

/// The sender is gone: no further change will come.
///
/// ```
/// let (tx, rx) = weft::sync::watch::channel(0);
/// drop(tx);
/// let _err: weft::sync::watch::RecvError = rx.has_changed().unwrap_err();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(());

/// Every receiver is gone: the value comes back.
///
/// ```
/// let (tx, rx) = weft::sync::watch::channel(0);
/// drop(rx);
/// let weft::sync::watch::SendError(back) = tx.send(7).unwrap_err();
/// assert_eq!(back, 7);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> Sender<T> {
    /// Publishes a new version: bumps it under the write lock, then wakes
    /// the waiting receivers.
    fn publish(&self, f: impl FnOnce(&mut T)) {
        {
            let mut value = self.shared.value.write();
            f(&mut value);
            // Release: pairs with the Acquire loads in `changed` and
            // `has_changed` (a receiver that sees the new version then
            // takes the read lock, which orders the value itself). Only
            // the sender writes the version, under the write lock.
            self.shared.state.fetch_add(VERSION_STEP, Release);
        }
        wake_all(&self.shared.rx_waiters);
    }

    /// Replaces the value and notifies the receivers. Fails, giving the
    /// value back and leaving the channel unchanged, if there is no
    /// receiver.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(1);
    /// assert!(tx.send(2).is_ok());
    /// drop(rx);
    /// assert_eq!(tx.send(3).unwrap_err().0, 3);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        // Acquire: pairs with the Release decrement of the last receiver's
        // drop (nothing is read through it; a stale count only makes this
        // send succeed into a channel nobody reads, as if it came first).
        if self.shared.rx_count.load(Acquire) == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value whether or not anyone receives, notifies the
    /// receivers and returns the old value.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::watch::channel(1);
    /// assert_eq!(tx.send_replace(2), 1);
    /// ```
    pub fn send_replace(&self, value: T) -> T {
        let mut old = Some(value);
        self.publish(|v| {
            let new = old.take().expect("set above");
            old = Some(std::mem::replace(v, new));
        });
        old.expect("swapped in publish")
    }

    /// Modifies the value in place and notifies the receivers (even if
    /// `modify` changed nothing).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(10);
    /// tx.send_modify(|v| *v += 1);
    /// assert_eq!(*rx.borrow(), 11);
    /// ```
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.publish(modify);
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref { guard: self.shared.value.read() }
    }

    /// A new receiver that has seen the current value.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(0);
    /// drop(rx);
    /// let rx = tx.subscribe();
    /// assert_eq!(tx.receiver_count(), 1);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        // Relaxed: the new receiver is counted before it exists anywhere
        // else; nothing is published by the count.
        self.shared.rx_count.fetch_add(1, Relaxed);
        let seen = {
            let _value = self.shared.value.read();
            // Relaxed is enough under the read lock: the version changes
            // only under the write lock.
            self.shared.state.load(Relaxed) & !CLOSED
        };
        Receiver { shared: self.shared.clone(), seen }
    }

    /// Live receivers.
    pub fn receiver_count(&self) -> usize {
        // Relaxed: a snapshot for the caller; nothing is read through it.
        self.shared.rx_count.load(Relaxed)
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone. Cancel-safe.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, rx) = weft::sync::watch::channel(());
    ///     weft::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// ```
    #[track_caller]
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::ChannelClosed, async move {
            Wait { shared: &self.shared, key: None, seen: 0, kind: WaitKind::RxGone }.await;
        })
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Release: pairs with the Acquire loads in `changed`; set before
        // the waiters' lock is taken (module doc).
        self.shared.state.fetch_or(CLOSED, Release);
        wake_all(&self.shared.rx_waiters);
    }
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref { guard: self.shared.value.read() }
    }

    /// Borrows the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.value.read();
        // Relaxed is enough under the read lock (the version changes only
        // under the write lock): this is the version of the value we hold.
        self.seen = self.shared.state.load(Relaxed) & !CLOSED;
        Ref { guard }
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        drop(self.borrow_and_update());
    }

    /// Whether a value was sent since this receiver last marked one seen.
    /// `Err` if not, and the sender is gone (nothing will change again).
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        // Acquire: pairs with the sender's Release bump / CLOSED.
        let state = self.shared.state.load(Acquire);
        if state & !CLOSED != self.seen {
            return Ok(true);
        }
        if state & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(false)
    }

    /// Waits for a value this receiver has not seen, and marks it seen
    /// (read it with `borrow`). Resolves at once if one was sent since the
    /// last mark. `Err` once the sender is gone and nothing new is left.
    /// Cancel-safe.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = weft::sync::watch::channel(0);
    ///     weft::spawn(async move {
    ///         tx.send(1).unwrap();
    ///     });
    ///     rx.changed().await.unwrap();
    ///     assert_eq!(*rx.borrow(), 1);
    ///     assert!(rx.changed().await.is_err(), "sender gone");
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: nothing is marked seen unless `changed` returns `Ok`. If it
    /// loses a `select!`, a change it was about to report is reported by the
    /// next `changed`.
    #[track_caller]
    pub fn changed(&mut self) -> impl std::future::Future<Output = Result<(), RecvError>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::WatchChanged, async move {
            let seen = self.seen;
            let version = Wait { shared: &self.shared, key: None, seen, kind: WaitKind::Changed }.await;
            match version {
                Some(v) => {
                    self.seen = v;
                    Ok(())
                }
                None => Err(RecvError(())),
            }
        })
    }

    /// `changed` for a stream that keeps its waiter slot in `key` between
    /// polls (and gives it up with `forget_waiter` when dropped):
    /// `stream::WatchStream`.
    pub(crate) fn poll_changed_keyed(
        &mut self,
        key: &mut Option<u64>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), RecvError>> {
        let mut wait =
            Wait { shared: &self.shared, key: key.take(), seen: self.seen, kind: WaitKind::Changed };
        let polled = Pin::new(&mut wait).poll(cx);
        // Keep the slot for the next poll (`Ready` already gave it up), so
        // the `Wait`'s drop has nothing to remove.
        *key = wait.key.take();
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(version)) => {
                self.seen = version;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(None) => Poll::Ready(Err(RecvError(()))),
        }
    }

    /// Removes the `changed` waiter registered under `key`, if any.
    pub(crate) fn forget_waiter(&self, key: &mut Option<u64>) {
        if let Some(key) = key.take() {
            drop(self.shared.rx_waiters.lock().remove(key));
        }
    }

    /// Waits until the value satisfies `f`, and returns a borrow of that
    /// value (marked seen). The current value is checked first, without
    /// waiting; after that `f` sees each value this receiver observes
    /// (values replaced before it looked are skipped, as with `changed`).
    /// `Err` once the sender is gone and no value it left satisfies `f`.
    ///
    /// The returned [`Ref`] holds the read lock: drop it before the
    /// sender's next `send` on the same thread, and do not hold it across
    /// an `.await`. Cancel-safe: dropping the future marks at most the
    /// values it already checked as seen.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = weft::sync::watch::channel(0u32);
    ///     weft::spawn(async move {
    ///         for progress in 1..=10 {
    ///             tx.send(progress).unwrap();
    ///             weft::task::yield_now().await;
    ///         }
    ///     });
    ///     let done = *rx.wait_for(|p| *p == 10).await.unwrap();
    ///     assert_eq!(done, 10);
    /// });
    /// ```
    #[track_caller]
    pub fn wait_for<F: FnMut(&T) -> bool>(
        &mut self,
        mut f: F,
    ) -> impl std::future::Future<Output = Result<Ref<'_, T>, RecvError>> + use<'_, T, F> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::WatchChanged, async move {
            // Split the borrow: the returned `Ref` borrows `shared` for the
            // whole call while `seen` is updated in the loop.
            let Receiver { shared, seen } = self;
            let shared: &Shared<T> = shared;
            loop {
                {
                    let guard = shared.value.read();
                    // Relaxed is enough under the read lock (the version
                    // changes only under the write lock): the version of the
                    // value held.
                    *seen = shared.state.load(Relaxed) & !CLOSED;
                    if f(&guard) {
                        return Ok(Ref { guard });
                    }
                }
                let wait = Wait { shared, key: None, seen: *seen, kind: WaitKind::Changed };
                if wait.await.is_none() {
                    return Err(RecvError(()));
                }
            }
        })
    }

    /// Whether both receivers watch the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    /// A new receiver that has seen what this one has seen.
    fn clone(&self) -> Self {
        // Relaxed: as in `subscribe`.
        self.shared.rx_count.fetch_add(1, Relaxed);
        Receiver { shared: self.shared.clone(), seen: self.seen }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // AcqRel: Release pairs with the Acquire in `Sender::send` and in
        // `Wait` (RxGone); the RMW order picks the last receiver. Done
        // before the waiters' lock is taken (module doc).
        if self.shared.rx_count.fetch_sub(1, AcqRel) == 1 {
            wake_all(&self.shared.tx_waiters);
        }
    }
}

/// What a [`Wait`] waits for.
#[derive(Clone, Copy)]
enum WaitKind {
    /// A version other than `seen`, or `CLOSED`.
    Changed,
    /// No receiver left.
    RxGone,
}

/// The future behind `changed` and `closed`.
struct Wait<'a, T> {
    shared: &'a Shared<T>,
    key: Option<u64>,
    seen: usize,
    kind: WaitKind,
}

impl<'a, T> Wait<'a, T> {
    /// `Some(Some(version))`: changed; `Some(None)`: closed (for
    /// `Changed`) or done (for `RxGone`); `None`: keep waiting.
    fn check(&self) -> Option<Option<usize>> {
        match self.kind {
            WaitKind::Changed => {
                // Acquire: pairs with the sender's Release bump / CLOSED.
                let state = self.shared.state.load(Acquire);
                let version = state & !CLOSED;
                if version != self.seen {
                    Some(Some(version))
                } else if state & CLOSED != 0 {
                    Some(None)
                } else {
                    None
                }
            }
            // Acquire: pairs with the last receiver's Release decrement.
            WaitKind::RxGone => (self.shared.rx_count.load(Acquire) == 0).then_some(None),
        }
    }

    fn list(&self) -> &'a Mutex<WaitList> {
        match self.kind {
            WaitKind::Changed => &self.shared.rx_waiters,
            WaitKind::RxGone => &self.shared.tx_waiters,
        }
    }
}

impl<T> Future for Wait<'_, T> {
    type Output = Option<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        let this = self.get_mut();
        let coop = std::task::ready!(crate::rt::coop::poll_proceed(cx));
        let done = match this.check() {
            Some(done) => Some(done),
            None => {
                let mut list = this.list().lock();
                // Re-check under the lock: a sender changes the state
                // before it takes this lock to wake (module doc).
                let done = this.check();
                if done.is_none() {
                    list.register(&mut this.key, cx.waker());
                }
                done
            }
        };
        match done {
            Some(out) => {
                coop.made_progress();
                if let Some(key) = this.key.take() {
                    drop(this.list().lock().remove(key));
                }
                Poll::Ready(out)
            }
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for Wait<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            drop(self.list().lock().remove(key));
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender").field("receivers", &self.receiver_count()).finish_non_exhaustive()
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver").field("seen", &self.seen).finish_non_exhaustive()
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch sender dropped")
    }
}

impl std::error::Error for RecvError {}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch channel closed: every receiver is gone")
    }
}

impl<T> std::error::Error for SendError<T> {}
