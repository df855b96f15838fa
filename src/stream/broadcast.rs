//! `BroadcastStream`: a broadcast receiver as a stream.

use crate::sync::broadcast::{error::RecvError, Receiver};
use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A [`broadcast::Receiver`](crate::sync::broadcast::Receiver) as a
/// [`Stream`] of every value sent, `Err(Lagged(n))` where the receiver
/// fell `n` values behind (it then goes on from the oldest value kept),
/// ending once every sender is gone and everything was read.
///
/// ```
/// use futures::StreamExt;
/// use weft::stream::{BroadcastStream, Lagged};
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (tx, rx) = weft::sync::broadcast::channel(2);
///     for i in 1..=3 {
///         tx.send(i).unwrap(); // 1 is overwritten: the ring keeps 2
///     }
///     drop(tx);
///     let items: Vec<_> = BroadcastStream::new(rx).collect().await;
///     assert_eq!(items, [Err(Lagged(1)), Ok(2), Ok(3)]);
/// });
/// ```
pub struct BroadcastStream<T> {
    rx: Receiver<T>,
    /// Our place in the channel's waiter list between polls.
    key: Option<u64>,
}

/// The item of a [`BroadcastStream`] whose receiver fell behind: this many
/// values were overwritten before it read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lagged(pub u64);

impl<T> BroadcastStream<T> {
    /// Streams the values `rx` has yet to receive.
    pub fn new(rx: Receiver<T>) -> BroadcastStream<T> {
        BroadcastStream { rx, key: None }
    }
}

impl<T: Clone> Stream for BroadcastStream<T> {
    type Item = Result<T, Lagged>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.rx.poll_recv_keyed(&mut this.key, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(v)) => Poll::Ready(Some(Ok(v))),
            Poll::Ready(Err(RecvError::Lagged(n))) => Poll::Ready(Some(Err(Lagged(n)))),
            Poll::Ready(Err(RecvError::Closed)) => Poll::Ready(None),
        }
    }
}

impl<T> Drop for BroadcastStream<T> {
    fn drop(&mut self) {
        self.rx.forget_waiter(&mut self.key);
    }
}

impl<T> From<Receiver<T>> for BroadcastStream<T> {
    fn from(rx: Receiver<T>) -> Self {
        BroadcastStream::new(rx)
    }
}

impl<T> fmt::Debug for BroadcastStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastStream").field("rx", &self.rx).finish_non_exhaustive()
    }
}

impl fmt::Display for Lagged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "broadcast receiver lagged behind by {} values", self.0)
    }
}

impl std::error::Error for Lagged {}
