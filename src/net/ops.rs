//! Operations shared by the socket types: the read/write loops built on
//! `PollEvented`, address resolution, and the connect hand-shake.

use crate::rt::netpoll::scheduled_io::{ERROR, READ_CLOSED, WRITE_CLOSED};
use crate::rt::netpoll::{Direction, PollEvented};
use mio::event::Source;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};

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

/// Reads into `buf` once the socket is readable (an empty `buf` reads
/// nothing at once rather than waiting for data it could not take).
pub(crate) async fn read<E: Source>(io: &PollEvented<E>, buf: &mut [u8]) -> io::Result<usize>
where
    for<'a> &'a E: Read + Write,
{
    if buf.is_empty() {
        return Ok(0);
    }
    poll_fn(|cx| io.poll_read(cx, buf)).await
}

/// Fills `buf` exactly; `UnexpectedEof` if the peer closes first.
pub(crate) async fn read_exact<E: Source>(io: &PollEvented<E>, buf: &mut [u8]) -> io::Result<()>
where
    for<'a> &'a E: Read + Write,
{
    let mut filled = 0;
    while filled < buf.len() {
        match read(io, &mut buf[filled..]).await {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "weft: peer closed the stream before the buffer was filled",
                ))
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes from `buf` once the socket is writable (an empty `buf` writes
/// nothing at once).
pub(crate) async fn write<E: Source>(io: &PollEvented<E>, buf: &[u8]) -> io::Result<usize>
where
    for<'a> &'a E: Read + Write,
{
    if buf.is_empty() {
        return Ok(0);
    }
    poll_fn(|cx| io.poll_write(cx, buf)).await
}

/// Writes all of `buf`; `WriteZero` if the socket accepts no more bytes.
pub(crate) async fn write_all<E: Source>(io: &PollEvented<E>, mut buf: &[u8]) -> io::Result<()>
where
    for<'a> &'a E: Read + Write,
{
    while !buf.is_empty() {
        match write(io, buf).await {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "weft: socket accepted no bytes")),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
