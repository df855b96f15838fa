//! tokio's I/O traits on the stream sockets (feature `tokio-io`).
//!
//! `tokio::io::AsyncRead` and `AsyncWrite` are implemented on the types
//! themselves, not on a wrapper, so a crate written against tokio's traits
//! (tokio-util codecs, hyper-util's `TokioIo`, tokio-rustls) takes a weft
//! `TcpStream` or `UnixStream` as it is. Both traits sit on the same
//! netpoller path (the socket's readiness and waker slots), and a
//! connection may be used through either; writes forward to the
//! `futures_io` implementation.
//!
//! Reads go straight into the unfilled part of the `tokio::io::ReadBuf`,
//! initialized or not: `recv(2)` gets a raw pointer to it, and the
//! `ReadBuf` is told afterwards how many bytes the kernel wrote. Callers
//! that hand in fresh spare capacity on every read (hyper's read buffer,
//! tokio-util's `poll_read_buf` over a `BytesMut`) would otherwise pay a
//! `memset` of that capacity per read, also on reads that find nothing;
//! under an HTTP keep-alive load that `memset` showed up in profiles as
//! a cost the futures-io path and tokio's own sockets do not have.
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
use futures_io::AsyncWrite as FutWrite;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::ReadBuf;

/// Reads into the unfilled part of `buf` from `stream`'s socket.
fn read_buf<S: ReadUninit + ?Sized>(
    stream: &S,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() == 0 {
        // No room: nothing filled is the answer, without a system call.
        return Poll::Ready(Ok(()));
    }
    // SAFETY: `unfilled_mut`'s obligation is never to de-initialize a byte
    // that is initialized: the socket read only stores bytes the kernel
    // received, never uninitialized values.
    let unfilled = unsafe { buf.unfilled_mut() };
    let n = ready!(stream.poll_read_uninit(cx, unfilled))?;
    // SAFETY: `assume_init(n)`'s obligation is that the first `n` unfilled
    // bytes are initialized: `recv(2)` returned `n`, so it wrote exactly
    // the first `n` bytes of the memory it was given.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// A stream socket that reads into possibly uninitialized memory.
trait ReadUninit {
    fn poll_read_uninit(&self, cx: &mut Context<'_>, buf: &mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>>;
}

impl ReadUninit for TcpStream {
    fn poll_read_uninit(&self, cx: &mut Context<'_>, buf: &mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>> {
        TcpStream::poll_read_uninit(self, cx, buf)
    }
}

#[cfg(unix)]
impl ReadUninit for UnixStream {
    fn poll_read_uninit(&self, cx: &mut Context<'_>, buf: &mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>> {
        UnixStream::poll_read_uninit(self, cx, buf)
    }
}

/// `$stream` is an expression of `self` (bound to `$this`) naming the
/// socket the type reads from.
macro_rules! impl_tokio_read {
    ($($ty:ty => |$this:ident| $stream:expr),* $(,)?) => {$(
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let $this = &*self;
                read_buf($stream, cx, buf)
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

impl_tokio_read!(
    TcpStream => |s| s,
    &TcpStream => |s| *s,
    tcp::ReadHalf<'_> => |h| AsRef::<TcpStream>::as_ref(h),
    tcp::OwnedReadHalf => |h| AsRef::<TcpStream>::as_ref(h),
);
impl_tokio_write!(TcpStream, &TcpStream, tcp::WriteHalf<'_>, tcp::OwnedWriteHalf);

#[cfg(unix)]
impl_tokio_read!(
    UnixStream => |s| s,
    &UnixStream => |s| *s,
    unix::ReadHalf<'_> => |h| AsRef::<UnixStream>::as_ref(h),
    unix::OwnedReadHalf => |h| AsRef::<UnixStream>::as_ref(h),
);
#[cfg(unix)]
impl_tokio_write!(UnixStream, &UnixStream, unix::WriteHalf<'_>, unix::OwnedWriteHalf);
