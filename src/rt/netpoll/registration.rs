//! What an I/O object holds: its registration with the runtime's netpoller
//! (`Registration`), and the mio source wrapped with it (`PollEvented`).
//!
//! The read/write helpers follow one loop (`poll_io`): wait until the
//! direction is ready, try the operation, and on `WouldBlock` clear the
//! readiness that was observed and wait again. Every ready poll costs one
//! unit of the task's cooperative budget (`crate::rt::coop`).

// Sockets (`net`) use the whole surface; a build with only `signal` and
// `process` uses part of it.
#![cfg_attr(not(feature = "net"), allow(dead_code))]

use super::scheduled_io::{Direction, ReadyEvent, ScheduledIo, READABLE, WRITABLE};
use super::Driver;
use crate::loom::sync::Arc;
use crate::rt::coop;
use mio::event::Source;
use mio::Interest;
use std::fmt;
use std::io::{self, Read, Write};
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// The error every operation returns once the runtime's netpoller is gone.
pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other("weft: the runtime owning this I/O object has shut down")
}

pub(crate) fn no_runtime_error() -> io::Error {
    io::Error::other(
        "weft: I/O objects must be created inside a weft runtime (a task, block_on, or Handle::enter)",
    )
}

/// A registration: the driver (kept alive) and the slab slot.
pub(crate) struct Registration {
    driver: Arc<Driver>,
    index: usize,
    /// The slot itself, looked up once: every readiness check goes through
    /// it, and the slab lookup (page arithmetic and an Acquire load) would
    /// otherwise be paid on each. Points into a slab page, which never
    /// moves or frees before the slab drops, and the slab lives in the
    /// driver that `driver` keeps alive.
    slot: NonNull<ScheduledIo>,
}

// SAFETY: `slot` is a shared reference in all but name (see the field):
// `ScheduledIo` is Sync (atomics and a mutex), and the memory it points to
// lives as long as `driver`, which is Send and Sync. The other fields are
// Send and Sync.
unsafe impl Send for Registration {}
// SAFETY: as for Send; only `&ScheduledIo` is ever made from `slot`.
unsafe impl Sync for Registration {}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration").field("index", &self.index).finish()
    }
}

impl Registration {
    /// Registers `source` with the current runtime's netpoller, assuming
    /// readiness `assume_ready` (READABLE/WRITABLE bits; see
    /// `ScheduledIo::reset_for_new_owner_with`).
    pub(crate) fn new(
        source: &mut impl Source,
        interest: Interest,
        assume_ready: usize,
    ) -> io::Result<Registration> {
        let driver = crate::rt::context::current_io_driver().ok_or_else(no_runtime_error)?;
        Registration::with_driver(driver, source, interest, assume_ready)
    }

    pub(crate) fn with_driver(
        driver: Arc<Driver>,
        source: &mut impl Source,
        interest: Interest,
        assume_ready: usize,
    ) -> io::Result<Registration> {
        if driver.is_shutdown() {
            return Err(shutdown_error());
        }
        let (index, _gen) = driver.registrar().register(source, interest, assume_ready)?;
        let slot =
            NonNull::from(driver.registrar().slab.get(index).expect("weft: registered slot has a page"));
        // Check again: a shutdown that ran between the check above and the
        // allocation marked every slot SHUTDOWN before ours was reset by
        // `allocate`, so nothing would ever end this registration's waits.
        if driver.is_shutdown() {
            let _ = driver.registrar().deregister(source, index);
            return Err(shutdown_error());
        }
        Ok(Registration { driver, index, slot })
    }

    #[inline]
    fn io(&self) -> &ScheduledIo {
        // SAFETY: `slot` came from the slab of `self.driver`, whose pages
        // never move or free before the driver drops, and we hold the
        // driver (see the field). Only shared references are made.
        unsafe { self.slot.as_ref() }
    }

    /// Waits until `dir` is ready. Consumes one unit of coop budget when
    /// ready; errors once the runtime shut down. Inlined into the read and
    /// write loops: it runs on every operation, and its ready path is a
    /// few loads and a store.
    #[inline]
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<ReadyEvent>> {
        let restore = std::task::ready!(coop::poll_proceed(cx));
        match self.io().poll_ready(cx, dir) {
            Poll::Ready(ev) if ev.is_shutdown() => Poll::Ready(Err(shutdown_error())),
            Poll::Ready(ev) => {
                restore.made_progress();
                Poll::Ready(Ok(ev))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Whether `dir` is known ready right now (tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_ready(&self, dir: Direction) -> bool {
        self.io().ready_event(dir).is_some()
    }

    #[inline]
    pub(crate) fn clear_readiness(&self, ev: ReadyEvent) {
        self.io().clear_readiness(ev);
    }

    /// Runs `op` once `dir` is ready; on `WouldBlock` clears the observed
    /// readiness and waits again.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = std::task::ready!(self.poll_ready(cx, dir))?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                result => return Poll::Ready(result),
            }
        }
    }

    /// Runs `op` without waiting: `WouldBlock` if `dir` is not known ready
    /// (the `try_*` operations).
    pub(crate) fn try_io<R>(&self, dir: Direction, op: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        let Some(ev) = self.io().ready_event(dir) else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        if ev.is_shutdown() {
            return Err(shutdown_error());
        }
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_readiness(ev);
                Err(e)
            }
            result => result,
        }
    }

    /// Deregisters `source` and frees the slot.
    fn deregister(&self, source: &mut impl Source) -> io::Result<()> {
        self.driver.registrar().deregister(source, self.index)
    }
}

/// A mio source registered with the netpoller. Dropping it deregisters the
/// source and then drops it (closing the fd).
pub(crate) struct PollEvented<E: Source> {
    io: Option<E>,
    registration: Registration,
    /// Whether reads learn from the kernel what they left behind (TCP
    /// streams on Linux, see `inq.rs`).
    #[cfg(target_os = "linux")]
    inq: super::inq::Inq,
}

impl<E: Source + fmt::Debug> fmt::Debug for PollEvented<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollEvented").field("io", &self.io).field("registration", &self.registration).finish()
    }
}

impl<E: Source> PollEvented<E> {
    /// Registers `io` for reading and writing with the current runtime.
    ///
    /// A new registration *assumes* the directions of its interest ready:
    /// the first read or write is tried at once rather than after a round
    /// trip through the netpoller for the edge that registering a ready fd
    /// produces anyway (a freshly accepted socket can be written, and often
    /// read, at once). A wrong guess costs one `WouldBlock`. Not for a
    /// socket whose connect is in progress: see `new_connecting`.
    pub(crate) fn new(io: E) -> io::Result<PollEvented<E>> {
        PollEvented::new_with_interest(io, Interest::READABLE | Interest::WRITABLE)
    }

    pub(crate) fn new_with_interest(io: E, interest: Interest) -> io::Result<PollEvented<E>> {
        let mut assume = 0;
        if interest.is_readable() {
            assume |= READABLE;
        }
        if interest.is_writable() {
            assume |= WRITABLE;
        }
        PollEvented::register(io, interest, assume)
    }

    /// Registers a socket whose non-blocking connect is in progress: no
    /// readiness is assumed (writability is how completion is reported).
    pub(crate) fn new_connecting(io: E) -> io::Result<PollEvented<E>> {
        PollEvented::register(io, Interest::READABLE | Interest::WRITABLE, 0)
    }

    fn register(mut io: E, interest: Interest, assume_ready: usize) -> io::Result<PollEvented<E>> {
        let registration = Registration::new(&mut io, interest, assume_ready)?;
        Ok(PollEvented {
            io: Some(io),
            registration,
            #[cfg(target_os = "linux")]
            inq: super::inq::Inq::off(),
        })
    }

    /// A TCP stream: lets reads switch to TCP_INQ when the stream shows the
    /// request/response pattern (`inq.rs`), and writes call `send(2)`
    /// directly. Other sources keep plain reads and writes.
    #[cfg(target_os = "linux")]
    pub(crate) fn arm_tcp_inq(&mut self)
    where
        E: std::os::fd::AsRawFd,
    {
        // The fd stays open while `self` reads: it is `io`'s, which lives
        // until `into_inner` (which consumes `self`) or drop.
        self.inq = super::inq::Inq::armed(self.get_ref().as_raw_fd());
    }

    pub(crate) fn get_ref(&self) -> &E {
        self.io.as_ref().expect("weft: PollEvented used after into_inner")
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Whether reads go through TCP_INQ now (tests).
    #[cfg(all(test, not(loom), target_os = "linux"))]
    pub(crate) fn reads_with_inq(&self) -> bool {
        self.inq.fd_if_on().is_some()
    }

    /// Deregisters and returns the source (still open).
    pub(crate) fn into_inner(mut self) -> io::Result<E> {
        let mut io = self.io.take().expect("weft: PollEvented used after into_inner");
        self.registration.deregister(&mut io)?;
        Ok(io)
    }

    /// `op` on the source once `dir` is ready (see `Registration::poll_io`).
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.get_ref();
        self.registration.poll_io(cx, dir, || op(io))
    }

    /// `op` on the source without waiting.
    pub(crate) fn try_io<R>(&self, dir: Direction, op: impl FnOnce(&E) -> io::Result<R>) -> io::Result<R> {
        let io = self.get_ref();
        self.registration.try_io(dir, || op(io))
    }

    /// Waits for `dir` readiness and runs `op`, as an `async fn`.
    pub(crate) async fn async_io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_io(cx, dir, &mut op)).await
    }
}

impl<E: Source> PollEvented<E>
where
    for<'a> &'a E: Read + Write,
{
    #[inline]
    pub(crate) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.poll_stream_read(cx, len, |mut io, inq_fd| match inq_fd {
            // SAFETY: `buf` is `len` writable bytes, borrowed for this call;
            // `fd` is the source's own, open while `io` is borrowed.
            Some(fd) => unsafe { super::inq::recv(fd, buf.as_mut_ptr(), len) },
            None => io.read(buf).map(|n| (n, None)),
        })
    }

    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_stream_io(cx, Direction::Read, len, |mut io| io.read_vectored(bufs))
    }

    #[inline]
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        if let Some(fd) = self.inq.tcp_fd() {
            // SAFETY: `fd` is the source's own, open while `self` is
            // borrowed (see `arm_tcp_inq`).
            return self
                .poll_stream_io(cx, Direction::Write, buf.len(), |_| unsafe { super::inq::send(fd, buf) });
        }
        self.poll_stream_io(cx, Direction::Write, buf.len(), |mut io| io.write(buf))
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_stream_io(cx, Direction::Write, len, |mut io| io.write_vectored(bufs))
    }

    /// `poll_io` for a byte-stream read or write of `len` bytes, with one
    /// saving: a *short* transfer (0 < n < len) means the kernel buffer was
    /// drained (read) or filled (write), so the observed readiness is
    /// cleared at once instead of by a further system call that would only
    /// return `WouldBlock`. Safe for the same reason `clear_readiness` is:
    /// it is tick-guarded, so an edge the netpoller applied since we looked
    /// survives, and an edge still queued in the kernel is applied later.
    /// Stream sockets only (a datagram read is short by nature).
    ///
    /// Writes and vectored reads; a plain stream read goes through
    /// `poll_stream_read`, which has a second way to know the buffer is
    /// drained.
    #[inline(always)]
    fn poll_stream_io(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        len: usize,
        mut op: impl FnMut(&E) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let io = self.get_ref();
        loop {
            let ev = std::task::ready!(self.registration.poll_ready(cx, dir))?;
            match op(io) {
                Ok(n) => {
                    if n > 0 && n < len {
                        self.registration.clear_readiness(ev);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.registration.clear_readiness(ev),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// `poll_stream_io` for a read of `len` bytes with `op`, which is
    /// handed the fd to read with TCP_INQ when that is on (`inq.rs`) and
    /// returns the bytes read and, if the kernel said, how many it left.
    /// Besides a short read, a read after which the kernel reports nothing
    /// left clears the observed readiness too (tick-guarded, as every
    /// clear): every byte that arrives later brings an edge of its own.
    /// Inlined into each read: a call's saved registers cost about as much
    /// as its ready path.
    #[inline(always)]
    fn poll_stream_read(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        mut op: impl FnMut(&E, Option<std::ffi::c_int>) -> io::Result<(usize, Option<usize>)>,
    ) -> Poll<io::Result<usize>> {
        let io = self.get_ref();
        loop {
            let ev = std::task::ready!(self.registration.poll_ready(cx, Direction::Read))?;
            #[cfg(target_os = "linux")]
            let inq_fd = self.inq.fd_if_on();
            #[cfg(not(target_os = "linux"))]
            let inq_fd = None;
            match op(io, inq_fd) {
                Ok((n, left)) => {
                    if n > 0 && (n < len || left == Some(0)) {
                        self.registration.clear_readiness(ev);
                    }
                    #[cfg(target_os = "linux")]
                    if inq_fd.is_none() {
                        self.inq.plain_read(n, len);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.registration.clear_readiness(ev);
                    #[cfg(target_os = "linux")]
                    if inq_fd.is_none() {
                        self.inq.plain_would_block();
                    }
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

#[cfg(all(unix, feature = "tokio-io"))]
impl<E: Source + std::os::fd::AsRawFd> PollEvented<E>
where
    for<'a> &'a E: Read + Write,
{
    /// Reads from a stream socket into memory that need not be
    /// initialized: `recv(2)` is given a raw pointer, so no reference to
    /// uninitialized bytes is ever made. Returns how many bytes the kernel
    /// wrote at the start of `buf`. `recv` rather than `read`, as std's
    /// sockets do: it skips the VFS layer's checks and notifications.
    ///
    /// This is the path for callers that hand in fresh spare capacity on
    /// every read (hyper's read buffer, tokio's `ReadBuf` over a
    /// `BytesMut`): the safe path would zero that capacity before each
    /// read, including the reads that find nothing.
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        // `recv(2)` returns at most `isize::MAX` bytes.
        let len = buf.len().min(isize::MAX as usize);
        let ptr = buf.as_mut_ptr().cast::<u8>();
        self.poll_stream_read(cx, len, |io, inq_fd| {
            #[cfg(target_os = "linux")]
            if let Some(fd) = inq_fd {
                // SAFETY: as for `recv` below; `fd` is the same fd.
                return unsafe { super::inq::recv(fd, ptr, len) };
            }
            let _ = inq_fd;
            // SAFETY: `ptr` points to `len` writable bytes of `buf`, which
            // the caller's `&mut` borrow keeps alive and unaliased for
            // this call; the kernel only writes into them (never reads),
            // so their being uninitialized is fine. The fd is the
            // source's own, open while `io` is borrowed.
            let n = unsafe { libc::recv(io.as_raw_fd(), ptr.cast(), len, 0) };
            // A negative return is the only failure; any other value is a
            // count no larger than `len`.
            usize::try_from(n).map(|n| (n, None)).map_err(|_| io::Error::last_os_error())
        })
    }
}

impl<E: Source> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            // Deregister before the fd closes (dropping `io` closes it), so
            // the fd number cannot be reused while still registered.
            let _ = self.registration.deregister(&mut io);
        }
    }
}
