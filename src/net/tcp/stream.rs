//! `TcpStream`: a connected TCP socket on the netpoller.

use super::split::{ReadHalf, WriteHalf};
use super::split_owned::{OwnedReadHalf, OwnedWriteHalf};
use crate::net::ops;
use crate::rt::netpoll::{Direction, PollEvented};
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A TCP connection.
///
/// Read with the inherent `async` methods ([`read`](TcpStream::read),
/// [`read_exact`](TcpStream::read_exact), ...) or through
/// `futures_io::AsyncRead`/`AsyncWrite`, which are implemented for the
/// stream, for `&TcpStream`, and for the halves of [`split`](TcpStream::split)
/// and [`into_split`](TcpStream::into_split).
///
/// Dropping the stream deregisters it from the netpoller and closes it.
///
/// ```
/// use std::net::Shutdown;
/// use weft::net::{TcpListener, TcpStream};
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     // The server upper-cases everything until the client closes its side.
///     weft::spawn(async move {
///         let (mut sock, _) = listener.accept().await.unwrap();
///         let mut buf = [0; 1024];
///         loop {
///             let n = sock.read(&mut buf).await.unwrap();
///             if n == 0 {
///                 break;
///             }
///             sock.write_all(&buf[..n].to_ascii_uppercase()).await.unwrap();
///         }
///     });
///     let mut client = TcpStream::connect(addr).await.unwrap();
///     client.set_nodelay(true).unwrap();
///     client.write_all(b"weft").await.unwrap();
///     client.shutdown(Shutdown::Write).unwrap(); // FIN: the server's read returns 0
///     let mut reply = Vec::new();
///     let mut buf = [0; 16];
///     loop {
///         let n = client.read(&mut buf).await.unwrap();
///         if n == 0 {
///             break;
///         }
///         reply.extend_from_slice(&buf[..n]);
///     }
///     assert_eq!(reply, b"WEFT");
/// });
/// ```
pub struct TcpStream {
    io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
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

    /// Opens a connection to `addr`, trying each address it resolves to
    /// until one connects (the last error otherwise).
    ///
    /// The connect is non-blocking: the task waits on the netpoller until
    /// the kernel reports the outcome. A port with no listener gives
    /// `ErrorKind::ConnectionRefused`. Errors if called outside a runtime.
    ///
    /// ```
    /// use std::io::ErrorKind;
    ///
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let stream = weft::net::TcpStream::connect(addr).await.unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap(), addr);
    ///     drop(listener);
    ///     // Nobody listens on the port any more.
    ///     let err = weft::net::TcpStream::connect(addr).await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    /// });
    /// ```
    #[track_caller]
    pub fn connect(addr: impl ToSocketAddrs) -> impl std::future::Future<Output = io::Result<TcpStream>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Connect, async move {
            ops::each_addr(addr, TcpStream::connect_one).await
        })
    }

    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::armed(PollEvented::new_connecting(mio::net::TcpStream::connect(addr)?)?);
        ops::finish_connect(&stream.io, |s| s.take_error(), |s| s.peer_addr().map(drop)).await?;
        Ok(stream)
    }

    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream::armed(PollEvented::new(stream)?))
    }

    /// Every TCP stream's reads may switch to TCP_INQ (see
    /// `rt::netpoll::inq`).
    fn armed(#[allow(unused_mut)] mut io: PollEvented<mio::net::TcpStream>) -> TcpStream {
        #[cfg(target_os = "linux")]
        io.arm_tcp_inq();
        TcpStream { io }
    }

    pub(super) fn io(&self) -> &PollEvented<mio::net::TcpStream> {
        &self.io
    }

    /// Wraps a connected standard-library stream, switching it to
    /// non-blocking mode. Errors if called outside a runtime.
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let mut stream = weft::net::TcpStream::from_std(std_stream).unwrap();
    ///     stream.write_all(b"from weft").await.unwrap();
    ///     let back: std::net::TcpStream = stream.into_std().unwrap();
    ///     back.set_nonblocking(false).unwrap();
    /// });
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// Deregisters the stream and returns it as a standard-library stream.
    /// It stays in non-blocking mode; call `set_nonblocking(false)` to use
    /// it with blocking calls.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.io.into_inner().map(std::net::TcpStream::from)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when true).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
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

    /// Shuts down the read side, the write side, or both. Shutting down the
    /// write side sends FIN: the peer reads end-of-stream.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Reads into `buf`, waiting until some data arrives. `Ok(0)` means the
    /// peer closed its write side (or `buf` is empty).
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

    /// Fills `buf` exactly, or returns `ErrorKind::UnexpectedEof` if the peer
    /// closes first (how much was read is then unspecified).
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

    /// Writes some of `buf`, waiting until the socket accepts data; returns
    /// how many bytes were written.
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

    /// Does nothing: a TCP stream has no user-space buffer. Present so code
    /// written against buffered writers reads naturally.
    #[track_caller]
    pub fn flush(&mut self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, async move { Ok(()) })
    }

    /// Receives data into `buf` without removing it from the socket's queue.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let mut client = weft::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (mut server, _) = listener.accept().await.unwrap();
    ///     client.write_all(b"GET /").await.unwrap();
    ///     let mut head = [0; 3];
    ///     let n = server.peek(&mut head).await.unwrap();
    ///     assert_eq!(&head[..n], &b"GET"[..n]);
    ///     let mut all = [0; 5];
    ///     server.read_exact(&mut all).await.unwrap(); // the peeked bytes are still there
    ///     assert_eq!(&all, b"GET /");
    /// });
    /// ```
    #[track_caller]
    pub fn peek<'w>(
        &'w self,
        buf: &'w mut [u8],
    ) -> impl std::future::Future<Output = io::Result<usize>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, async move {
            self.io.async_io(Direction::Read, |s| s.peek(buf)).await
        })
    }

    /// Waits until the stream may be readable. The wake-up can be spurious:
    /// a following [`try_read`](TcpStream::try_read) may still return
    /// `WouldBlock`.
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

    /// Waits until the stream may be writable (see
    /// [`readable`](TcpStream::readable) about spurious wake-ups).
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

    /// Reads without waiting: `ErrorKind::WouldBlock` if no data is known to
    /// be available.
    ///
    /// ```
    /// use std::io::ErrorKind;
    ///
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let client = weft::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (server, _) = listener.accept().await.unwrap();
    ///     let mut buf = [0; 16];
    ///     assert_eq!(server.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     client.writable().await.unwrap();
    ///     assert_eq!(client.try_write(b"ping").unwrap(), 4);
    ///     // Wait for readiness, then read without blocking; retry on WouldBlock.
    ///     let n = loop {
    ///         server.readable().await.unwrap();
    ///         match server.try_read(&mut buf) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///             Err(e) => panic!("{e}"),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"ping");
    /// });
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        use std::io::Read;
        self.io.try_io(Direction::Read, |mut s| s.read(buf))
    }

    /// Writes without waiting: `ErrorKind::WouldBlock` if the socket is not
    /// known to be writable.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        use std::io::Write;
        self.io.try_io(Direction::Write, |mut s| s.write(buf))
    }

    /// Splits the stream into a read half and a write half that borrow it,
    /// so one task can read while another writes (for example with a
    /// `join` of two futures).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let mut client = weft::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (mut server, _) = listener.accept().await.unwrap();
    ///     let (mut rd, mut wr) = server.split();
    ///     client.write_all(b"abc").await.unwrap();
    ///     let mut buf = [0; 3];
    ///     rd.read_exact(&mut buf).await.unwrap();
    ///     wr.write_all(&buf).await.unwrap(); // echo through the other half
    ///     let mut echo = [0; 3];
    ///     client.read_exact(&mut echo).await.unwrap();
    ///     assert_eq!(&echo, b"abc");
    /// });
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf::new(self), WriteHalf::new(self))
    }

    /// Splits the stream into owned halves that can move to different
    /// tasks. Dropping the write half shuts down the write side; the two
    /// halves can be put back together with
    /// [`OwnedReadHalf::reunite`].
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let client = weft::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (mut server, _) = listener.accept().await.unwrap();
    ///     let (mut rd, mut wr) = client.into_split();
    ///     // The halves live in different tasks.
    ///     let writer = weft::spawn(async move {
    ///         wr.write_all(b"hello").await.unwrap();
    ///         wr // dropping it would shut down the write side
    ///     });
    ///     let mut buf = [0; 5];
    ///     server.read_exact(&mut buf).await.unwrap();
    ///     server.write_all(b"world").await.unwrap();
    ///     rd.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"world");
    ///     let wr = writer.await.unwrap();
    ///     let _client: weft::net::TcpStream = rd.reunite(wr).unwrap();
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        super::split_owned::split(self)
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

// The poll functions below are shared by the stream, `&TcpStream` and the
// halves.

pub(super) fn poll_read(s: &TcpStream, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
    s.io.poll_read(cx, buf)
}

pub(super) fn poll_read_vectored(
    s: &TcpStream,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
) -> Poll<io::Result<usize>> {
    s.io.poll_read_vectored(cx, bufs)
}

pub(super) fn poll_write(s: &TcpStream, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    s.io.poll_write(cx, buf)
}

pub(super) fn poll_write_vectored(
    s: &TcpStream,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    s.io.poll_write_vectored(cx, bufs)
}

pub(super) fn poll_close(s: &TcpStream) -> Poll<io::Result<()>> {
    Poll::Ready(s.shutdown(Shutdown::Write))
}

macro_rules! impl_async_io {
    ($ty:ty) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                poll_read(&self, cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                poll_read_vectored(&self, cx, bufs)
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                poll_write(&self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                poll_write_vectored(&self, cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts down the write side (the peer reads end-of-stream).
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                poll_close(&self)
            }
        }
    };
}

impl_async_io!(TcpStream);
impl_async_io!(&TcpStream);

#[cfg(unix)]
impl std::os::fd::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for TcpStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

#[cfg(all(test, not(loom), target_os = "linux"))]
mod inq_tests {
    use super::*;
    use std::future::poll_fn;

    fn read_ready(s: &TcpStream) -> bool {
        s.io.registration().is_ready(Direction::Read)
    }

    /// Reads until `buf` is full, waiting on the netpoller in between.
    async fn fill(s: &TcpStream, buf: &mut [u8]) {
        let mut got = 0;
        while got < buf.len() {
            let n = poll_fn(|cx| s.io.poll_read(cx, &mut buf[got..])).await.unwrap();
            assert_ne!(n, 0, "unexpected end of stream");
            got += n;
        }
    }

    #[test]
    fn a_read_that_empties_the_socket_clears_readable_and_the_next_message_still_wakes() {
        let rt = crate::Runtime::builder().worker_threads(1).build().unwrap();
        rt.block_on(async {
            let listener = crate::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 8];
            // The pattern that switches TCP_INQ on: a read that fills its
            // buffer, then one that finds nothing (polled once: Pending).
            client.write_all(&[1; 8]).await.unwrap();
            fill(&server, &mut buf).await;
            let pending = poll_fn(|cx| Poll::Ready(server.io.poll_read(cx, &mut buf).is_pending())).await;
            assert!(pending, "nothing was sent: the read must wait");
            assert!(server.io.reads_with_inq(), "full read then WouldBlock switches the option on");

            // A read that takes everything: readable is cleared by the
            // kernel's count, with no WouldBlock read.
            client.write_all(&[2; 8]).await.unwrap();
            fill(&server, &mut buf).await;
            assert_eq!(buf, [2; 8]);
            assert!(!read_ready(&server), "the kernel said the queue is empty");

            // The next message brings its own edge: the read waits and wakes.
            client.write_all(&[3; 8]).await.unwrap();
            fill(&server, &mut buf).await;
            assert_eq!(buf, [3; 8]);

            // A read that leaves bytes behind keeps readable (one send of
            // 16 bytes on loopback is one segment: all of it is queued
            // when the first read runs).
            client.write_all(&[4; 16]).await.unwrap();
            let mut both = [0u8; 16];
            fill(&server, &mut both[..8]).await;
            assert!(read_ready(&server), "the kernel said 8 bytes are left");
            fill(&server, &mut both[8..]).await;
            assert_eq!(both, [4; 16]);
            assert!(!read_ready(&server));

            // End of stream is still read as 0.
            drop(client);
            let n = poll_fn(|cx| server.io.poll_read(cx, &mut buf)).await.unwrap();
            assert_eq!(n, 0);
        });
    }
}
