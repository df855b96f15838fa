//! tokio's I/O traits on the stream sockets (feature `tokio-io`).
//!
//! `tokio::io::AsyncRead` and `AsyncWrite` are implemented on the types
//! themselves, not on a wrapper, so a crate written against tokio's traits
//! (tokio-util codecs, hyper-util's `TokioIo`, tokio-rustls) takes a weft
//! `TcpStream` or `UnixStream` as it is. Each method forwards to the type's
//! `futures_io` implementation: both traits sit on the same netpoller path,
//! and a connection may be used through either.
//!
//! Reads fill a `tokio::io::ReadBuf` without `unsafe`: the unfilled part is
//! initialized (zeroed) first, then read into. `ReadBuf` remembers how much
//! of its memory is initialized, so a caller that reuses one buffer pays
//! the zeroing once; a caller that hands in fresh uninitialized memory on
//! every read (tokio-util's `poll_read_buf` over a `BytesMut` does) pays a
//! `memset` of the spare capacity per read. Skipping it would need a raw
//! `read(2)` into uninitialized memory, which is `unsafe`; the `memset`
//! stays well below the cost of the system call it precedes.
//!
//! `poll_shutdown` shuts down the write side (the peer reads end-of-stream)
//! and leaves the read side open, as tokio's sockets do; `poll_flush` has
//! nothing to do (no user-space buffer).
//!
//! ```
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! # // tokio's extension traits are in tokio's `io-util` feature, which
//! # // weft's doc tests get from its dev-dependencies.
//!
//! let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
//! rt.block_on(async {
//!     let (mut a, mut b) = weft::net::UnixStream::pair().unwrap();
//!     AsyncWriteExt::write_all(&mut a, b"ping").await.unwrap();
//!     AsyncWriteExt::shutdown(&mut a).await.unwrap(); // FIN
//!     let mut got = Vec::new();
//!     AsyncReadExt::read_to_end(&mut b, &mut got).await.unwrap();
//!     assert_eq!(got, b"ping");
//! });
//! ```

use super::{tcp, TcpStream};
#[cfg(unix)]
use super::{unix, UnixStream};
use futures_io::{AsyncRead as FutRead, AsyncWrite as FutWrite};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::ReadBuf;

/// Reads into the unfilled part of `buf` through the futures-io path.
fn read_buf<T: FutRead + Unpin>(
    io: &mut T,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() == 0 {
        // No room: nothing filled is the answer, without a system call.
        return Poll::Ready(Ok(()));
    }
    let n = ready!(Pin::new(io).poll_read(cx, buf.initialize_unfilled()))?;
    buf.advance(n);
    Poll::Ready(Ok(()))
}

macro_rules! impl_tokio_read {
    ($($ty:ty),* $(,)?) => {$(
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                read_buf(self.get_mut(), cx, buf)
            }
        }
    )*};
}

macro_rules! impl_tokio_write {
    ($($ty:ty),* $(,)?) => {$(
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                FutWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                FutWrite::poll_write_vectored(self, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                // `writev(2)` on the socket: one system call for all slices.
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                FutWrite::poll_flush(self, cx)
            }

            /// Shuts down the write side; the read side stays open.
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                FutWrite::poll_close(self, cx)
            }
        }
    )*};
}

impl_tokio_read!(TcpStream, &TcpStream, tcp::ReadHalf<'_>, tcp::OwnedReadHalf);
impl_tokio_write!(TcpStream, &TcpStream, tcp::WriteHalf<'_>, tcp::OwnedWriteHalf);

#[cfg(unix)]
impl_tokio_read!(UnixStream, &UnixStream, unix::ReadHalf<'_>, unix::OwnedReadHalf);
#[cfg(unix)]
impl_tokio_write!(UnixStream, &UnixStream, unix::WriteHalf<'_>, unix::OwnedWriteHalf);
