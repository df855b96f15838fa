//! Unix signals: [`signal`] and its receiver, [`Signal`].

use super::driver::{self, Globals};
use super::slot::Slot;
use crate::loom::sync::atomic::{Ordering::Relaxed, StaticAtomicU64};
use crate::rt::netpoll::{Direction, FdSource, PollEvented};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

/// A signal a [`Signal`] receiver listens for: a signal number, with
/// constructors for the common ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// Any signal by number. Numbers the platform does not have, and the
    /// signals no handler may take (`SIGKILL`, `SIGSTOP`) or a runtime must
    /// not take (`SIGILL`, `SIGFPE`, `SIGSEGV`), make [`signal`] return an
    /// error.
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    pub const fn as_raw_value(&self) -> libc::c_int {
        self.0
    }

    /// `SIGALRM`.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGCHLD`: a child process stopped or exited.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGHUP`: the terminal hung up; daemons take it as "reload".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGINT`: Ctrl-C at the terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGIO`.
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }

    /// `SIGPIPE`.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGQUIT`.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGTERM`: the polite request to stop (what `kill` and service
    /// managers send first).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGUSR1`.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGWINCH`: the terminal changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

impl From<libc::c_int> for SignalKind {
    fn from(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }
}

/// Receivers' ids, for their entries in a slot's waiter list.
static NEXT_ID: StaticAtomicU64 = StaticAtomicU64::new(1);

/// A receiver of one kind of signal, made by [`signal`].
///
/// Every receiver sees every delivery of its signal that happens after
/// it was created, at least once: [`recv`](Signal::recv) completes once
/// for each. Deliveries that arrive close together may be seen as one (a
/// storm of a thousand `SIGHUP`s may wake a receiver a few times), but
/// the last delivery is never lost: after it, `recv` completes again.
///
/// Dropping a receiver does not uninstall the handler (the signal's
/// default action does not come back); other receivers go on as before.
pub struct Signal {
    kind: SignalKind,
    globals: &'static Globals,
    slot: &'static Slot,
    id: u64,
    /// The slot's `seq` this receiver has reported.
    seen: u64,
    /// This receiver's duplicate of the self-pipe's read end, on the
    /// netpoller of the runtime it was created in.
    pipe: PollEvented<FdSource>,
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish_non_exhaustive()
    }
}

/// Starts listening for `kind`.
///
/// The first call for a signal number installs a process-wide handler for
/// it (through `signal-hook-registry`, chaining to a handler installed
/// before); from then on the signal's default action (such as terminating
/// the process on `SIGINT` or `SIGTERM`) no longer happens, also after
/// every receiver is dropped.
///
/// Errors: `InvalidInput` for a signal number the platform does not have
/// or that cannot be handled (`SIGKILL`, `SIGSTOP`, `SIGILL`, `SIGFPE`,
/// `SIGSEGV`); an I/O error if called outside a runtime or out of file
/// descriptors.
///
/// ```
/// use weft::signal::unix::{signal, SignalKind};
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let mut hup = signal(SignalKind::hangup()).unwrap();
///     // SAFETY: raise(3) has no memory-safety obligations.
///     unsafe { libc::raise(libc::SIGHUP) };
///     hup.recv().await.unwrap();
/// });
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    // Checked first, so that a call that fails installs no handler.
    if crate::rt::context::current_io_driver().is_none() {
        return Err(crate::rt::netpoll::registration::no_runtime_error());
    }
    let globals = driver::globals()?;
    let slot = globals.slot(kind.0)?;
    let reader = FdSource::new(globals.dup_reader()?);
    reader.set_nonblocking(true)?;
    // Registered readable-assumed: the first poll drains whatever is in
    // the socket instead of waiting for an edge that came before it.
    let pipe = PollEvented::new_with_interest(reader, mio::Interest::READABLE)?;
    let id = NEXT_ID.fetch_add(1, Relaxed); // Relaxed: a unique number, nothing published
                                            // The snapshot comes after the handler is installed (`slot`): any
                                            // delivery from now on raises `seq` above it.
    let seen = slot.seq();
    Ok(Signal { kind, globals, slot, id, seen, pipe })
}

impl Signal {
    /// The signal this receiver listens for.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    /// Waits for the next delivery. `None` once the runtime this receiver
    /// was created in has shut down.
    ///
    /// Cancel-safe: dropping the future loses no delivery; the next `recv`
    /// reports it.
    #[track_caller]
    pub fn recv(&mut self) -> impl std::future::Future<Output = Option<()>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Signal, async move {
            poll_fn(|cx| self.poll_recv(cx)).await
        })
    }

    /// Polls for the next delivery (the poll form of [`recv`](Signal::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        loop {
            if self.take_delivery() {
                return Poll::Ready(Some(()));
            }
            // Wake-up source one: whoever dispatches next (any receiver,
            // any runtime) wakes this waker. Registered before the re-check
            // below; the waiters lock orders the two with `dispatch`.
            self.slot.add_waiter(self.id, cx.waker());
            // Wake-up source two: a byte in the socket (nobody has
            // dispatched yet); if there is one, dispatch it here.
            match self.pipe.registration().poll_ready(cx, Direction::Read) {
                Poll::Ready(Ok(ev)) => {
                    if !self.globals.dispatch() {
                        // The socket could not be read dry (an error no
                        // socket pair is known to give): keep the
                        // readiness and try again on the next poll rather
                        // than spin here.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    // Read dry: clear what was observed (tick-guarded, so
                    // an edge that came since survives).
                    self.pipe.registration().clear_readiness(ev);
                }
                Poll::Ready(Err(_)) => {
                    self.slot.remove_waiter(self.id);
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    return if self.take_delivery() { Poll::Ready(Some(())) } else { Poll::Pending };
                }
            }
        }
    }

    /// Reports a dispatch this receiver has not seen yet.
    fn take_delivery(&mut self) -> bool {
        let seq = self.slot.seq();
        if seq != self.seen {
            self.seen = seq;
            true
        } else {
            false
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.slot.remove_waiter(self.id);
    }
}
