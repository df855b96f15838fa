//! Halves of a `UnixStream`: borrowed (`UnixStream::split`) and owned
//! (`UnixStream::into_split`), as for TCP.

use super::UnixStream;
use crate::net::ops;
use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The read half of a [`UnixStream`], borrowed by [`UnixStream::split`]
/// (used like [`TcpStream::split`](crate::net::TcpStream::split)).
pub struct ReadHalf<'a>(&'a UnixStream);

/// The write half of a [`UnixStream`], borrowed by [`UnixStream::split`].
/// Dropping it shuts nothing down.
pub struct WriteHalf<'a>(&'a UnixStream);

/// The read half of a [`UnixStream`] made by [`UnixStream::into_split`]
/// (which has an example).
pub struct OwnedReadHalf {
    inner: Arc<UnixStream>,
}

/// The write half of a [`UnixStream`] made by [`UnixStream::into_split`].
/// Dropping it shuts down the write side, unless it is being reunited.
pub struct OwnedWriteHalf {
    inner: Arc<UnixStream>,
    shutdown_on_drop: bool,
}

/// The error of [`OwnedReadHalf::reunite`] for halves of different streams;
/// it hands both back.
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

pub(super) fn split(s: &mut UnixStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    (ReadHalf(s), WriteHalf(s))
}

pub(super) fn into_split(s: UnixStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let inner = Arc::new(s);
    (OwnedReadHalf { inner: inner.clone() }, OwnedWriteHalf { inner, shutdown_on_drop: true })
}

macro_rules! read_methods {
    (|$h:ident| $s:expr) => {
        /// Reads into `buf` (see [`UnixStream::read`]).
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
            // The stream alone, not the half: the future borrows no
            // more than `self` (a borrowed half's own lifetime is longer).
            let $h = self;
            let stream: &UnixStream = &$s;
            crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, ops::read(stream.io(), buf))
        }

        /// Fills `buf` exactly (see [`UnixStream::read_exact`]).
        ///
        /// # Cancel safety
        ///
        /// Not cancel-safe: dropped after part of `buf` was filled, it returns no
        /// count, so the bytes already read are lost to the caller. In a `select!` loop use
        /// `read` into a buffer that outlives the loop.
        #[track_caller]
        pub fn read_exact<'w>(
            &'w mut self,
            buf: &'w mut [u8],
        ) -> impl std::future::Future<Output = io::Result<()>> + 'w {
            // The stream alone, not the half: the future borrows no
            // more than `self` (a borrowed half's own lifetime is longer).
            let $h = self;
            let stream: &UnixStream = &$s;
            crate::rt::task::wait::waiting(
                crate::rt::task::WaitKind::IoRead,
                ops::read_exact(stream.io(), buf),
            )
        }

        /// Reads without waiting (see [`UnixStream::try_read`]).
        pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
            let $h = self;
            $s.try_read(buf)
        }

        /// Waits until the stream may be readable.
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe: readiness is not consumed by waiting for it.
        #[track_caller]
        pub fn readable(&self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
            // The stream alone, not the half: the future borrows no
            // more than `self` (a borrowed half's own lifetime is longer).
            let $h = self;
            let stream: &UnixStream = &$s;
            crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, async move {
                stream.readable().await
            })
        }
    };
}

macro_rules! write_methods {
    (|$h:ident| $s:expr) => {
        /// Writes some of `buf` (see [`UnixStream::write`]).
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
            // The stream alone, not the half: the future borrows no
            // more than `self` (a borrowed half's own lifetime is longer).
            let $h = self;
            let stream: &UnixStream = &$s;
            crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, ops::write(stream.io(), buf))
        }

        /// Writes all of `buf`.
        ///
        /// # Cancel safety
        ///
        /// Not cancel-safe: dropped part way, it has written an unknown prefix
        /// of `buf`. In a `select!` loop, write with `write` and keep the
        /// position, or finish the write in the handler (as the chat example
        /// does).
        #[track_caller]
        pub fn write_all<'w>(
            &'w mut self,
            buf: &'w [u8],
        ) -> impl std::future::Future<Output = io::Result<()>> + 'w {
            // The stream alone, not the half: the future borrows no
            // more than `self` (a borrowed half's own lifetime is longer).
            let $h = self;
            let stream: &UnixStream = &$s;
            crate::rt::task::wait::waiting(
                crate::rt::task::WaitKind::IoWrite,
                ops::write_all(stream.io(), buf),
            )
        }

        /// Writes without waiting (see [`UnixStream::try_write`]).
        pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            let $h = self;
            $s.try_write(buf)
        }

        /// Waits until the stream may be writable.
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe: readiness is not consumed by waiting for it.
        #[track_caller]
        pub fn writable(&self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
            // The stream alone, not the half: the future borrows no
            // more than `self` (a borrowed half's own lifetime is longer).
            let $h = self;
            let stream: &UnixStream = &$s;
            crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, async move {
                stream.writable().await
            })
        }
    };
}

macro_rules! impl_async_read {
    ($ty:ty, |$h:ident| $s:expr) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let $h = &*self;
                $s.io().poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                let $h = &*self;
                $s.io().poll_read_vectored(cx, bufs)
            }
        }
    };
}

macro_rules! impl_async_write {
    ($ty:ty, |$h:ident| $s:expr) => {
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                let $h = &*self;
                $s.io().poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let $h = &*self;
                $s.io().poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $h = &*self;
                Poll::Ready($s.shutdown(Shutdown::Write))
            }
        }
    };
}

impl ReadHalf<'_> {
    read_methods!(|h| h.0);
}

impl WriteHalf<'_> {
    write_methods!(|h| h.0);
}

impl OwnedReadHalf {
    /// Puts the stream back together from its two halves. Fails (handing
    /// both back) if they were split from different streams.
    pub fn reunite(self, mut other: OwnedWriteHalf) -> Result<UnixStream, ReuniteError> {
        if !Arc::ptr_eq(&self.inner, &other.inner) {
            return Err(ReuniteError(self, other));
        }
        other.shutdown_on_drop = false;
        drop(other);
        // The write half held the only other reference; it is gone.
        Arc::try_unwrap(self.inner).map_err(|inner| {
            let write = OwnedWriteHalf { inner: inner.clone(), shutdown_on_drop: false };
            ReuniteError(OwnedReadHalf { inner }, write)
        })
    }

    read_methods!(|h| h.inner);
}

impl OwnedWriteHalf {
    /// Puts the stream back together (see [`OwnedReadHalf::reunite`]).
    pub fn reunite(self, other: OwnedReadHalf) -> Result<UnixStream, ReuniteError> {
        other.reunite(self)
    }

    write_methods!(|h| h.inner);
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.shutdown(Shutdown::Write);
        }
    }
}

impl AsRef<UnixStream> for ReadHalf<'_> {
    fn as_ref(&self) -> &UnixStream {
        self.0
    }
}

impl AsRef<UnixStream> for WriteHalf<'_> {
    fn as_ref(&self) -> &UnixStream {
        self.0
    }
}

impl AsRef<UnixStream> for OwnedReadHalf {
    fn as_ref(&self) -> &UnixStream {
        &self.inner
    }
}

impl AsRef<UnixStream> for OwnedWriteHalf {
    fn as_ref(&self) -> &UnixStream {
        &self.inner
    }
}

impl_async_read!(ReadHalf<'_>, |h| h.0);
impl_async_write!(WriteHalf<'_>, |h| h.0);
impl_async_read!(OwnedReadHalf, |h| h.inner);
impl_async_write!(OwnedWriteHalf, |h| h.inner);

macro_rules! impl_debug {
    ($ty:ty, $name:literal, |$h:ident| $s:expr) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let $h = self;
                f.debug_tuple($name).field(&*$s).finish()
            }
        }
    };
}

impl_debug!(ReadHalf<'_>, "ReadHalf", |h| h.0);
impl_debug!(WriteHalf<'_>, "WriteHalf", |h| h.0);
impl_debug!(OwnedReadHalf, "OwnedReadHalf", |h| h.inner);
impl_debug!(OwnedWriteHalf, "OwnedWriteHalf", |h| h.inner);

impl fmt::Debug for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReuniteError").field(&self.0).field(&self.1).finish()
    }
}

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("weft: tried to reunite halves of two different UnixStreams")
    }
}

impl Error for ReuniteError {}
