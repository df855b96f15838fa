//! `Listener`: what [`serve`](super::serve) accepts connections from.

#[cfg(unix)]
use crate::net::{unix, UnixListener, UnixStream};
use crate::net::{TcpListener, TcpStream};
use std::future::Future;
use std::io;

/// A source of connections for [`serve`](super::serve): weft's
/// [`TcpListener`] and [`UnixListener`], or your own (a TLS acceptor, a
/// listener with a connection limit, a test double).
///
/// An error from [`accept`](Listener::accept) never stops the server:
/// errors that belong to one connection (`ConnectionAborted`,
/// `ConnectionReset`, `ConnectionRefused`) are skipped at once; any other
/// (`EMFILE` and `ENFILE` when out of file descriptors, `ENOBUFS`) is
/// logged and accepting resumes after a back-off that doubles from 5 ms up
/// to 1 s while the errors last.
pub trait Listener: Send + 'static {
    /// The connection type; hyper reads and writes it.
    type Io: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static;
    /// The peer's address.
    type Addr: Send + 'static;

    /// Waits for the next connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send;
}

/// Accepted connections get `TCP_NODELAY`: hyper writes whole messages,
/// and Nagle's algorithm would hold back the tail of a response (or an
/// HTTP/2 frame) until the peer's delayed ACK.
impl Listener for TcpListener {
    type Io = TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> io::Result<(TcpStream, std::net::SocketAddr)> {
        let (stream, addr) = TcpListener::accept(self).await?;
        // A failure leaves Nagle on, which only costs latency.
        let _ = stream.set_nodelay(true);
        Ok((stream, addr))
    }
}

#[cfg(unix)]
impl Listener for UnixListener {
    type Io = UnixStream;
    type Addr = unix::SocketAddr;

    fn accept(&mut self) -> impl Future<Output = io::Result<(UnixStream, unix::SocketAddr)>> + Send {
        UnixListener::accept(self)
    }
}
