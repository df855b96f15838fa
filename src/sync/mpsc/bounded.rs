//! The bounded channel's handles: `send` waits while the channel is full
//! (back-pressure), `reserve` waits for a slot before the value exists.
//!
//! Capacity is a semaphore with `bound` permits (the crate's shared
//! `batch_semaphore`, under `sync::Semaphore` too): a send
//! acquires one, the receiver releases one per message it hands out, and
//! closing the receiver closes the semaphore so every waiting sender wakes
//! with an error. The semaphore's queue is FIFO, so a sender woken when a
//! slot frees is the one that waited longest.

use super::chan::{Chan, Closed, Push};
use super::error::{SendError, TryRecvError, TrySendError};
use super::rx::RxCore;
use crate::loom::sync::Arc;
use crate::sync::batch_semaphore::{Semaphore, TryAcquireError};
use std::fmt;
use std::task::{Context, Poll};

/// Creates a bounded multi-producer, single-consumer channel holding at
/// most `buffer` messages.
///
/// # Panics
///
/// If `buffer` is 0 (a channel that can hold nothing can never deliver
/// anything; use a capacity of 1, or a [`oneshot`](crate::sync::oneshot)
/// per request for a rendezvous), or larger than `usize::MAX >> 3`.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let (tx, mut rx) = weft::sync::mpsc::channel(8);
///     weft::spawn(async move {
///         for i in 0..100 {
///             tx.send(i).await.unwrap(); // waits while 8 are unread
///         }
///     });
///     let mut sum = 0;
///     while let Some(i) = rx.recv().await {
///         sum += i;
///     }
///     assert_eq!(sum, 4950);
/// });
/// ```
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0 (use 1 for the smallest buffer)");
    assert!(
        buffer <= usize::MAX >> 3,
        "mpsc bounded channel buffer too large: at most usize::MAX >> 3 (use unbounded_channel)"
    );
    let chan = Arc::new(Chan::new(Some(Semaphore::new(buffer)), buffer));
    (Sender { chan: chan.clone() }, Receiver { rx: RxCore::new(chan) })
}

/// The sending half of a bounded [`channel`]; clone it for more
/// producers.
///
/// ```
/// let (tx, mut rx) = weft::sync::mpsc::channel(2);
/// assert_eq!(tx.max_capacity(), 2);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.capacity(), 1);
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(tx.capacity(), 2);
/// ```
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of a bounded [`channel`].
///
/// ```
/// let (tx, mut rx) = weft::sync::mpsc::channel(4);
/// tx.try_send('x').unwrap();
/// assert_eq!(rx.len(), 1);
/// assert_eq!(rx.try_recv(), Ok('x'));
/// assert!(rx.is_empty());
/// ```
pub struct Receiver<T> {
    rx: RxCore<T>,
}

/// A reserved slot of a bounded channel ([`Sender::reserve`]): sending
/// through it cannot fail or wait. Dropping it unused frees the slot.
///
/// ```
/// let (tx, mut rx) = weft::sync::mpsc::channel(1);
/// let permit = tx.try_reserve().unwrap();
/// assert!(tx.try_send(1).is_err(), "the only slot is reserved");
/// permit.send(2);
/// assert_eq!(rx.try_recv(), Ok(2));
/// ```
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
}

/// A reserved slot that owns its sender ([`Sender::reserve_owned`]), to
/// move into another task. `send` gives the sender back.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (tx, mut rx) = weft::sync::mpsc::channel(1);
///     let permit = tx.reserve_owned().await.unwrap();
///     let tx = permit.send(7);
///     assert_eq!(rx.recv().await, Some(7));
///     drop(tx);
///     assert_eq!(rx.recv().await, None);
/// });
/// ```
pub struct OwnedPermit<T> {
    /// `None` only after `send` gave the sender back.
    sender: Option<Sender<T>>,
}

impl<T> Sender<T> {
    fn sem(&self) -> &Semaphore {
        self.chan.sem.as_ref().expect("a bounded channel has a semaphore")
    }

    /// Waits for one slot (FIFO among waiting senders); `false` if the
    /// receiver is gone. Cancel-safe: a dropped wait gives back a slot it
    /// was already handed. The semaphore's `Acquire` charges the
    /// cooperative budget.
    async fn acquire_slot(&self) -> bool {
        // A free slot with nobody queued for one (the common case while
        // the receiver keeps up) is one CAS: no waiter node is built, no
        // cancel guard armed.
        let fast = std::future::poll_fn(|cx| self.sem().poll_try_acquire(cx, 1)).await;
        if let Some(done) = fast {
            return done.is_ok();
        }
        /// Armed while the wait is pending. A wait dropped after the
        /// receiver handed it a slot gives that slot back (in the
        /// semaphore's `Acquire::drop`, which runs first: the field is
        /// declared after this guard in the future's state); a closed
        /// receiver may be waiting for exactly that slot, so it must hear
        /// of it, as with a dropped `Permit`.
        struct SlotWait<'a, T>(Option<&'a Chan<T>>);
        impl<T> Drop for SlotWait<'_, T> {
            fn drop(&mut self) {
                if let Some(chan) = self.0 {
                    if let Some(sem) = &chan.sem {
                        chan.slot_returned(sem);
                    }
                }
            }
        }
        let mut wait = SlotWait(Some(&*self.chan));
        let acquired = self.sem().acquire(1).await.is_ok();
        wait.0 = None;
        acquired
    }

    /// Sends `value`, waiting while the channel is full. Fails, giving the
    /// value back, once the receiver is dropped or closed.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes, the
    /// value is dropped with it and was not sent, and no slot is lost (the
    /// slot it may have been handed goes to the next waiting sender).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = weft::sync::mpsc::channel(1);
    ///     tx.send("a").await.unwrap();
    ///     assert_eq!(rx.recv().await, Some("a"));
    ///     drop(rx);
    ///     assert_eq!(tx.send("b").await.unwrap_err().0, "b");
    /// });
    /// ```
    #[track_caller]
    pub fn send(&self, value: T) -> impl std::future::Future<Output = Result<(), SendError<T>>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::MpscSend, async move {
            if !self.acquire_slot().await {
                return Err(SendError(value));
            }
            match self.chan.push_reserved(value) {
                Push::Sent => Ok(()),
                Push::Closed(v) => Err(SendError(v)),
            }
        })
    }

    /// Sends `value` if there is room now; otherwise gives it back as
    /// `Full` (channel at capacity) or `Closed` (receiver gone).
    ///
    /// ```
    /// use weft::sync::mpsc::{channel, error::TrySendError};
    /// let (tx, _rx) = channel(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.sem().try_acquire(1) {
            Ok(()) => {}
            Err(TryAcquireError::NoPermits) => return Err(TrySendError::Full(value)),
            Err(TryAcquireError::Closed) => return Err(TrySendError::Closed(value)),
        }
        match self.chan.push_reserved(value) {
            Push::Sent => Ok(()),
            Push::Closed(v) => Err(TrySendError::Closed(v)),
        }
    }

    /// Waits for a slot and reserves it: the [`Permit`] then sends without
    /// waiting or failing. Fails once the receiver is gone. Cancel-safe
    /// (no slot is lost).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = weft::sync::mpsc::channel(1);
    ///     let permit = tx.reserve().await.unwrap();
    ///     permit.send(42); // the value is built only once a slot is sure
    ///     assert_eq!(rx.recv().await, Some(42));
    /// });
    /// ```
    #[track_caller]
    pub fn reserve(&self) -> impl std::future::Future<Output = Result<Permit<'_, T>, SendError<()>>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::MpscSend, async move {
            if self.acquire_slot().await {
                Ok(Permit { chan: &self.chan })
            } else {
                Err(SendError(()))
            }
        })
    }

    /// As [`reserve`](Self::reserve), without waiting: `Full(())` if the
    /// channel is at capacity, `Closed(())` if the receiver is gone.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.sem().try_acquire(1) {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// As [`reserve`](Self::reserve), but the permit owns the sender (to
    /// move it into another task); on failure the sender comes back.
    #[track_caller]
    pub fn reserve_owned(self) -> impl std::future::Future<Output = Result<OwnedPermit<T>, SendError<Self>>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::MpscSend, async move {
            if self.acquire_slot().await {
                Ok(OwnedPermit { sender: Some(self) })
            } else {
                Err(SendError(self))
            }
        })
    }

    /// Whether the receiver is gone (dropped or closed).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel::<u8>(1);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_rx_closed()
    }

    /// Waits until the receiver is gone (dropped or closed). Cancel-safe.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = weft::sync::mpsc::channel::<()>(1);
    ///     weft::spawn(async move { rx.close() });
    ///     tx.closed().await;
    /// });
    /// ```
    #[track_caller]
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + '_ {
        crate::rt::task::wait::waiting(
            crate::rt::task::WaitKind::ChannelClosed,
            Closed { chan: &self.chan, key: None },
        )
    }

    /// Free slots now (the bound minus messages in the channel and
    /// outstanding permits).
    pub fn capacity(&self) -> usize {
        self.sem().available_permits()
    }

    /// The bound given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.chan.bound
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        self.chan.same(&other.chan)
    }
}

impl<T> Sender<T> {
    /// A [`WeakSender`]: a handle that does not keep the channel open and can
    /// be upgraded back to a sender while some sender is still alive.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::mpsc::channel::<u8>(1);
    /// let weak = tx.downgrade();
    /// weak.upgrade().unwrap().try_send(1).unwrap();
    /// drop(tx);
    /// assert!(weak.upgrade().is_none(), "the last sender is gone");
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().is_err(), "closed: a weak sender does not keep it open");
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        self.chan.weak_changed(true);
        WeakSender { chan: self.chan.clone() }
    }

    /// Live senders of this channel (weak ones not counted).
    pub fn strong_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// Live weak senders of this channel.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_sender_count()
    }
}

/// A sender that does not keep the channel open ([`Sender::downgrade`]):
/// the receiver sees the end once every *strong* sender is gone. Upgrade
/// it to send.
pub struct WeakSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> WeakSender<T> {
    /// A sender again, or `None` once every sender is gone (the channel
    /// is then closed for sending for good).
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.try_add_sender().then(|| Sender { chan: self.chan.clone() })
    }

    /// Live senders of this channel (weak ones not counted).
    pub fn strong_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// Live weak senders of this channel.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_sender_count()
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.chan.weak_changed(true);
        WeakSender { chan: self.chan.clone() }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.chan.weak_changed(false);
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").field("chan", &*self.chan).finish()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

/// Sends through a reserved slot. The message is delivered even if the
/// receiver was closed since the reservation; if the receiver was dropped,
/// the value is dropped here, once (nobody can receive it).
fn send_reserved<T>(chan: &Chan<T>, value: T) {
    match chan.push_reserved(value) {
        Push::Sent => {}
        // The semaphore is closed with the receiver: the slot needs no
        // release.
        Push::Closed(v) => drop(v),
    }
}

/// Gives a reserved slot back unused.
fn return_slot<T>(chan: &Chan<T>) {
    if let Some(sem) = &chan.sem {
        sem.release(1);
        chan.slot_returned(sem);
    }
}

impl<T> Permit<'_, T> {
    /// Sends `value` through the reserved slot. Never waits, never fails:
    /// the message is delivered even if the receiver was closed since the
    /// reservation (it receives everything reserved before its close);
    /// only if the receiver was dropped is the value dropped.
    pub fn send(self, value: T) {
        let chan = self.chan;
        std::mem::forget(self);
        send_reserved(chan, value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        return_slot(self.chan);
    }
}

impl<T> OwnedPermit<T> {
    /// Sends `value` through the reserved slot and gives the sender back.
    /// As [`Permit::send`]: never waits, never fails.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self.sender.take().expect("an unused owned permit holds its sender");
        send_reserved(&sender.chan, value);
        sender
    }

    /// Gives the slot back unused and returns the sender.
    pub fn release(mut self) -> Sender<T> {
        let sender = self.sender.take().expect("an unused owned permit holds its sender");
        return_slot(&sender.chan);
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            return_slot(&sender.chan);
        }
    }
}

impl<T> Receiver<T> {
    /// Receives the next message: `None` once every sender is gone and
    /// every message was received (or the receiver was closed and
    /// drained). Frees one slot per message. Cancel-safe.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = weft::sync::mpsc::channel(1);
    ///     tx.send(1).await.unwrap();
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a message leaves the channel only in the poll that returns
    /// it. If `recv` loses a `select!`, no message is lost, and the next `recv`
    /// returns it.
    #[track_caller]
    pub fn recv(&mut self) -> impl std::future::Future<Output = Option<T>> + '_ {
        // A `poll_fn` rather than an `async` block: no state machine to
        // resume around the one call.
        crate::rt::task::wait::poll_fn(crate::rt::task::WaitKind::MpscRecv, move |cx| self.rx.poll_recv(cx))
    }

    /// Receives up to `limit` messages into `buf`, waiting for at least
    /// one; returns how many were added (0: finished, or `limit` was 0).
    /// Cancel-safe.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = weft::sync::mpsc::channel(4);
    ///     for i in 0..4 {
    ///         tx.send(i).await.unwrap();
    ///     }
    ///     let mut buf = Vec::with_capacity(4);
    ///     assert_eq!(rx.recv_many(&mut buf, 4).await, 4);
    ///     assert_eq!(buf, [0, 1, 2, 3]);
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: messages move into `buf` only in the poll that returns
    /// their count; a dropped `recv_many` took none.
    #[track_caller]
    pub fn recv_many<'a>(
        &'a mut self,
        buf: &'a mut Vec<T>,
        limit: usize,
    ) -> impl std::future::Future<Output = usize> + 'a {
        crate::rt::task::wait::poll_fn(crate::rt::task::WaitKind::MpscRecv, move |cx| {
            self.rx.poll_recv_many(cx, buf, limit)
        })
    }

    /// Takes a message if one is there, without waiting.
    ///
    /// ```
    /// use weft::sync::mpsc::{channel, error::TryRecvError};
    /// let (tx, mut rx) = channel::<i32>(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }

    /// Polls for the next message (the building block of `recv`). Only
    /// the waker of the latest poll is woken.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }

    /// Closes the channel without dropping the receiver: sends and
    /// reservations fail from now on (waiting senders wake with an
    /// error), messages already sent can still be received, then `recv`
    /// returns `None`. A [`Permit`] reserved before the close can still
    /// send, and is received: `recv` returns `None` only once no
    /// reservation is left unused (as tokio's `Receiver::close`).
    ///
    /// ```
    /// use weft::sync::mpsc::{channel, error::TryRecvError};
    /// let (tx, mut rx) = channel(2);
    /// tx.try_send(1).unwrap();
    /// let permit = tx.try_reserve().unwrap();
    /// rx.close();
    /// assert!(tx.try_send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "a reservation is outstanding");
    /// permit.send(3);
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn close(&mut self) {
        self.rx.close();
    }

    /// Messages sent and not yet received.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.rx.chan.bound
    }

    /// Free slots now.
    pub fn capacity(&self) -> usize {
        self.rx.chan.sem.as_ref().map_or(0, Semaphore::available_permits)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("chan", &*self.chan).finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Receiver").field(&self.rx).finish()
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}
