//! Networking on the runtime's netpoller: TCP, UDP and (on Unix) Unix
//! domain sockets.
//!
//! Every type here wraps a non-blocking socket registered with the netpoller
//! of the runtime it was created in. An operation that would block parks
//! the task until the netpoller reports the socket ready, so thousands of
//! connections share a handful of worker threads.
//!
//! Rules common to all types:
//!
//! - Create them inside a runtime (in a task, in `block_on`, or under
//!   `Handle::enter`); elsewhere the constructors return an error.
//! - Reads and writes wait separately: one task may wait to read while
//!   another waits to write on the same socket (see the `split` methods).
//! - Once the runtime that owns a socket has shut down, every operation on
//!   it returns an error instead of waiting forever.
//! - Address arguments accept anything `std::net::ToSocketAddrs` accepts.
//!   Resolving a host name calls the system resolver and blocks the worker
//!   while it runs; pass IP addresses on latency-sensitive paths.
//! - With the `tokio-io` feature, the stream types and their halves also
//!   implement `tokio::io::AsyncRead` and `AsyncWrite` (besides
//!   `futures_io`'s), so crates written against tokio's I/O traits take
//!   them as they are.
//! - Every ready operation spends one unit of the task's cooperative budget,
//!   so a task looping over an always-ready socket still lets others run.
//!
//! ```
//! use weft::net::{TcpListener, TcpStream};
//!
//! let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let server = weft::spawn(async move {
//!         let (mut sock, _) = listener.accept().await.unwrap();
//!         let mut buf = [0; 5];
//!         sock.read_exact(&mut buf).await.unwrap();
//!         sock.write_all(&buf).await.unwrap();
//!     });
//!     let mut client = TcpStream::connect(addr).await.unwrap();
//!     client.write_all(b"hello").await.unwrap();
//!     let mut echo = [0; 5];
//!     client.read_exact(&mut echo).await.unwrap();
//!     assert_eq!(&echo, b"hello");
//!     server.await.unwrap();
//! });
//! ```

mod ops;
pub mod tcp;
#[cfg(feature = "tokio-io")]
mod tokio_io;
mod udp;
#[cfg(unix)]
pub mod unix;

pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};
