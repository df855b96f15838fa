//! TCP_INQ (Linux): the kernel tells each read how many bytes it left in
//! the socket's receive queue, so a read that took everything can clear
//! the readable bit at once instead of by a further `recv` that would only
//! return `WouldBlock`.
//!
//! Why clearing then is safe: readiness is edge-triggered, and Linux
//! signals the socket's wait queue (an epoll edge) for every segment it
//! queues and for the FIN, including those that arrive while the buffer is
//! not empty. If a read reports nothing left, every byte that arrives
//! after it brings an edge of its own; the clear is tick-guarded like every
//! clear (`ScheduledIo::clear_readiness`), so an edge the netpoller applied
//! since the readiness was observed is kept. After a FIN the kernel reports
//! a non-zero count, so the read that returns 0 is still made.
//!
//! Who turns it on (`Inq` in `PollEvented`): a TCP stream starts `Armed`
//! and uses plain `recv`; the first time a read that filled its buffer is
//! followed by a `WouldBlock` (the pattern of a request/response protocol,
//! where the option saves one system call per message) it sets the option
//! once and reads with `recvmsg` from then on. A stream that never shows
//! the pattern (a short-lived connection, a bulk transfer that always
//! finds more) never pays for the `setsockopt`. If the option is refused
//! (an old kernel) the stream goes back to plain reads for good.

// Only TCP streams (`net`) arm it; a build with only `signal` compiles it
// for `PollEvented`'s field.
#![cfg_attr(not(feature = "net"), allow(dead_code))]

use crate::loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::io;
use std::os::fd::RawFd;

/// Not a TCP stream, or the option was refused: plain `recv`.
const OFF: usize = 0;
/// A TCP stream with the option not yet set.
const ARMED: usize = 1;
/// As `ARMED`, and the last read filled its buffer.
const FULL_READ: usize = 2;
/// The option is set: reads go through `recv` below.
const ON: usize = 3;

/// A stream's TCP_INQ state and the fd it applies to.
///
/// The state is a hint about the socket, not a protocol: every transition
/// is Relaxed because a stale value costs at most one `WouldBlock` or one
/// plain read, and a read only clears readiness when the kernel's own
/// count in that read's reply says the queue is empty.
#[derive(Debug)]
pub(crate) struct Inq {
    state: AtomicUsize,
    fd: RawFd,
}

impl Inq {
    /// Plain reads, never switched (anything but a TCP stream).
    pub(crate) fn off() -> Inq {
        Inq { state: AtomicUsize::new(OFF), fd: -1 }
    }

    /// A TCP stream on `fd` that may switch (see the module docs). The fd
    /// must stay open as long as this value is used to read.
    pub(crate) fn armed(fd: RawFd) -> Inq {
        Inq { state: AtomicUsize::new(ARMED), fd }
    }

    /// The fd to read with `recv` below, if the option is on.
    #[inline]
    pub(crate) fn fd_if_on(&self) -> Option<RawFd> {
        (self.state.load(Relaxed) == ON).then_some(self.fd)
    }

    /// The stream's fd if this is a TCP stream (`armed`, whatever became
    /// of the option since): its writes may call `send(2)` directly.
    #[inline]
    pub(crate) fn tcp_fd(&self) -> Option<RawFd> {
        (self.fd >= 0).then_some(self.fd)
    }

    /// A plain read moved `n` of `len` bytes.
    pub(crate) fn plain_read(&self, n: usize, len: usize) {
        let full = n > 0 && n == len;
        match self.state.load(Relaxed) {
            ARMED if full => self.state.store(FULL_READ, Relaxed),
            FULL_READ if !full => self.state.store(ARMED, Relaxed),
            _ => {}
        }
    }

    /// A plain read returned `WouldBlock`: if the read before it filled
    /// its buffer, that `WouldBlock` is the waste the option removes; set
    /// it (once).
    pub(crate) fn plain_would_block(&self) {
        if self.state.load(Relaxed) != FULL_READ {
            return;
        }
        let next = if enable(self.fd) { ON } else { OFF };
        self.state.store(next, Relaxed);
    }

    #[cfg(test)]
    pub(crate) fn is_on(&self) -> bool {
        self.state.load(Relaxed) == ON
    }
}

/// Sets TCP_INQ on `fd`; false if the kernel refuses it.
fn enable(fd: RawFd) -> bool {
    let one: libc::c_int = 1;
    // SAFETY: `setsockopt` reads `size_of::<c_int>()` bytes from a live
    // local; an fd that is not a TCP socket (or closed) makes it fail, it
    // has no other effect.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_TCP,
            libc::TCP_INQ,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// `send(2)` of `buf` on the TCP stream `fd`, as std's `TcpStream::write`
/// makes it (`MSG_NOSIGNAL`: a reset peer is an `EPIPE` error, not a
/// SIGPIPE) without the std and mio layers between.
///
/// # Safety
///
/// `fd` must be an open socket for the duration of the call.
#[inline]
pub(crate) unsafe fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // `send(2)` returns at most `isize::MAX` bytes.
    let len = buf.len().min(isize::MAX as usize);
    // SAFETY: `buf` is `len` readable bytes borrowed for this call; the
    // kernel only reads them. `fd` is open (the caller's obligation).
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), len, libc::MSG_NOSIGNAL) };
    // A negative return is the only failure; any other value is a count no
    // larger than `len`.
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// `recvmsg` into `len` bytes at `ptr`: (bytes read, bytes the kernel
/// says are left in the receive queue, if it said).
///
/// # Safety
///
/// `ptr` must be valid for writes of `len` bytes for the duration of the
/// call (they need not be initialized); `fd` must be an open socket.
pub(crate) unsafe fn recv(fd: RawFd, ptr: *mut u8, len: usize) -> io::Result<(usize, Option<usize>)> {
    // Room for one `int` control message, aligned for `cmsghdr`.
    let mut control = [0u64; 4];
    let mut iov = libc::iovec { iov_base: ptr.cast(), iov_len: len };
    // SAFETY: an all-zero `msghdr` is valid (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` points to one iovec over the caller's `len` writable
    // bytes (the caller's obligation) and to `control`, a live local of
    // `msg_controllen` bytes; the kernel writes only within those.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    // SAFETY: the kernel filled `msg_control`/`msg_controllen` with
    // well-formed control messages inside `control`; CMSG_FIRSTHDR and
    // CMSG_NXTHDR stay within `msg_controllen` and return null past the
    // end. The data of a TCP_CM_INQ message is one `int`, read unaligned.
    let left = unsafe {
        let first = libc::CMSG_FIRSTHDR(&msg);
        if !first.is_null() && is_inq(first) {
            // The one message TCP_INQ adds; only a socket with other
            // control-message options on has more to search.
            inq_count(first)
        } else {
            find_inq(&msg, first)
        }
    };
    Ok((n, left))
}

/// Whether `cmsg` is a TCP_CM_INQ message.
///
/// # Safety
///
/// `cmsg` points to a control message header the kernel wrote.
#[inline]
unsafe fn is_inq(cmsg: *const libc::cmsghdr) -> bool {
    // SAFETY: the caller's obligation.
    unsafe { (*cmsg).cmsg_level == libc::SOL_TCP && (*cmsg).cmsg_type == libc::TCP_CM_INQ }
}

/// The count a TCP_CM_INQ message carries (`None` if negative).
///
/// # Safety
///
/// `cmsg` points to a TCP_CM_INQ message the kernel wrote, whose data is
/// one `int`.
#[inline]
unsafe fn inq_count(cmsg: *const libc::cmsghdr) -> Option<usize> {
    // SAFETY: the caller's obligation; read unaligned as the data of a
    // control message need not be aligned for `int`.
    let count = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>()) };
    usize::try_from(count).ok()
}

/// The TCP_CM_INQ count among all the control messages of `msg`, from
/// `cmsg` (its first, possibly null) on.
///
/// # Safety
///
/// `msg` is a `msghdr` whose control buffer `recvmsg` filled, and `cmsg`
/// is its `CMSG_FIRSTHDR`.
#[cold]
#[inline(never)]
unsafe fn find_inq(msg: &libc::msghdr, mut cmsg: *mut libc::cmsghdr) -> Option<usize> {
    let mut left = None;
    while !cmsg.is_null() {
        // SAFETY: a non-null header from CMSG_FIRSTHDR/CMSG_NXTHDR lies
        // within the control buffer the kernel filled (the caller's
        // obligation), and a TCP_CM_INQ one carries one `int`.
        unsafe {
            if is_inq(cmsg) {
                left = inq_count(cmsg);
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    left
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    /// Blocks until `sock` has `want` bytes queued (a blocking peek).
    fn wait_queued(sock: &TcpStream, want: usize) {
        let mut buf = vec![0u8; want];
        while sock.peek(&mut buf).unwrap() < want {}
    }

    #[test]
    fn send_writes_and_reports_a_closed_write_side_as_an_error() {
        let (client, mut server) = pair();
        // SAFETY: the fd is the open client end.
        assert_eq!(unsafe { send(client.as_raw_fd(), b"ping") }.unwrap(), 4);
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        client.shutdown(std::net::Shutdown::Write).unwrap();
        // SAFETY: as above.
        let err = unsafe { send(client.as_raw_fd(), b"late") }.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn the_count_is_found_behind_other_control_messages() {
        // Two messages, the count second: what a socket with another
        // control-message option on receives.
        let mut control = [0u64; 8];
        // SAFETY: an all-zero `msghdr` is valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_control = control.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE is arithmetic.
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as _) } as usize;
        assert!(2 * space <= std::mem::size_of_val(&control));
        msg.msg_controllen = (2 * space) as _;
        // SAFETY: both headers and their `int`s lie within `control`
        // (checked above); CMSG_NXTHDR stays within `msg_controllen`.
        unsafe {
            let len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as _) as _;
            let first = libc::CMSG_FIRSTHDR(&msg);
            (*first).cmsg_level = libc::SOL_SOCKET;
            (*first).cmsg_type = libc::SO_TIMESTAMP;
            (*first).cmsg_len = len;
            let second = libc::CMSG_NXTHDR(&msg, first);
            assert!(!second.is_null());
            (*second).cmsg_level = libc::SOL_TCP;
            (*second).cmsg_type = libc::TCP_CM_INQ;
            (*second).cmsg_len = len;
            std::ptr::write_unaligned(libc::CMSG_DATA(second).cast::<libc::c_int>(), 6);
            assert!(!is_inq(first));
            assert_eq!(find_inq(&msg, first), Some(6));
        }
    }

    #[test]
    fn recv_reports_what_is_left_in_the_queue() {
        let (mut client, server) = pair();
        assert!(enable(server.as_raw_fd()));
        client.write_all(&[1; 10]).unwrap();
        wait_queued(&server, 10);
        let mut buf = [0u8; 4];
        // SAFETY: `buf` is 4 writable bytes; the fd is the open server end.
        let (n, left) = unsafe { recv(server.as_raw_fd(), buf.as_mut_ptr(), 4) }.unwrap();
        assert_eq!((n, left), (4, Some(6)));
        // SAFETY: as above.
        let (n, left) = unsafe { recv(server.as_raw_fd(), buf.as_mut_ptr(), 4) }.unwrap();
        assert_eq!((n, left), (4, Some(2)));
        let mut rest = [0u8; 2];
        // SAFETY: `rest` is 2 writable bytes.
        let (n, left) = unsafe { recv(server.as_raw_fd(), rest.as_mut_ptr(), 2) }.unwrap();
        assert_eq!((n, left), (2, Some(0)), "a read that empties the queue says so");
    }

    #[test]
    fn recv_after_fin_reports_something_left() {
        let (client, mut server) = pair();
        assert!(enable(server.as_raw_fd()));
        drop(client);
        // The FIN is in once a blocking read returns end of stream.
        assert_eq!(server.read(&mut [0u8; 1]).unwrap(), 0);
        let mut buf = [0u8; 1];
        // SAFETY: `buf` is one writable byte; the fd is open.
        let (n, left) = unsafe { recv(server.as_raw_fd(), buf.as_mut_ptr(), 1) }.unwrap();
        assert_eq!(n, 0);
        assert_ne!(left, Some(0), "after a FIN the kernel must not say the queue is empty");
    }

    #[test]
    fn recv_without_the_option_reports_nothing() {
        let (mut client, server) = pair();
        client.write_all(&[1; 3]).unwrap();
        wait_queued(&server, 3);
        let mut buf = [0u8; 3];
        // SAFETY: `buf` is 3 writable bytes; the fd is open.
        assert_eq!(unsafe { recv(server.as_raw_fd(), buf.as_mut_ptr(), 3) }.unwrap(), (3, None));
    }

    #[test]
    fn switches_on_only_after_a_full_read_then_would_block() {
        let (_client, server) = pair();
        let inq = Inq::armed(server.as_raw_fd());
        inq.plain_would_block();
        assert!(!inq.is_on(), "a WouldBlock with no full read before it is not the pattern");
        inq.plain_read(8, 8);
        inq.plain_read(3, 8);
        inq.plain_would_block();
        assert!(!inq.is_on(), "the read before the WouldBlock was short");
        inq.plain_read(8, 8);
        inq.plain_would_block();
        assert!(inq.is_on());
        assert_eq!(inq.fd_if_on(), Some(server.as_raw_fd()));
    }

    #[test]
    fn a_refused_option_falls_back_to_plain_reads_for_good() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let inq = Inq::armed(a.as_raw_fd());
        inq.plain_read(8, 8);
        inq.plain_would_block();
        assert_eq!(inq.fd_if_on(), None);
        inq.plain_read(8, 8);
        inq.plain_would_block();
        assert_eq!(inq.fd_if_on(), None, "no second setsockopt after a refusal");
    }

    #[test]
    fn off_never_switches() {
        let inq = Inq::off();
        inq.plain_read(8, 8);
        inq.plain_would_block();
        assert_eq!(inq.fd_if_on(), None);
    }
}
