//! `Stream` implemented directly on the types whose own poll method is
//! the stream (module doc of `stream`).

#[cfg(any(
    feature = "sync",
    feature = "time",
    all(feature = "net", not(all(test, loom))),
    all(unix, feature = "signal", not(all(test, loom)))
))]
use futures_core::Stream;
#[cfg(any(
    feature = "sync",
    feature = "time",
    all(feature = "net", not(all(test, loom))),
    all(unix, feature = "signal", not(all(test, loom)))
))]
use std::pin::Pin;
#[cfg(any(
    feature = "sync",
    feature = "time",
    all(feature = "net", not(all(test, loom))),
    all(unix, feature = "signal", not(all(test, loom)))
))]
use std::task::{Context, Poll};

// The receivers pin nothing (their state is behind an `Arc` and in a
// `VecDeque` they own), so they are `Unpin` whatever `T` is; said here so
// that `poll_next` can take them out of the `Pin` without that depending
// on how the buffer's type is built.
#[cfg(feature = "sync")]
impl<T> Unpin for crate::sync::mpsc::Receiver<T> {}
#[cfg(feature = "sync")]
impl<T> Unpin for crate::sync::mpsc::UnboundedReceiver<T> {}

#[cfg(feature = "sync")]
impl<T> Stream for crate::sync::mpsc::Receiver<T> {
    type Item = T;

    /// As [`Receiver::poll_recv`](crate::sync::mpsc::Receiver::poll_recv).
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), None)
    }
}

#[cfg(feature = "sync")]
impl<T> Stream for crate::sync::mpsc::UnboundedReceiver<T> {
    type Item = T;

    /// As [`UnboundedReceiver::poll_recv`](crate::sync::mpsc::UnboundedReceiver::poll_recv).
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), None)
    }
}

#[cfg(feature = "sync")]
impl<T> Stream for crate::sync::mpmc::Receiver<T> {
    type Item = T;

    /// As [`Receiver::poll_recv`](crate::sync::mpmc::Receiver::poll_recv):
    /// this receiver is one consumer, each message goes to one of them,
    /// and the stream ends once the channel is closed and drained.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Other consumers may take what is buffered now: no lower bound.
        (0, None)
    }
}

#[cfg(feature = "time")]
impl Stream for crate::time::Interval {
    type Item = crate::time::Instant;

    /// As [`Interval::poll_tick`](crate::time::Interval::poll_tick); never
    /// ends.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<crate::time::Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

#[cfg(all(feature = "net", not(all(test, loom))))]
impl Stream for crate::net::TcpListener {
    type Item = std::io::Result<crate::net::TcpStream>;

    /// As [`TcpListener::poll_accept`](crate::net::TcpListener::poll_accept),
    /// without the peer's address; never ends. A failed accept (out of file
    /// descriptors) is an `Err` item, and polling again at once fails
    /// again: back off before the next item, as with `accept`.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_accept(cx).map(|accepted| Some(accepted.map(|(stream, _)| stream)))
    }
}

#[cfg(all(feature = "net", not(all(test, loom))))]
impl Stream for crate::net::UnixListener {
    type Item = std::io::Result<crate::net::UnixStream>;

    /// As [`UnixListener::poll_accept`](crate::net::UnixListener::poll_accept),
    /// without the peer's address; never ends (see `TcpListener`'s).
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_accept(cx).map(|accepted| Some(accepted.map(|(stream, _)| stream)))
    }
}

#[cfg(all(unix, feature = "signal", not(all(test, loom))))]
impl Stream for crate::signal::unix::Signal {
    type Item = ();

    /// As [`Signal::poll_recv`](crate::signal::unix::Signal::poll_recv):
    /// one item per delivery seen (deliveries between two polls count
    /// once); ends when the receiver's runtime has shut down.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}
