//! How a `Child` learns that its process exited: a pidfd on the
//! netpoller (Linux 5.3 and later), or `SIGCHLD` through `weft::signal`.
//!
//! Either way the wait loop is the same: try `waitpid(pid, WNOHANG)`; if
//! the process is still running, wait for the next exit notification and
//! try again. A pidfd becomes readable (and stays so) when its process
//! exits, so clearing its readiness after a `waitpid` that found the
//! process running cannot lose the exit: the readiness clear is
//! tick-guarded, and the exit edge comes after the clear or bumps the tick
//! before it. A `SIGCHLD` receiver is created before the first `waitpid`,
//! so an exit after that `waitpid` is a delivery the receiver sees.

use crate::rt::netpoll::{Direction, FdSource, PollEvented};
use crate::signal::unix::{signal, Signal, SignalKind};
use std::fmt;
use std::io;
use std::task::{ready, Context, Poll};

/// Which mechanism a `Command` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitMode {
    /// pidfd where the kernel has it, `SIGCHLD` otherwise.
    Auto,
    /// `SIGCHLD` even where pidfd works (tests of the fallback).
    #[cfg_attr(not(test), allow(dead_code))]
    Sigchld,
}

pub(crate) enum ExitWatch {
    Pidfd(PollEvented<FdSource>),
    Sigchld(Signal),
}

impl fmt::Debug for ExitWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitWatch::Pidfd(_) => f.write_str("ExitWatch::Pidfd"),
            ExitWatch::Sigchld(_) => f.write_str("ExitWatch::Sigchld"),
        }
    }
}

impl ExitWatch {
    /// A watch for process `pid` (our child, not yet reaped, so the pid
    /// cannot have been reused).
    pub(crate) fn new(pid: u32, mode: ExitMode) -> io::Result<ExitWatch> {
        if mode == ExitMode::Auto {
            match pidfd_open(pid) {
                Ok(fd) => {
                    let fd = FdSource::new(fd);
                    // Readable-assumed: the first wait checks `waitpid`
                    // before it blocks, as it must anyway.
                    return Ok(ExitWatch::Pidfd(PollEvented::new_with_interest(
                        fd,
                        mio::Interest::READABLE,
                    )?));
                }
                Err(e) if pidfd_unsupported(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ExitWatch::Sigchld(signal(SignalKind::child())?))
    }

    /// Waits for the next exit notification (possibly spurious: the
    /// caller checks `waitpid` again).
    pub(crate) fn poll_notified(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            ExitWatch::Pidfd(fd) => {
                let ev = ready!(fd.registration().poll_ready(cx, Direction::Read))?;
                fd.registration().clear_readiness(ev);
                Poll::Ready(Ok(()))
            }
            ExitWatch::Sigchld(sig) => match ready!(sig.poll_recv(cx)) {
                Some(()) => {
                    // Every SIGCHLD is also the orphans' chance to be reaped.
                    super::orphan::reap_orphans();
                    Poll::Ready(Ok(()))
                }
                None => Poll::Ready(Err(crate::rt::netpoll::registration::shutdown_error())),
            },
        }
    }
}

/// `ENOSYS`: a kernel older than 5.3. `EPERM`: a seccomp filter (some
/// container runtimes) that refuses system calls it does not know.
fn pidfd_unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM))
}

#[cfg(target_os = "linux")]
fn pidfd_open(pid: u32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `pidfd_open(pid, 0)` takes two integers and returns a new
    // fd (close-on-exec) or -1; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = std::os::fd::RawFd::try_from(fd).map_err(|_| io::Error::other("weft: pidfd out of range"))?;
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

#[cfg(not(target_os = "linux"))]
fn pidfd_open(_pid: u32) -> io::Result<std::os::fd::OwnedFd> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}
