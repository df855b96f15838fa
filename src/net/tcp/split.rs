//! Borrowed halves of a `TcpStream` (`TcpStream::split`), and the method
//! sets both kinds of halves share.

use super::stream::{self, TcpStream};
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Methods of a read half; `$s` turns `&self` into the `&TcpStream`.
macro_rules! read_half_methods {
    (|$this:ident| $s:expr) => {
        /// Reads into `buf` (see [`TcpStream::read`]).
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
            let $this = &*self;
            let stream: &TcpStream = &$s;
            crate::rt::task::wait::waiting(
                crate::rt::task::WaitKind::IoRead,
                crate::net::ops::read(stream.io(), buf),
            )
        }

        /// Fills `buf` exactly (see [`TcpStream::read_exact`]).
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
            let $this = &*self;
            let stream: &TcpStream = &$s;
            crate::rt::task::wait::waiting(
                crate::rt::task::WaitKind::IoRead,
                crate::net::ops::read_exact(stream.io(), buf),
            )
        }

        /// Receives data without consuming it (see [`TcpStream::peek`]).
        #[track_caller]
        pub fn peek<'w>(
            &'w mut self,
            buf: &'w mut [u8],
        ) -> impl std::future::Future<Output = io::Result<usize>> + 'w {
            // The stream alone, not the half: the future borrows no
            // more than `self` (a borrowed half's own lifetime is longer).
            let $this = &*self;
            let stream: &TcpStream = &$s;
            crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, async move {
                stream.peek(buf).await
            })
        }

        /// Waits until the stream may be readable.
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe: readiness is not consumed by waiting for it.
        #[track_caller]
        pub fn readable(&self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
            crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, async move {
                let $this = self;
                $s.readable().await
            })
        }

        /// Reads without waiting (see [`TcpStream::try_read`]).
        pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
            let $this = self;
            $s.try_read(buf)
        }

        /// The remote address.
        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            let $this = self;
            $s.peer_addr()
        }

        /// The local address.
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            let $this = self;
            $s.local_addr()
        }
    };
}

/// Methods of a write half; `$s` turns `&self` into the `&TcpStream`.
macro_rules! write_half_methods {
    (|$this:ident| $s:expr) => {
        /// Writes some of `buf` (see [`TcpStream::write`]).
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
            let $this = &*self;
            let stream: &TcpStream = &$s;
            crate::rt::task::wait::waiting(
                crate::rt::task::WaitKind::IoWrite,
                crate::net::ops::write(stream.io(), buf),
            )
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
            let $this = &*self;
            let stream: &TcpStream = &$s;
            crate::rt::task::wait::waiting(
                crate::rt::task::WaitKind::IoWrite,
                crate::net::ops::write_all(stream.io(), buf),
            )
        }

        /// Does nothing (see [`TcpStream::flush`]).
        #[track_caller]
        pub fn flush(&mut self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
            crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, async move { Ok(()) })
        }

        /// Waits until the stream may be writable.
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe: readiness is not consumed by waiting for it.
        #[track_caller]
        pub fn writable(&self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
            crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, async move {
                let $this = self;
                $s.writable().await
            })
        }

        /// Writes without waiting (see [`TcpStream::try_write`]).
        pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            let $this = self;
            $s.try_write(buf)
        }

        /// The remote address.
        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            let $this = self;
            $s.peer_addr()
        }

        /// The local address.
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            let $this = self;
            $s.local_addr()
        }
    };
}

/// `AsyncRead` for a read half type.
macro_rules! impl_async_read {
    ($ty:ty, |$this:ident| $s:expr) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                stream::poll_read($s, cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                stream::poll_read_vectored($s, cx, bufs)
            }
        }
    };
}

/// `AsyncWrite` for a write half type (`poll_close` shuts down the write
/// side).
macro_rules! impl_async_write {
    ($ty:ty, |$this:ident| $s:expr) => {
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                let $this = &*self;
                stream::poll_write($s, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                stream::poll_write_vectored($s, cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $this = &*self;
                stream::poll_close($s)
            }
        }
    };
}

pub(super) use {impl_async_read, impl_async_write, read_half_methods, write_half_methods};

/// The read half of a [`TcpStream`], borrowed from it by
/// [`TcpStream::split`] (which has an example).
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of a [`TcpStream`], borrowed from it by
/// [`TcpStream::split`]. Dropping it does not shut anything down; call
/// `poll_close` (through `futures_io::AsyncWrite`) or
/// [`TcpStream::shutdown`] for that. Example: [`TcpStream::split`].
pub struct WriteHalf<'a>(&'a TcpStream);

impl<'a> ReadHalf<'a> {
    pub(super) fn new(s: &'a TcpStream) -> Self {
        ReadHalf(s)
    }

    read_half_methods!(|h| h.0);
}

impl<'a> WriteHalf<'a> {
    pub(super) fn new(s: &'a TcpStream) -> Self {
        WriteHalf(s)
    }

    write_half_methods!(|h| h.0);
}

impl_async_read!(ReadHalf<'_>, |h| h.0);
impl_async_write!(WriteHalf<'_>, |h| h.0);

impl fmt::Debug for ReadHalf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReadHalf").field(self.0).finish()
    }
}

impl fmt::Debug for WriteHalf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WriteHalf").field(self.0).finish()
    }
}

impl AsRef<TcpStream> for ReadHalf<'_> {
    fn as_ref(&self) -> &TcpStream {
        self.0
    }
}

impl AsRef<TcpStream> for WriteHalf<'_> {
    fn as_ref(&self) -> &TcpStream {
        self.0
    }
}
