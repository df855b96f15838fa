//! `UnixDatagram`: Unix domain datagram sockets on the netpoller.

use super::SocketAddr;
use crate::net::ops;
use crate::rt::netpoll::{Direction, PollEvented};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::task::{Context, Poll};

/// A Unix domain datagram socket.
///
/// All methods take `&self`; share it in an `Arc` to send and receive from
/// different tasks.
///
/// ```
/// use weft::net::UnixDatagram;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     a.send(b"one datagram").await.unwrap();
///     let mut buf = [0; 64];
///     let n = b.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"one datagram");
///
///     // Bound to a path, reached from an unbound socket.
///     let path = std::env::temp_dir().join(format!("weft-doc-dgram-{}.sock", std::process::id()));
///     let _ = std::fs::remove_file(&path); // left over from an aborted run
///     let server = UnixDatagram::bind(&path).unwrap();
///     let client = UnixDatagram::unbound().unwrap();
///     client.send_to(b"hello", &path).await.unwrap();
///     let (n, _from) = server.recv_from(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"hello");
///     std::fs::remove_file(&path).unwrap();
/// });
/// ```
pub struct UnixDatagram {
    io: PollEvented<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds a socket to the socket file `path`.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        UnixDatagram::new(mio::net::UnixDatagram::bind(path)?).inspect_err(|_| {
            // We created the socket file a moment ago; don't leave it behind.
            let _ = std::fs::remove_file(path);
        })
    }

    /// A socket bound to no address (it can send, and receive replies only
    /// after `connect`).
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::new(mio::net::UnixDatagram::unbound()?)
    }

    /// A pair of connected, unnamed sockets.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::new(a)?, UnixDatagram::new(b)?))
    }

    fn new(socket: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { io: PollEvented::new(socket)? })
    }

    /// Wraps a standard-library socket, switching it to non-blocking mode.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::new(mio::net::UnixDatagram::from_std(socket))
    }

    /// Deregisters the socket and returns it as a standard-library socket
    /// (still in non-blocking mode).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.io.into_inner().map(std::os::unix::net::UnixDatagram::from)
    }

    /// Sets the default peer: `send` goes there and only its datagrams are
    /// received.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sends `buf` as one datagram to the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a datagram is sent whole, in the poll that returns; a
    /// dropped send sent nothing.
    #[track_caller]
    pub fn send<'w>(&'w self, buf: &'w [u8]) -> impl std::future::Future<Output = io::Result<usize>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, async move {
            poll_fn(|cx| self.poll_send(cx, buf)).await
        })
    }

    /// Polls to send `buf` to the connected peer.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |s| s.send(buf))
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a datagram is taken from the socket only in the poll that
    /// returns it.
    #[track_caller]
    pub fn recv<'w>(
        &'w self,
        buf: &'w mut [u8],
    ) -> impl std::future::Future<Output = io::Result<usize>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, async move {
            poll_fn(|cx| self.poll_recv(cx, buf)).await
        })
    }

    /// Polls to receive one datagram.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv(buf))
    }

    /// Sends `buf` as one datagram to the socket file `path`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a datagram is sent whole, in the poll that returns; a
    /// dropped send sent nothing.
    #[track_caller]
    pub fn send_to<'w, P: AsRef<Path>>(
        &'w self,
        buf: &'w [u8],
        path: P,
    ) -> impl std::future::Future<Output = io::Result<usize>> + use<'w, P> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, async move {
            let path = path.as_ref();
            self.io.async_io(Direction::Write, |s| s.send_to(buf, path)).await
        })
    }

    /// Receives one datagram and its sender's address.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a datagram is taken from the socket only in the poll that
    /// returns it.
    #[track_caller]
    pub fn recv_from<'w>(
        &'w self,
        buf: &'w mut [u8],
    ) -> impl std::future::Future<Output = io::Result<(usize, SocketAddr)>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, async move {
            self.io.async_io(Direction::Read, |s| s.recv_from(buf)).await
        })
    }

    /// Sends without waiting (`WouldBlock` if not known writable).
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Receives without waiting (`WouldBlock` if nothing is known queued).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Waits until the socket may be readable (the wake-up can be spurious).
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

    /// Waits until the socket may be writable (the wake-up can be spurious).
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

    /// Shuts down the read side, the write side, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram").field("local_addr", &self.local_addr().ok()).finish()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
