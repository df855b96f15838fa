//! `UdpSocket`: datagrams on the netpoller.

use super::ops;
use crate::rt::netpoll::{Direction, PollEvented};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll};

/// A UDP socket.
///
/// Unconnected, it sends with [`send_to`](UdpSocket::send_to) and receives
/// with [`recv_from`](UdpSocket::recv_from); after
/// [`connect`](UdpSocket::connect) it can use [`send`](UdpSocket::send) and
/// [`recv`](UdpSocket::recv), and the kernel drops datagrams from other
/// peers. All methods take `&self`: share the socket in an `Arc` to send
/// and receive from different tasks.
///
/// ```
/// use weft::net::UdpSocket;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     // Unconnected: address every datagram.
///     client.send_to(b"ping", server.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = server.recv_from(&mut buf).await.unwrap();
///     assert_eq!((&buf[..n], from), (&b"ping"[..], client.local_addr().unwrap()));
///     // Connected: send/recv to and from one peer.
///     server.connect(from).await.unwrap();
///     server.send(b"pong").await.unwrap();
///     let n = client.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"pong");
/// });
/// ```
pub struct UdpSocket {
    io: PollEvented<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr`, trying each address it resolves to until
    /// one succeeds (the last error otherwise). Errors if called outside a
    /// runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        ops::each_addr(addr, |a| async move { UdpSocket::new(mio::net::UdpSocket::bind(a)?) }).await
    }

    fn new(socket: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket { io: PollEvented::new(socket)? })
    }

    /// Wraps a standard-library socket, switching it to non-blocking mode.
    /// Errors if called outside a runtime.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        UdpSocket::new(mio::net::UdpSocket::from_std(socket))
    }

    /// Deregisters the socket and returns it as a standard-library socket
    /// (still in non-blocking mode).
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.io.into_inner().map(std::net::UdpSocket::from)
    }

    /// Sets the default peer: `send` goes there and only its datagrams are
    /// received. Tries each address `addr` resolves to until one succeeds.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        ops::each_addr(addr, |a| async move { self.io.get_ref().connect(a) }).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address (`NotConnected` if none).
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

    /// Sends without waiting (`WouldBlock` if not known writable).
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Receives one datagram from the connected peer into `buf`; a datagram
    /// longer than `buf` is truncated.
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

    /// Polls to receive one datagram from the connected peer.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv(buf))
    }

    /// Receives without waiting (`WouldBlock` if nothing is known queued).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Sends `buf` as one datagram to `target` (its first resolved address).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a datagram is sent whole, in the poll that returns; a
    /// dropped send sent nothing.
    #[track_caller]
    pub fn send_to<'w, A: ToSocketAddrs>(
        &'w self,
        buf: &'w [u8],
        target: A,
    ) -> impl std::future::Future<Output = io::Result<usize>> + use<'w, A> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, async move {
            let target = ops::resolve(target)?[0];
            poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
        })
    }

    /// Polls to send `buf` to `target`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |s| s.send_to(buf, target))
    }

    /// Sends to `target` without waiting.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send_to(buf, target))
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
            poll_fn(|cx| self.poll_recv_from(cx, buf)).await
        })
    }

    /// Polls to receive one datagram and its sender's address.
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let a = weft::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = weft::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let to = b.local_addr().unwrap();
    ///     poll_fn(|cx| a.poll_send_to(cx, b"x", to)).await.unwrap();
    ///     let mut buf = [0; 4];
    ///     let (n, from) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await.unwrap();
    ///     assert_eq!((n, from), (1, a.local_addr().unwrap()));
    /// });
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Receives with its sender's address without waiting.
    ///
    /// ```
    /// use std::io::ErrorKind;
    ///
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let a = weft::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = weft::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let mut buf = [0; 4];
    ///     assert_eq!(b.try_recv_from(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     a.try_send_to(b"x", b.local_addr().unwrap()).unwrap();
    ///     let (n, _) = loop {
    ///         b.readable().await.unwrap();
    ///         match b.try_recv_from(&mut buf) {
    ///             Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///             other => break other.unwrap(),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"x");
    /// });
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| s.recv_from(buf))
    }

    /// Receives the next datagram without removing it from the queue.
    #[track_caller]
    pub fn peek_from<'w>(
        &'w self,
        buf: &'w mut [u8],
    ) -> impl std::future::Future<Output = io::Result<(usize, SocketAddr)>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, async move {
            self.io.async_io(Direction::Read, |s| s.peek_from(buf)).await
        })
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

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets the IP time-to-live.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket").field("local_addr", &self.local_addr().ok()).finish()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for UdpSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
