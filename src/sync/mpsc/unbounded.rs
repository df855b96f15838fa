//! The unbounded channel's handles: sends never wait, the buffer grows as
//! needed.

use super::chan::{Chan, Closed, Push};
use super::error::{SendError, TryRecvError};
use super::rx::RxCore;
use crate::loom::sync::Arc;
use std::fmt;
use std::task::{Context, Poll};

/// Creates an unbounded multi-producer, single-consumer channel.
///
/// Sends never wait: memory is the only limit, so prefer
/// [`channel`](super::channel) unless the producers are bounded by
/// something else.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
///     for i in 0..3 {
///         let tx = tx.clone();
///         weft::spawn(async move { tx.send(i).unwrap() });
///     }
///     drop(tx);
///     let mut got = Vec::new();
///     while let Some(v) = rx.recv().await {
///         got.push(v);
///     }
///     got.sort();
///     assert_eq!(got, [0, 1, 2]);
/// });
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Arc::new(Chan::new(None, 0));
    (UnboundedSender { chan: chan.clone() }, UnboundedReceiver { rx: RxCore::new(chan) })
}

/// The sending half of an [`unbounded_channel`]; clone it for more
/// producers.
///
/// ```
/// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
/// let tx2 = tx.clone();
/// tx.send(1).unwrap();
/// tx2.send(2).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(rx.try_recv(), Ok(2));
/// ```
pub struct UnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of an [`unbounded_channel`].
///
/// ```
/// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
/// tx.send("a").unwrap();
/// drop(tx);
/// assert_eq!(rx.len(), 1);
/// assert_eq!(rx.try_recv(), Ok("a"));
/// assert!(rx.try_recv().is_err());
/// ```
pub struct UnboundedReceiver<T> {
    rx: RxCore<T>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value` without waiting. Fails, giving the value back, once
    /// the receiver is dropped or closed.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::unbounded_channel();
    /// assert!(tx.send(1).is_ok());
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.chan.push(value) {
            Push::Sent => Ok(()),
            Push::Closed(v) => Err(SendError(v)),
        }
    }

    /// Whether the receiver is gone (dropped or closed).
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel::<()>();
    /// rx.close();
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
    ///     let (tx, rx) = weft::sync::mpsc::unbounded_channel::<()>();
    ///     weft::spawn(async move { drop(rx) });
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

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &UnboundedSender<T>) -> bool {
        self.chan.same(&other.chan)
    }
}

impl<T> UnboundedSender<T> {
    /// A [`WeakUnboundedSender`]: a handle that does not keep the channel open and can
    /// be upgraded back to a sender while some sender is still alive.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    /// let weak = tx.downgrade();
    /// weak.upgrade().unwrap().send(1).unwrap();
    /// drop(tx);
    /// assert!(weak.upgrade().is_none(), "the last sender is gone");
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().is_err(), "closed: a weak sender does not keep it open");
    /// ```
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        self.chan.weak_changed(true);
        WeakUnboundedSender { chan: self.chan.clone() }
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

/// A sender that does not keep the channel open ([`UnboundedSender::downgrade`]):
/// the receiver sees the end once every *strong* sender is gone. Upgrade
/// it to send.
pub struct WeakUnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> WeakUnboundedSender<T> {
    /// A sender again, or `None` once every sender is gone (the channel
    /// is then closed for sending for good).
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.try_add_sender().then(|| UnboundedSender { chan: self.chan.clone() })
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

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.weak_changed(true);
        WeakUnboundedSender { chan: self.chan.clone() }
    }
}

impl<T> Drop for WeakUnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.weak_changed(false);
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender").field("chan", &*self.chan).finish()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender { chan: self.chan.clone() }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next message: `None` once every sender is gone and
    /// every message was received (or the receiver was closed and
    /// drained). Cancel-safe.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    ///     tx.send(5).unwrap();
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Some(5));
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
    /// one. Returns how many were added; 0 means the channel is finished
    /// (as `recv`'s `None`) or `limit` was 0. Cancel-safe.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    ///     for i in 0..5 {
    ///         tx.send(i).unwrap();
    ///     }
    ///     let mut buf = Vec::new();
    ///     assert_eq!(rx.recv_many(&mut buf, 3).await, 3);
    ///     assert_eq!(rx.recv_many(&mut buf, 10).await, 2);
    ///     assert_eq!(buf, [0, 1, 2, 3, 4]);
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
    /// use weft::sync::mpsc::{unbounded_channel, error::TryRecvError};
    /// let (tx, mut rx) = unbounded_channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }

    /// Polls for the next message (the building block of `recv`, for
    /// hand-written futures and streams). Only the waker of the latest
    /// poll is woken.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }

    /// Closes the channel without dropping the receiver: sends fail from
    /// now on, messages already sent can still be received, then `recv`
    /// returns `None`.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// rx.close();
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().is_err());
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
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").field("chan", &*self.chan).finish()
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnboundedReceiver").field(&self.rx).finish()
    }
}
