//! `UnixStream`: a connected Unix stream socket on the netpoller.

use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, SocketAddr, WriteHalf};
use crate::net::ops;
use crate::rt::netpoll::{Direction, PollEvented};
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A Unix domain stream connection.
///
/// Used like [`TcpStream`](crate::net::TcpStream): inherent `async`
/// methods, or `futures_io::AsyncRead`/`AsyncWrite` (implemented for the
/// stream and for `&UnixStream`, so two tasks can share `&UnixStream`, one
/// reading and one writing).
///
/// ```
/// use weft::net::UnixStream;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (mut a, mut b) = UnixStream::pair().unwrap();
///     a.write_all(b"over a socketpair").await.unwrap();
///     let mut buf = [0; 17];
///     b.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"over a socketpair");
/// });
/// ```
pub struct UnixStream {
    io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Reads into possibly uninitialized memory (the `tokio-io`
    /// `AsyncRead` path; see `PollEvented::poll_read_uninit`).
    #[cfg(feature = "tokio-io")]
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_uninit(cx, buf)
    }

    /// Connects to the socket file `path`. Errors if nobody listens there
    /// (`NotFound` or `ConnectionRefused`), or if called outside a runtime.
    #[track_caller]
    pub fn connect(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<UnixStream>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Connect, async move {
            let stream =
                UnixStream { io: PollEvented::new_connecting(mio::net::UnixStream::connect(path)?)? };
            ops::finish_connect(&stream.io, |s| s.take_error(), |s| s.peer_addr().map(drop)).await?;
            Ok(stream)
        })
    }

    /// A pair of connected, unnamed streams.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    pub(crate) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream { io: PollEvented::new(stream)? })
    }

    pub(super) fn io(&self) -> &PollEvented<mio::net::UnixStream> {
        &self.io
    }

    /// Wraps a connected standard-library stream, switching it to
    /// non-blocking mode.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(stream))
    }

    /// Deregisters the stream and returns it as a standard-library stream
    /// (still in non-blocking mode).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.io.into_inner().map(std::os::unix::net::UnixStream::from)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Shuts down the read side, the write side, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Reads into `buf`, waiting until data arrives; `Ok(0)` at end of
    /// stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: bytes are taken from the socket only in the poll that
    /// returns their count; if `read` loses a `select!`, no data is lost.
    #[track_caller]
    pub fn read<'w>(
        &'w mut self,
        buf: &'w mut [u8],
    ) -> impl std::future::Future<Output = io::Result<usize>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, ops::read(&self.io, buf))
    }

    /// Fills `buf` exactly, or `ErrorKind::UnexpectedEof` if the peer closes
    /// first.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropped after part of `buf` was filled, it returns no
    /// count, so the bytes already read are lost to the caller. In a `select!`
    /// loop use `read` into a buffer that outlives the loop.
    #[track_caller]
    pub fn read_exact<'w>(
        &'w mut self,
        buf: &'w mut [u8],
    ) -> impl std::future::Future<Output = io::Result<()>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, ops::read_exact(&self.io, buf))
    }

    /// Writes some of `buf`, waiting until the socket accepts data.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: bytes are handed to the socket only in the poll that
    /// returns their count; a dropped `write` wrote nothing.
    #[track_caller]
    pub fn write<'w>(
        &'w mut self,
        buf: &'w [u8],
    ) -> impl std::future::Future<Output = io::Result<usize>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, ops::write(&self.io, buf))
    }

    /// Writes all of `buf`.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropped part way, it has written an unknown prefix of
    /// `buf`. In a `select!` loop, write with `write` and keep the position, or
    /// finish the write in the handler (as the chat example does).
    #[track_caller]
    pub fn write_all<'w>(
        &'w mut self,
        buf: &'w [u8],
    ) -> impl std::future::Future<Output = io::Result<()>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, ops::write_all(&self.io, buf))
    }

    /// Does nothing (no user-space buffer).
    #[track_caller]
    pub fn flush(&mut self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, async move { Ok(()) })
    }

    /// Waits until the stream may be readable (the wake-up can be spurious).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: readiness is not consumed by waiting for it.
    #[track_caller]
    pub fn readable(&self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, async move {
            ops::ready(&self.io, Direction::Read).await
        })
    }

    /// Waits until the stream may be writable (the wake-up can be spurious).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: readiness is not consumed by waiting for it.
    #[track_caller]
    pub fn writable(&self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, async move {
            ops::ready(&self.io, Direction::Write).await
        })
    }

    /// Reads without waiting (`WouldBlock` if no data is known available).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        use std::io::Read;
        self.io.try_io(Direction::Read, |mut s| s.read(buf))
    }

    /// Writes without waiting (`WouldBlock` if not known writable).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        use std::io::Write;
        self.io.try_io(Direction::Write, |mut s| s.write(buf))
    }

    /// Splits the stream into a read half and a write half that borrow it,
    /// so reading and writing can wait at the same time.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        super::split::split(self)
    }

    /// Splits the stream into owned halves that can move to different
    /// tasks. Dropping the write half shuts down the write side; put them
    /// back together with [`OwnedReadHalf::reunite`].
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     let (a, mut b) = weft::net::UnixStream::pair().unwrap();
    ///     let (mut rd, mut wr) = a.into_split();
    ///     let writer = weft::spawn(async move { wr.write_all(b"42").await.unwrap() });
    ///     let mut buf = [0; 2];
    ///     b.read_exact(&mut buf).await.unwrap();
    ///     writer.await.unwrap(); // `wr` dropped: `b` now reads end-of-stream after the data
    ///     b.write_all(b"ok").await.unwrap();
    ///     rd.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"ok");
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        super::split::into_split(self)
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

macro_rules! impl_async_io {
    ($ty:ty) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_read_vectored(cx, bufs)
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts down the write side (the peer reads end-of-stream).
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.shutdown(Shutdown::Write))
            }
        }
    };
}

impl_async_io!(UnixStream);
impl_async_io!(&UnixStream);

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
