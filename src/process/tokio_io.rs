//! tokio's I/O traits on the child's pipes (feature `tokio-io`), beside
//! `futures_io`'s, so tokio-util codecs and `tokio::io::copy` take them as
//! they are. Reads go through the same netpoller path as the
//! `futures_io` reads, into the initialized part of the `ReadBuf`.

use super::pipe::{ChildStderr, ChildStdin, ChildStdout};
use futures_io::{AsyncRead as FutRead, AsyncWrite as FutWrite};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::ReadBuf;

macro_rules! impl_tokio_read {
    ($($ty:ty),*) => {$(
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
                if buf.remaining() == 0 {
                    return Poll::Ready(Ok(()));
                }
                let n = ready!(FutRead::poll_read(self.as_mut(), cx, buf.initialize_unfilled()))?;
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }
    )*};
}

impl_tokio_read!(ChildStdout, ChildStderr);

impl tokio::io::AsyncWrite for ChildStdin {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        FutWrite::poll_write(self, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        FutWrite::poll_flush(self, cx)
    }

    /// Nothing to do: the pipe closes when the `ChildStdin` is dropped.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        FutWrite::poll_close(self, cx)
    }
}
