//! Operations shared by the socket types: the read/write loops built on
//! `PollEvented`, address resolution, and the connect hand-shake.

use crate::rt::netpoll::scheduled_io::{ERROR, READ_CLOSED, WRITE_CLOSED};
use crate::rt::netpoll::{Direction, PollEvented};
use mio::event::Source;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{ready, Poll};

/// Resolves `addr` to a list of socket addresses (an error if it resolves
/// to none).
pub(crate) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "weft: address resolved to no socket address",
        ));
    }
    Ok(addrs)
}

/// Tries `f` on each address of `addr` in turn; the first success, or the
/// last error.
pub(crate) async fn each_addr<T, F, Fut>(addr: impl ToSocketAddrs, mut f: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in resolve(addr)? {
        match f(a).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "weft: no address to try")))
}

// The four stream operations below are single `poll_fn` loops rather
// than `async fn`s awaiting one another: each poll of a nested `async fn`
// re-enters every layer's state machine, and these futures are polled on
// every read and write of every stream. Callers wrap them in
// `task::wait::waiting` directly.

/// Reads into `buf` once the socket is readable (an empty `buf` reads
/// nothing at once rather than waiting for data it could not take).
pub(crate) fn read<'a, E: Source>(
    io: &'a PollEvented<E>,
    buf: &'a mut [u8],
) -> impl std::future::Future<Output = io::Result<usize>> + 'a
where
    for<'b> &'b E: Read + Write,
{
    poll_fn(move |cx| if buf.is_empty() { Poll::Ready(Ok(0)) } else { io.poll_read(cx, buf) })
}

/// Fills `buf` exactly; `UnexpectedEof` if the peer closes first.
pub(crate) fn read_exact<'a, E: Source>(
    io: &'a PollEvented<E>,
    buf: &'a mut [u8],
) -> impl std::future::Future<Output = io::Result<()>> + 'a
where
    for<'b> &'b E: Read + Write,
{
    let mut filled = 0;
    poll_fn(move |cx| {
        while filled < buf.len() {
            match ready!(io.poll_read(cx, &mut buf[filled..])) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "weft: peer closed the stream before the buffer was filled",
                    )))
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    })
}

/// Writes from `buf` once the socket is writable (an empty `buf` writes
/// nothing at once).
pub(crate) fn write<'a, E: Source>(
    io: &'a PollEvented<E>,
    buf: &'a [u8],
) -> impl std::future::Future<Output = io::Result<usize>> + 'a
where
    for<'b> &'b E: Read + Write,
{
    poll_fn(move |cx| if buf.is_empty() { Poll::Ready(Ok(0)) } else { io.poll_write(cx, buf) })
}

/// Writes all of `buf`; `WriteZero` if the socket accepts no more bytes.
pub(crate) fn write_all<'a, E: Source>(
    io: &'a PollEvented<E>,
    mut buf: &'a [u8],
) -> impl std::future::Future<Output = io::Result<()>> + 'a
where
    for<'b> &'b E: Read + Write,
{
    poll_fn(move |cx| {
        while !buf.is_empty() {
            match ready!(io.poll_write(cx, buf)) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "weft: socket accepted no bytes",
                    )))
                }
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    })
}

/// Waits until `dir` is ready (the `readable`/`writable` methods).
pub(crate) async fn ready<E: Source>(io: &PollEvented<E>, dir: Direction) -> io::Result<()> {
    poll_fn(|cx| io.registration().poll_ready(cx, dir)).await.map(drop)
}

/// Completes a non-blocking connect: waits until the socket is writable,
/// then asks the kernel whether the connection was made. `take_error`
/// reports a failed connect (refused, unreachable); `connected` (a
/// `peer_addr` call) tells a finished connect from a spurious wake-up.
pub(crate) async fn finish_connect<E: Source>(
    io: &PollEvented<E>,
    take_error: impl Fn(&E) -> io::Result<Option<io::Error>>,
    connected: impl Fn(&E) -> io::Result<()>,
) -> io::Result<()> {
    loop {
        let ev = poll_fn(|cx| io.registration().poll_ready(cx, Direction::Write)).await?;
        if let Some(e) = take_error(io.get_ref())? {
            return Err(e);
        }
        // On Linux a socket in SYN_SENT reports no writability (tcp_poll),
        // and a connecting registration starts with no assumed readiness,
        // so a plain writable edge with no pending error means connected:
        // skip the `getpeername` that confirms it elsewhere (one system call
        // per connection; tokio does not make it either).
        if cfg!(target_os = "linux") && ev.ready & (ERROR | WRITE_CLOSED | READ_CLOSED) == 0 {
            return Ok(());
        }
        match connected(io.get_ref()) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                if ev.ready & (ERROR | WRITE_CLOSED) != 0 {
                    // Closed or errored with no pending error left: the
                    // connect failed and its error was already consumed.
                    return Err(io::Error::new(
                        io::ErrorKind::NotConnected,
                        "weft: connect failed (socket closed before it was connected)",
                    ));
                }
                // Writable edge without a connection (spurious): wait again.
                io.registration().clear_readiness(ev);
            }
            Err(e) => return Err(e),
        }
    }
}
