//! The process-wide half of signal delivery: one self-pipe, one slot per
//! signal number, and the handler that signal-hook-registry runs.
//!
//! The protocol (docs/design/signal-process.md has the whole argument):
//!
//! - The handler sets the signal's `pending` flag (Release) and then
//!   writes one byte to the write end of a non-blocking socket pair. Both
//!   are async-signal-safe: an atomic store and `write(2)`. A full socket
//!   (`EAGAIN`) drops the byte, which is fine: a full socket is readable,
//!   so a dispatch is already due, and it runs after the flag was stored.
//! - `dispatch` reads the socket dry (until `WouldBlock`), *then* swaps
//!   every `pending` flag back to false; each flag found set bumps its
//!   slot's `seq` and wakes the slot's waiters. Draining before swapping
//!   is what keeps the last signal of a storm: a handler whose byte the
//!   drain consumed stored its flag before that byte was written, so the
//!   swap sees the flag; a handler whose byte the drain missed leaves the
//!   socket readable, so another dispatch follows.
//! - Receivers (`Signal`) compare the slot's `seq` with the value they
//!   last saw. Coalescing is by design: signals that arrive between two
//!   dispatches count once, as with the kernel's own pending set.
//!
//! Who dispatches: every receiver holds its own duplicate of the read end,
//! registered with the netpoller of the runtime it was created in. A byte
//! makes every duplicate readable, so any receiver whose task is polled
//! (on any runtime) may run `dispatch`; whoever runs it wakes everyone,
//! through the slots' waiter lists. No thread and no per-runtime task.

use super::slot::Slot;
use crate::loom::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::loom::sync::{Mutex, OnceLock};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// Signal numbers above this are refused (Linux's real-time signals end
/// at 64; the BSDs and macOS stop at 32 or below).
pub(crate) const MAX_SIGNUM: usize = 64;

pub(crate) struct Globals {
    /// The handler's end. Never closed: the handler may run at any moment
    /// for the rest of the process's life.
    write_fd: RawFd,
    /// The end `dispatch` drains (receivers register duplicates of it).
    read: UnixStream,
    slots: [Slot; MAX_SIGNUM + 1],
    /// Serializes handler installation.
    init: Mutex<()>,
}

static GLOBALS: OnceLock<Globals> = OnceLock::new();
static GLOBALS_INIT: Mutex<()> = Mutex::new(());

/// The process-wide driver, created on first use. An error (no fds left)
/// is returned and creation is tried again on the next call.
pub(crate) fn globals() -> io::Result<&'static Globals> {
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let _guard = GLOBALS_INIT.lock();
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let g = Globals::new()?;
    Ok(GLOBALS.get_or_init(|| g))
}

impl Globals {
    fn new() -> io::Result<Globals> {
        // std creates the pair with SOCK_CLOEXEC: a child process does not
        // inherit it.
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        // Given up as a raw fd, never to be closed: see the field.
        let write_fd = write.into_raw_fd();
        Ok(Globals { write_fd, read, slots: std::array::from_fn(|_| Slot::new()), init: Mutex::new(()) })
    }

    /// The slot of `signum`, with its handler installed. Errors for a
    /// number out of range, one the OS will not let a process handle
    /// (SIGKILL, SIGSTOP) or one a runtime must not take over (SIGILL,
    /// SIGFPE, SIGSEGV), or if `sigaction` fails.
    pub(crate) fn slot(&'static self, signum: libc::c_int) -> io::Result<&'static Slot> {
        let index = usize::try_from(signum)
            .ok()
            .filter(|&i| i > 0 && i <= MAX_SIGNUM)
            .ok_or_else(|| invalid(signum, "is not a signal number this platform has"))?;
        if signal_hook_registry::FORBIDDEN.contains(&signum) {
            return Err(invalid(signum, "cannot be handled (SIGKILL, SIGSTOP, SIGILL, SIGFPE, SIGSEGV)"));
        }
        let slot = &self.slots[index];
        // Acquire: pairs with the Release store below; the handler is in
        // place before a receiver takes its `seq` snapshot.
        if slot.installed().load(Acquire) {
            return Ok(slot);
        }
        let _guard = self.init.lock();
        if slot.installed().load(Relaxed) {
            // Relaxed: the lock orders this with the store below.
            return Ok(slot);
        }
        let write_fd = self.write_fd;
        let action = move || on_signal(slot, write_fd);
        // SAFETY: `register`'s obligation is that `action` is
        // async-signal-safe and does not panic: `on_signal` does one
        // lock-free atomic swap, reads and restores `errno`, and calls `write(2)`, all
        // async-signal-safe, with no allocation, lock or panic path. The
        // signal is not in FORBIDDEN (checked above), so it does not panic.
        unsafe { signal_hook_registry::register(signum, action) }?;
        slot.installed().store(true, Release);
        Ok(slot)
    }

    /// A new non-blocking, close-on-exec duplicate of the read end, for a
    /// receiver to register with its runtime's netpoller.
    pub(crate) fn dup_reader(&self) -> io::Result<OwnedFd> {
        // SAFETY: `F_DUPFD_CLOEXEC` on an fd we own; no pointer arguments.
        let fd = unsafe { libc::fcntl(self.read.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Drains the socket, then publishes every pending signal: bumps its
    /// slot's `seq` and wakes its waiters. Returns false if the socket could
    /// not be read dry (an unexpected error), so the caller keeps its
    /// readiness and the next poll tries again.
    pub(crate) fn dispatch(&self) -> bool {
        let mut buf = [0u8; 128];
        let drained = loop {
            match (&self.read).read(&mut buf) {
                Ok(0) => break true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break false,
            }
        };
        for slot in &self.slots {
            slot.publish();
        }
        drained
    }
}

fn invalid(signum: libc::c_int, what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("weft: signal {signum} {what}"))
}

/// The action run inside the signal handler. Async-signal-safe: an atomic
/// store, `errno` saved and restored, one `write(2)`.
fn on_signal(slot: &Slot, write_fd: RawFd) {
    let saved = errno::get();
    slot.mark_pending();
    let byte = 1u8;
    // SAFETY: `write_fd` is never closed (see `Globals::write_fd`); the
    // buffer is one valid byte. A failure (`EAGAIN` on a full socket) is
    // ignored on purpose: see the module doc.
    let _ = unsafe { libc::write(write_fd, (&byte as *const u8).cast(), 1) };
    errno::set(saved);
}

/// `errno`, read and restored around the handler's `write(2)` so the code
/// the signal interrupted does not see it change.
mod errno {
    #[cfg(any(target_os = "android", target_os = "netbsd", target_os = "openbsd"))]
    use libc::__errno as location;
    #[cfg(any(target_os = "linux", target_os = "emscripten", target_os = "hurd"))]
    use libc::__errno_location as location;
    #[cfg(any(target_vendor = "apple", target_os = "freebsd", target_os = "dragonfly"))]
    use libc::__error as location;

    #[cfg(any(
        target_os = "linux",
        target_os = "emscripten",
        target_os = "hurd",
        target_os = "android",
        target_os = "netbsd",
        target_os = "openbsd",
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "dragonfly"
    ))]
    mod imp {
        pub(crate) fn get() -> libc::c_int {
            // SAFETY: the errno location is the calling thread's own,
            // valid for the thread's life.
            unsafe { *super::location() }
        }

        pub(crate) fn set(value: libc::c_int) {
            // SAFETY: as in `get`.
            unsafe { *super::location() = value }
        }
    }

    /// Elsewhere `errno` is not restored (the handler's `write` may leave
    /// `EAGAIN` in it).
    #[cfg(not(any(
        target_os = "linux",
        target_os = "emscripten",
        target_os = "hurd",
        target_os = "android",
        target_os = "netbsd",
        target_os = "openbsd",
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "dragonfly"
    )))]
    mod imp {
        pub(crate) fn get() -> libc::c_int {
            0
        }

        pub(crate) fn set(_value: libc::c_int) {}
    }

    pub(crate) use imp::{get, set};
}
