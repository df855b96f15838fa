//! `TcpListener`: accepts connections on the netpoller.

use super::TcpStream;
use crate::net::ops;
use crate::rt::netpoll::{Direction, PollEvented};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{ready, Context, Poll};

/// A TCP socket listening for connections.
///
/// Accepting waits on the netpoller; an error from the kernel (for example
/// `EMFILE` when the process is out of file descriptors) is returned from
/// [`accept`](TcpListener::accept) and leaves the listener usable: the
/// pending connection stays queued and a later `accept` takes it once the
/// cause is gone.
///
/// ```
/// use weft::net::{TcpListener, TcpStream};
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     // An accept loop: one task per connection.
///     let server = weft::spawn(async move {
///         for _ in 0..3 {
///             let (mut sock, _peer) = listener.accept().await.unwrap();
///             weft::spawn(async move { sock.write_all(b"hi").await.unwrap() });
///         }
///     });
///     for _ in 0..3 {
///         let mut client = TcpStream::connect(addr).await.unwrap();
///         let mut buf = [0; 2];
///         client.read_exact(&mut buf).await.unwrap();
///         assert_eq!(&buf, b"hi");
///     }
///     server.await.unwrap();
/// });
/// ```
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds a listener to `addr`, trying each address it resolves to until
    /// one succeeds (the last error otherwise). The socket has
    /// `SO_REUSEADDR` set on Unix, so a server can restart on a port that
    /// still has connections in `TIME_WAIT`. The accept queue holds up to
    /// [`BACKLOG`](TcpListener::BACKLOG) connections (the kernel may cap it
    /// lower, e.g. Linux at `net.core.somaxconn`).
    ///
    /// Errors if called outside a runtime.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     // Port 0: the kernel picks a free port; `local_addr` tells which.
    ///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert_ne!(listener.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        ops::each_addr(addr, |a| async move {
            let listener = mio::net::TcpListener::bind(a)?;
            set_backlog(&listener)?;
            TcpListener::new(listener)
        })
        .await
    }

    /// The accept-queue length [`bind`](TcpListener::bind) asks for.
    /// (mio and std ask for 128: a burst of more simultaneous connects than
    /// that overflows the queue, and the kernel drops the extra SYNs, which
    /// the clients retry only after a one-second timeout.)
    pub const BACKLOG: i32 = 1024;

    fn new(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener { io: PollEvented::new_with_interest(listener, mio::Interest::READABLE)? })
    }

    /// Wraps a listener from the standard library, switching it to
    /// non-blocking mode. Errors if called outside a runtime.
    ///
    /// ```
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let listener = weft::net::TcpListener::from_std(std_listener).unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let back: std::net::TcpListener = listener.into_std().unwrap();
    ///     assert_eq!(back.local_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::new(mio::net::TcpListener::from_std(listener))
    }

    /// Deregisters the listener and returns it as a standard-library
    /// listener. It stays in non-blocking mode; call `set_nonblocking(false)`
    /// to use it with blocking calls.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.io.into_inner().map(std::net::TcpListener::from)
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// A failed accept (out of file descriptors, out of memory) returns the
    /// error and leaves the connection queued, so calling `accept` again at
    /// once fails again until the cause is gone: a server loop should back
    /// off (sleep, or close idle connections) before retrying.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a connection leaves the listener's queue only in the poll
    /// that returns it; if `accept` loses a `select!`, the next `accept`
    /// returns it.
    #[track_caller]
    pub fn accept(&self) -> impl std::future::Future<Output = io::Result<(TcpStream, SocketAddr)>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Accept, async move {
            poll_fn(|cx| self.poll_accept(cx)).await
        })
    }

    /// Polls for a connection: `Pending` (with `cx` woken later) if none is
    /// queued yet.
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let client = weft::spawn(async move { weft::net::TcpStream::connect(addr).await.unwrap() });
    ///     let (_sock, peer) = poll_fn(|cx| listener.poll_accept(cx)).await.unwrap();
    ///     assert_eq!(peer, client.await.unwrap().local_addr().unwrap());
    /// });
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (sock, addr) = ready!(self.io.poll_io(cx, Direction::Read, |l| l.accept()))?;
        // If registering fails the accepted socket is dropped (closed) here.
        Poll::Ready(TcpStream::from_mio(sock).map(|s| (s, addr)))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets the IP time-to-live of the listener's socket.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of the listener's socket.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

/// Calls `listen` again with [`TcpListener::BACKLOG`]: on a listening
/// socket this only changes the queue length.
#[cfg(unix)]
fn set_backlog(listener: &mio::net::TcpListener) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `listen` takes a file descriptor and an int; the fd is open
    // (borrowed from `listener` for the duration of the call).
    let rc = unsafe { libc::listen(listener.as_raw_fd(), TcpListener::BACKLOG) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn set_backlog(_listener: &mio::net::TcpListener) -> io::Result<()> {
    Ok(())
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener").field("local_addr", &self.local_addr().ok()).finish()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for TcpListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
