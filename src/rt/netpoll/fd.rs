//! `FdSource`: an owned file descriptor as a mio source, for the kinds of
//! fd mio has no type for or that arrive as plain fds: the pipes of a
//! child process, a pidfd, a duplicate of the signal self-pipe.
//!
//! Reads and writes are plain `read(2)`/`write(2)`; the fd must be in
//! non-blocking mode (`set_nonblocking`) before it is registered, or an
//! operation would block the worker.

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

pub(crate) struct FdSource {
    fd: OwnedFd,
}

impl fmt::Debug for FdSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FdSource").field("fd", &self.fd.as_raw_fd()).finish()
    }
}

impl FdSource {
    pub(crate) fn new(fd: OwnedFd) -> FdSource {
        FdSource { fd }
    }

    /// Sets or clears `O_NONBLOCK`.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        let fd = self.fd.as_raw_fd();
        // SAFETY: `fcntl(F_GETFL)` on an fd we own (open for our lifetime);
        // no pointer arguments.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let new = if nonblocking { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
        if new != flags {
            // SAFETY: as above; `F_SETFL` takes an int argument.
            if unsafe { libc::fcntl(fd, libc::F_SETFL, new) } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    #[cfg_attr(not(feature = "process"), allow(dead_code))] // the child pipes' `into_owned_fd`
    pub(crate) fn into_owned(self) -> OwnedFd {
        self.fd
    }
}

impl Read for &FdSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // `read(2)` takes at most `isize::MAX` bytes.
        let len = buf.len().min(isize::MAX as usize);
        // SAFETY: `buf` is valid for writes of `len` bytes for the call
        // (the `&mut` borrow); the fd is ours and open.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), len) };
        // Negative is the only failure; otherwise a count no larger than `len`.
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    }
}

impl Write for &FdSource {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let len = buf.len().min(isize::MAX as usize);
        // SAFETY: `buf` is valid for reads of `len` bytes for the call; the
        // fd is ours and open.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), len) };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Source for FdSource {
    fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).deregister(registry)
    }
}

impl AsRawFd for FdSource {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for FdSource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
