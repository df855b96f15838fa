//! A channel for one value, sent once from one task to another.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`] sharing one heap
//! allocation: a state word, a slot for the value and one waker slot for
//! each side. The receiver is a future resolving to the value, or to
//! [`RecvError`] when the sender was dropped without sending.
//!
//! ```
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     let (tx, rx) = weft::sync::oneshot::channel();
//!     weft::spawn(async move {
//!         let _ = tx.send("hello");
//!     });
//!     assert_eq!(rx.await, Ok("hello"));
//! });
//! ```
//!
//! # Cancel safety
//!
//! Dropping a pending `Receiver` drops the channel's receiving end (the
//! value, if one arrives, is dropped, and [`Sender::send`] returns it if it
//! had not been sent yet). Dropping a pending [`Sender::closed`] future
//! loses nothing.

// Invariants (the state word, `STATE` bits below)
//
// - `VALUE_SET` and `TX_DONE` only ever go from 0 to 1, set by the sender;
//   `VALUE_SET` implies `TX_DONE`. `RX_CLOSED` only goes from 0 to 1, set
//   by the receiver.
// - The value slot belongs to the sender until it sets `VALUE_SET`, and to
//   the receiver from then on. The sender sets `VALUE_SET` only by a CAS
//   that fails if `RX_CLOSED` is set, so once the receiver closed, no value
//   can arrive; a sender that loses that race takes its value back.
// - The receiver's waker slot may be written by the receiver only while
//   `RX_WAKER` is clear; it clears `RX_WAKER` only by a CAS that fails if
//   `TX_DONE` is set. The sender reads the slot only if its own
//   `TX_DONE`-setting RMW saw `RX_WAKER`, so the two never overlap with a
//   write. The sender's waker slot (for [`Sender::closed`]) follows the
//   same rule with the roles swapped (`TX_WAKER` against `RX_CLOSED`).
// - Whatever is left in the slots when the last handle goes (a value the
//   receiver never took, the wakers) is dropped with the allocation, so the
//   value is dropped exactly once whichever side goes last.
//
// The wake-up argument is in `docs/design/channels.md` ("oneshot").

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use crate::loom::sync::Arc;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The sender stored a value in the slot and handed the slot to the
/// receiver. Set once, only together with `TX_DONE`, only while
/// `RX_CLOSED` is clear.
const VALUE_SET: usize = 0b0001;
/// The sender is finished: it sent a value or was dropped. Never cleared.
const TX_DONE: usize = 0b0010;
/// The receiver was closed or dropped: no value can be sent any more.
/// Never cleared.
const RX_CLOSED: usize = 0b0100;
/// The receiver's waker slot holds a waker the sender may wake. Cleared
/// only by the receiver, only while `TX_DONE` is clear.
const RX_WAKER: usize = 0b1000;
/// The sender's waker slot holds a waker the receiver may wake. Cleared
/// only by the sender, only while `RX_CLOSED` is clear.
const TX_WAKER: usize = 0b1_0000;

/// The shared allocation.
struct Inner<T> {
    state: AtomicUsize,
    /// Owned by the sender until `VALUE_SET`, then by the receiver.
    value: UnsafeCell<Option<T>>,
    /// The receiver's waker; see `RX_WAKER`.
    rx_waker: UnsafeCell<Option<Waker>>,
    /// The waker of a pending [`Sender::closed`]; see `TX_WAKER`.
    tx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cells are only accessed under the ownership rules of the
// module doc, which the state word enforces with Acquire/Release; a `T`
// crosses from the sender's thread to the receiver's, hence `T: Send`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; no `&T` is ever shared between the two handles.
unsafe impl<T: Send> Sync for Inner<T> {}

/// Creates a oneshot channel: one value from the [`Sender`] to the
/// [`Receiver`].
///
/// ```
/// let (tx, mut rx) = weft::sync::oneshot::channel::<u32>();
/// assert!(rx.try_recv().is_err());
/// tx.send(7).unwrap();
/// assert_eq!(rx.try_recv(), Ok(7));
/// ```
#[track_caller]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: UnsafeCell::new(None),
        tx_waker: UnsafeCell::new(None),
    });
    (Sender { inner: Some(inner.clone()) }, Receiver { inner, site: std::panic::Location::caller() })
}

/// The sending half of a [`channel`]; sends at most one value.
///
/// ```
/// let (tx, rx) = weft::sync::oneshot::channel();
/// drop(rx);
/// assert!(tx.is_closed());
/// assert_eq!(tx.send(1), Err(1), "the receiver is gone: the value comes back");
/// ```
pub struct Sender<T> {
    /// `None` only inside `send`, after the value was handed over.
    inner: Option<Arc<Inner<T>>>,
}

/// The receiving half of a [`channel`]: a future of the value.
///
/// Resolves to `Ok(value)`, or to `Err(RecvError)` if the sender was
/// dropped without sending (or [`Receiver::close`] was called before a
/// value arrived). Poll it again after it resolved and it returns
/// `Err(RecvError)`.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (tx, rx) = weft::sync::oneshot::channel::<u8>();
///     drop(tx);
///     assert!(rx.await.is_err());
/// });
/// ```
///
/// # Cancel safety
///
/// Dropping the receiver closes the channel (a value sent later is dropped, or
/// given back by `send`). In a `select!` loop, select on `&mut rx` (the
/// receiver is `Unpin`) with a precondition that stops once it completed: a
/// lost race then loses nothing, the value stays in the channel for the next
/// iteration.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
    /// Where the channel was made: the receiver is awaited directly, so
    /// task dumps show this as its await site.
    site: &'static std::panic::Location<'static>,
}

/// The error of a [`Receiver`] whose sender was dropped without sending.
///
/// ```
/// let (tx, rx) = weft::sync::oneshot::channel::<()>();
/// drop(tx);
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// let err: weft::sync::oneshot::RecvError = rt.block_on(rx).unwrap_err();
/// assert_eq!(err.to_string(), "oneshot sender dropped without sending a value");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(());

/// The error of [`Receiver::try_recv`].
///
/// ```
/// use weft::sync::oneshot::{channel, TryRecvError};
/// let (tx, mut rx) = channel::<u8>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value yet; the sender may still send one.
    Empty,
    /// No value will come: the sender is gone without sending, the value
    /// was already received, or the receiver was closed.
    Closed,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot sender dropped without sending a value")
    }
}

impl std::error::Error for RecvError {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("oneshot channel empty"),
            TryRecvError::Closed => f.write_str("oneshot channel closed"),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl<T> Inner<T> {
    /// Stores `waker` in the slot guarded by `flag`, unless `done` is (or
    /// becomes) set. Returns `true` when the waker is registered and the
    /// caller may return `Pending`, `false` when `done` is set (the caller
    /// re-reads its condition: the Acquire below made the other side's
    /// writes visible).
    ///
    /// `slot` is `rx_waker` with (`RX_WAKER`, `TX_DONE`) for the receiver,
    /// `tx_waker` with (`TX_WAKER`, `RX_CLOSED`) for the sender.
    fn register(&self, slot: &UnsafeCell<Option<Waker>>, flag: usize, done: usize, waker: &Waker) -> bool {
        // Acquire: pairs with the other side's AcqRel RMW that set `done`.
        let mut cur = self.state.load(Acquire);
        if cur & done != 0 {
            return false;
        }
        if cur & flag != 0 {
            let same = slot.with(|w| {
                // SAFETY: `flag` is set, so only shared reads of the slot
                // happen now (ours and the other side's wake); we are the
                // slot's only writer and do not write here.
                unsafe { (*w).as_ref() }.is_some_and(|w| w.will_wake(waker))
            });
            if same {
                return true;
            }
            // Take the slot back: clear `flag`, but only while `done` is
            // clear (after `done`, the other side may be reading it).
            loop {
                if cur & done != 0 {
                    return false;
                }
                // Acquire on both: pairs with the other side's AcqRel RMW
                // (success: it did not set `done` yet, so it will not read
                // the slot; failure: we see its writes if it did).
                match self.state.compare_exchange_weak(cur, cur & !flag, Acquire, Acquire) {
                    Ok(_) => break,
                    Err(actual) => cur = actual,
                }
            }
        }
        let old = slot.with_mut(|w| {
            // SAFETY: `flag` is clear, so the other side will not read the
            // slot (it reads only if its `done`-setting RMW sees `flag`),
            // and this side is the slot's only writer.
            unsafe { (*w).replace(waker.clone()) }
        });
        // AcqRel: Release publishes the waker to the other side's RMW that
        // sets `done` (it then reads the slot); Acquire pairs with that RMW
        // if it came first, so the caller sees what it published.
        let prev = self.state.fetch_or(flag, AcqRel);
        drop(old);
        prev & done == 0
    }

    /// Wakes the waker in `slot` (the caller's RMW saw its flag set).
    fn wake(&self, slot: &UnsafeCell<Option<Waker>>) {
        slot.with(|w| {
            // SAFETY: the caller's RMW set its `done` bit and saw the flag
            // of this slot: the owner stored the waker before setting the
            // flag (Release, we Acquired) and will never write it again.
            if let Some(w) = unsafe { &*w } {
                w.wake_by_ref();
            }
        });
    }
}

impl<T> Sender<T> {
    fn inner(&self) -> &Inner<T> {
        self.inner.as_deref().expect("oneshot sender used after send")
    }

    /// Sends `value`, consuming the sender. Returns the value back as
    /// `Err(value)` if the receiver was dropped or closed first.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::oneshot::channel();
    /// assert_eq!(tx.send("v"), Ok(()));
    /// assert_eq!(rx.try_recv(), Ok("v"));
    /// ```
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("oneshot sender used after send");
        inner.value.with_mut(|v| {
            // SAFETY: the slot is the sender's until it sets VALUE_SET,
            // which it has not (this is the only send, `self` is consumed).
            unsafe { *v = Some(value) };
        });
        // Relaxed: only a first guess for the CAS, which re-checks.
        let mut cur = inner.state.load(Relaxed);
        loop {
            if cur & RX_CLOSED != 0 {
                // The receiver is gone: it never looks at the slot without
                // VALUE_SET, so the value is still ours to return.
                let value = inner.value.with_mut(|v| {
                    // SAFETY: still the sender's (VALUE_SET is not set).
                    unsafe { (*v).take() }
                });
                // Release: the sender is finished (TX_DONE's rule); nothing
                // is published through it, as RX_CLOSED stops the receiver
                // from reading the slots. Relaxed would do; Release keeps
                // every TX_DONE-setting RMW alike.
                inner.state.fetch_or(TX_DONE, Release);
                return Err(value.expect("value stored above"));
            }
            // AcqRel on success: Release hands the value slot to the
            // receiver (pairs with its Acquire loads/RMWs that see
            // VALUE_SET); Acquire pairs with the receiver's Release
            // `fetch_or(RX_WAKER)`, making its waker readable. Relaxed on
            // failure: we loop and only act on a successful CAS.
            match inner.state.compare_exchange_weak(cur, cur | VALUE_SET | TX_DONE, AcqRel, Relaxed) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        if cur & RX_WAKER != 0 {
            inner.wake(&inner.rx_waker);
        }
        Ok(())
    }

    /// Whether the receiver was dropped or closed (a later `send` would
    /// fail).
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::oneshot::channel::<()>();
    /// assert!(!tx.is_closed());
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        // Acquire: pairs with the receiver's AcqRel RMW setting RX_CLOSED.
        self.inner().state.load(Acquire) & RX_CLOSED != 0
    }

    /// Polls for the receiver going away: `Ready` once it was dropped or
    /// closed. Only the waker of the latest poll is woken.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let coop = std::task::ready!(crate::rt::coop::poll_proceed(cx));
        let inner = self.inner();
        if inner.register(&inner.tx_waker, TX_WAKER, RX_CLOSED, cx.waker()) {
            return Poll::Pending;
        }
        coop.made_progress();
        Poll::Ready(())
    }

    /// Waits until the receiver is dropped or closed (useful to stop
    /// computing a reply nobody will read). Cancel-safe.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     let (mut tx, rx) = weft::sync::oneshot::channel::<()>();
    ///     weft::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// ```
    #[track_caller]
    pub fn closed(&mut self) -> impl std::future::Future<Output = ()> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::ChannelClosed, async move {
            std::future::poll_fn(|cx| self.poll_closed(cx)).await
        })
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else { return };
        // AcqRel: Release orders our last use of `tx_waker` before the
        // receiver's drop of the allocation; Acquire pairs with the
        // receiver's Release `fetch_or(RX_WAKER)` (its waker is readable).
        let prev = inner.state.fetch_or(TX_DONE, AcqRel);
        if prev & RX_WAKER != 0 && prev & RX_CLOSED == 0 {
            inner.wake(&inner.rx_waker);
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if the sender finished; `state` was read with
    /// Acquire and has `TX_DONE` set.
    fn take_value(&self, state: usize) -> Option<T> {
        if state & VALUE_SET == 0 {
            return None;
        }
        self.inner.value.with_mut(|v| {
            // SAFETY: VALUE_SET was seen with Acquire (pairs with the
            // sender's Release CAS): the slot is the receiver's, and the
            // receiver is used from one place at a time (`&mut self`).
            unsafe { (*v).take() }
        })
    }

    /// Takes the value if it has arrived.
    ///
    /// `Err(Empty)`: not yet; `Err(Closed)`: it never will (sender dropped,
    /// value already taken, or receiver closed before it was sent).
    ///
    /// ```
    /// use weft::sync::oneshot::{channel, TryRecvError};
    /// let (tx, mut rx) = channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        // Acquire: pairs with the sender's Release CAS/RMW (value slot).
        let state = self.inner.state.load(Acquire);
        if state & (TX_DONE | RX_CLOSED) == 0 {
            return Err(TryRecvError::Empty);
        }
        self.take_value(state).ok_or(TryRecvError::Closed)
    }

    /// Closes the receiver: a later [`Sender::send`] fails and gives its
    /// value back, and [`Sender::closed`] resolves. A value sent before the
    /// close can still be received.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(5), Err(5));
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn close(&mut self) {
        let _ = self.close_and_read();
    }

    /// Sets `RX_CLOSED`; returns the state before, read with Acquire.
    fn close_and_read(&mut self) -> usize {
        let inner = &*self.inner;
        // AcqRel: Release publishes RX_CLOSED to the sender's CAS (which
        // then refuses to set VALUE_SET); Acquire pairs with the sender's
        // Release CAS (VALUE_SET: the value slot) and with its Release
        // `fetch_or(TX_WAKER)` (its waker is readable).
        let prev = inner.state.fetch_or(RX_CLOSED, AcqRel);
        if prev & TX_WAKER != 0 && prev & TX_DONE == 0 {
            inner.wake(&inner.tx_waker);
        }
        prev
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = std::task::ready!(crate::rt::coop::poll_proceed(cx));
        let inner = &*this.inner;
        // Acquire: pairs with the sender's Release (value slot).
        let mut state = inner.state.load(Acquire);
        if state & (TX_DONE | RX_CLOSED) == 0 {
            if inner.register(&inner.rx_waker, RX_WAKER, TX_DONE, cx.waker()) {
                crate::rt::task::wait::record(crate::rt::task::WaitKind::OneshotRecv, this.site);
                return Poll::Pending;
            }
            // The sender finished while we registered; `register`'s Acquire
            // made its writes visible.
            state = inner.state.load(Acquire);
        }
        coop.made_progress();
        Poll::Ready(this.take_value(state).ok_or(RecvError(())))
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // After RX_CLOSED no value can arrive, so the state before the
        // close tells whether one did (and its Acquire made it readable).
        // It is dropped now rather than with the allocation (the sender
        // may live on for a long time).
        let prev = self.close_and_read();
        drop(self.take_value(prev));
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a diagnostic snapshot.
        let state = self.inner.as_ref().map(|i| i.state.load(Relaxed));
        f.debug_struct("oneshot::Sender").field("state", &state).finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a diagnostic snapshot.
        let state = self.inner.state.load(Relaxed);
        f.debug_struct("oneshot::Receiver").field("state", &state).finish()
    }
}
