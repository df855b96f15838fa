//! hyper's I/O traits (`hyper::rt::Read`, `hyper::rt::Write`) on weft's
//! stream sockets, so hyper's connection builders take a `TcpStream` or a
//! `UnixStream` as it is.
//!
//! A read goes through the socket's `tokio::io::AsyncRead` (feature
//! `tokio-io`, on with `hyper`), which reads into uninitialized memory
//! without zeroing it first. hyper's `ReadBufCursor` only exposes its spare
//! memory through `unsafe` accessors, so one `unsafe` block lends that
//! memory to a `tokio::io::ReadBuf` and then tells hyper how much was
//! filled.

use crate::net::TcpStream;
#[cfg(unix)]
use crate::net::UnixStream;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Reads from `io` into hyper's cursor.
fn read_cursor<T: AsyncRead + Unpin>(
    io: &mut T,
    cx: &mut Context<'_>,
    mut cursor: hyper::rt::ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    // SAFETY: `as_mut`'s obligation is never to de-initialize a byte that
    // is initialized: the `ReadBuf` over the spare memory starts with
    // nothing marked initialized and only ever writes the bytes
    // `poll_read` receives, never uninitialized values.
    // `advance(n)`'s obligation is that the next `n` bytes are initialized:
    // `n` is the `ReadBuf`'s filled length, and a `ReadBuf` guarantees its
    // filled part is initialized (filled <= initialized, checked by the
    // `ReadBuf` itself), and `T` is one of weft's sockets, whose
    // `poll_read` fills the `ReadBuf` it is given in place (it never swaps
    // in another buffer). The `ReadBuf`'s borrow of the cursor ends before
    // `advance`.
    unsafe {
        let mut buf = ReadBuf::uninit(cursor.as_mut());
        ready!(Pin::new(io).poll_read(cx, &mut buf))?;
        let n = buf.filled().len();
        cursor.advance(n);
    }
    Poll::Ready(Ok(()))
}

macro_rules! impl_hyper_io {
    ($($ty:ty),* $(,)?) => {$(
        impl hyper::rt::Read for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: hyper::rt::ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                read_cursor(self.get_mut(), cx, buf)
            }
        }

        impl hyper::rt::Write for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                AsyncWrite::poll_write_vectored(self, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_flush(self, cx)
            }

            /// Shuts down the write side (the peer reads end-of-stream).
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_shutdown(self, cx)
            }
        }
    )*};
}

impl_hyper_io!(TcpStream, &TcpStream);
#[cfg(unix)]
impl_hyper_io!(UnixStream, &UnixStream);
