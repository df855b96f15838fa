//! `WatchStream`: a watch receiver as a stream of its values.

use crate::sync::watch::Receiver;
use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A [`watch::Receiver`](crate::sync::watch::Receiver) as a [`Stream`] of
/// its values: a clone of the latest value each time it changed (values
/// sent between two polls are skipped, as with `changed`), ending once the
/// sender is gone and the last change was seen.
///
/// [`new`](WatchStream::new) starts with the current value;
/// [`from_changes`](WatchStream::from_changes) waits for the first change.
///
/// ```
/// use futures::StreamExt;
/// use weft::stream::WatchStream;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (tx, rx) = weft::sync::watch::channel("idle");
///     let mut states = WatchStream::new(rx);
///     assert_eq!(states.next().await, Some("idle"));
///     tx.send("busy").unwrap();
///     assert_eq!(states.next().await, Some("busy"));
///     drop(tx);
///     assert_eq!(states.next().await, None);
/// });
/// ```
pub struct WatchStream<T> {
    rx: Receiver<T>,
    /// Yield the current value without waiting for a change (the first
    /// item of `new`).
    yield_current: bool,
    /// Our place in the channel's waiter list between polls.
    key: Option<u64>,
}

impl<T> WatchStream<T> {
    /// The current value first, then each change.
    pub fn new(rx: Receiver<T>) -> WatchStream<T> {
        WatchStream { rx, yield_current: true, key: None }
    }

    /// Each change from now on (not the current value, unless it is one
    /// this receiver has not seen).
    pub fn from_changes(rx: Receiver<T>) -> WatchStream<T> {
        WatchStream { rx, yield_current: false, key: None }
    }
}

impl<T: Clone> Stream for WatchStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.yield_current {
            this.yield_current = false;
            return Poll::Ready(Some(this.rx.borrow_and_update().clone()));
        }
        match this.rx.poll_changed_keyed(&mut this.key, cx) {
            Poll::Pending => Poll::Pending,
            // Marks the value read seen: a newer one sent since the wait
            // ended is the one cloned, and is not reported twice.
            Poll::Ready(Ok(())) => Poll::Ready(Some(this.rx.borrow_and_update().clone())),
            Poll::Ready(Err(_)) => Poll::Ready(None),
        }
    }
}

impl<T> Drop for WatchStream<T> {
    fn drop(&mut self) {
        self.rx.forget_waiter(&mut self.key);
    }
}

impl<T: fmt::Debug> fmt::Debug for WatchStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchStream").field("rx", &self.rx).finish_non_exhaustive()
    }
}
