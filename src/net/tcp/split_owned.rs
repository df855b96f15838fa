//! Owned halves of a `TcpStream` (`TcpStream::into_split`): both hold the
//! stream through an `Arc`, so they can move to different tasks.

use super::split::{impl_async_read, impl_async_write, read_half_methods, write_half_methods};
use super::stream::{self, TcpStream};
use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The read half of a [`TcpStream`] made by [`TcpStream::into_split`]
/// (which has an example).
pub struct OwnedReadHalf {
    inner: Arc<TcpStream>,
}

/// The write half of a [`TcpStream`] made by [`TcpStream::into_split`].
///
/// Dropping it shuts down the write side of the connection (the peer reads
/// end-of-stream), unless it is being put back together with its read half
/// by [`OwnedReadHalf::reunite`]. Example: [`TcpStream::into_split`].
pub struct OwnedWriteHalf {
    inner: Arc<TcpStream>,
    shutdown_on_drop: bool,
}

pub(super) fn split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let inner = Arc::new(stream);
    (OwnedReadHalf { inner: inner.clone() }, OwnedWriteHalf { inner, shutdown_on_drop: true })
}

/// The error of [`OwnedReadHalf::reunite`] when the two halves come from
/// different streams; it hands both back.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let a = weft::net::TcpStream::connect(addr).await.unwrap();
///     let b = weft::net::TcpStream::connect(addr).await.unwrap();
///     let (a_rd, a_wr) = a.into_split();
///     let (b_rd, b_wr) = b.into_split();
///     // Halves of different streams do not fit; both come back.
///     let weft::net::tcp::ReuniteError(a_rd, b_wr) = a_rd.reunite(b_wr).unwrap_err();
///     assert!(a_rd.reunite(a_wr).is_ok());
///     assert!(b_wr.reunite(b_rd).is_ok());
/// });
/// ```
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Debug for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReuniteError").field(&self.0).field(&self.1).finish()
    }
}

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("weft: tried to reunite halves of two different TcpStreams")
    }
}

impl Error for ReuniteError {}

impl OwnedReadHalf {
    /// Puts the stream back together from its two halves. Fails (handing
    /// both back) if they were split from different streams.
    pub fn reunite(self, mut other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.inner, &other.inner) {
            return Err(ReuniteError(self, other));
        }
        other.shutdown_on_drop = false;
        drop(other);
        // The two halves held the only two references and the write half is
        // gone, so this cannot fail; keep the error path panic-free anyway.
        let OwnedReadHalf { inner } = self;
        Arc::try_unwrap(inner).map_err(|inner| {
            let write = OwnedWriteHalf { inner: inner.clone(), shutdown_on_drop: false };
            ReuniteError(OwnedReadHalf { inner }, write)
        })
    }

    read_half_methods!(|h| h.inner);
}

impl OwnedWriteHalf {
    /// Puts the stream back together (see [`OwnedReadHalf::reunite`]).
    pub fn reunite(self, other: OwnedReadHalf) -> Result<TcpStream, ReuniteError> {
        other.reunite(self)
    }

    write_half_methods!(|h| h.inner);
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may already be gone (NotConnected): nothing to do.
            let _ = self.inner.shutdown(Shutdown::Write);
        }
    }
}

impl_async_read!(OwnedReadHalf, |h| &h.inner);
impl_async_write!(OwnedWriteHalf, |h| &h.inner);

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedReadHalf").field("stream", &*self.inner).finish()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedWriteHalf").field("stream", &*self.inner).finish()
    }
}

impl AsRef<TcpStream> for OwnedReadHalf {
    fn as_ref(&self) -> &TcpStream {
        &self.inner
    }
}

impl AsRef<TcpStream> for OwnedWriteHalf {
    fn as_ref(&self) -> &TcpStream {
        &self.inner
    }
}
