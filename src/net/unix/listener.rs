//! `UnixListener`: accepts Unix stream connections on the netpoller.

use super::{SocketAddr, UnixStream};
use crate::rt::netpoll::{Direction, PollEvented};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::task::{ready, Context, Poll};

/// A Unix domain socket listening for stream connections.
///
/// Binding creates the socket file; dropping the listener does not remove
/// it (remove it yourself if the path is to be reused).
///
/// ```
/// use weft::net::{UnixListener, UnixStream};
///
/// let path = std::env::temp_dir().join(format!("weft-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path); // left over from an aborted run
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let listener = UnixListener::bind(&path).unwrap();
///     let mut client = UnixStream::connect(&path).await.unwrap();
///     let (mut server, _) = listener.accept().await.unwrap();
///     client.write_all(b"hi").await.unwrap();
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"hi");
/// });
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds a listener to the socket file `path`. Errors if the path
    /// exists, or if called outside a runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        UnixListener::new(mio::net::UnixListener::bind(path)?).inspect_err(|_| {
            // We created the socket file a moment ago; don't leave it behind.
            let _ = std::fs::remove_file(path);
        })
    }

    fn new(listener: mio::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener { io: PollEvented::new_with_interest(listener, mio::Interest::READABLE)? })
    }

    /// Wraps a standard-library listener, switching it to non-blocking mode.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::new(mio::net::UnixListener::from_std(listener))
    }

    /// Deregisters the listener and returns it as a standard-library
    /// listener (still in non-blocking mode).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        self.io.into_inner().map(std::os::unix::net::UnixListener::from)
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a connection leaves the listener's queue only in the poll
    /// that returns it; if `accept` loses a `select!`, the next `accept`
    /// returns it.
    #[track_caller]
    pub fn accept(&self) -> impl std::future::Future<Output = io::Result<(UnixStream, SocketAddr)>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Accept, async move {
            poll_fn(|cx| self.poll_accept(cx)).await
        })
    }

    /// Polls for a connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (sock, addr) = ready!(self.io.poll_io(cx, Direction::Read, |l| l.accept()))?;
        Poll::Ready(UnixStream::from_mio(sock).map(|s| (s, addr)))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener").field("local_addr", &self.local_addr().ok()).finish()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
