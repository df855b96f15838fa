//! Signals as futures: [`ctrl_c`], and on Unix [`unix::signal`] for any
//! signal.
//!
//! Delivery uses the runtime's own netpoller, with no extra thread: a
//! process-wide handler (installed through `signal-hook-registry` the
//! first time a signal is listened for) marks the signal pending and
//! writes a byte to a self-pipe; receivers wait for that pipe on the
//! netpoller of the runtime they were created in, so a signal wakes every
//! receiver of every runtime in the process.
//!
//! - Every receiver sees every delivery that happens after it was created
//!   at least once. Deliveries close together may be seen as one (as the
//!   kernel itself merges a pending signal), but the last one is never
//!   lost.
//! - Once a signal has a handler it keeps it for the life of the process:
//!   after `ctrl_c()` has been called, Ctrl-C no longer terminates the
//!   process, also when no receiver is left.
//! - Receivers must be created inside a runtime (in a task, in
//!   `block_on`, or under `Handle::enter`).
//!
//! ```no_run
//! # // `no_run`: it waits for a Ctrl-C that a doctest never gets.
//! #[weft::main]
//! async fn main() {
//!     weft::spawn(async { /* serve */ });
//!     weft::signal::ctrl_c().await.expect("install the SIGINT handler");
//!     println!("shutting down");
//! }
//! ```
//!
//! A reload-on-`SIGHUP` loop, with the signal raised by the example
//! itself:
//!
//! ```
//! use weft::signal::unix::{signal, SignalKind};
//!
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     let mut hup = signal(SignalKind::hangup()).unwrap();
//!     let reloader = weft::spawn(async move {
//!         hup.recv().await.unwrap();
//!         "reloaded"
//!     });
//!     // SAFETY: kill(2) and getpid(2) have no memory-safety obligations.
//!     unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
//!     assert_eq!(reloader.await.unwrap(), "reloaded");
//! });
//! ```

// Under loom only the slot protocol is built (loom-tests/signal.rs): the
// rest needs real file descriptors and the netpoller.
#[cfg(not(all(test, loom)))]
mod driver;
pub(crate) mod slot;
#[cfg(not(all(test, loom)))]
pub mod unix;

#[cfg(not(all(test, loom)))]
use std::io;

/// Completes at the next Ctrl-C (`SIGINT`) delivered after the call.
///
/// The first call installs the process-wide `SIGINT` handler, which stays
/// for the life of the process: from then on Ctrl-C no longer terminates
/// the process by itself. To catch every Ctrl-C, keep one receiver
/// ([`unix::signal`] with [`SignalKind::interrupt`](unix::SignalKind::interrupt))
/// rather than calling `ctrl_c()` in a loop: a Ctrl-C that arrives
/// between two calls is not seen by the second.
///
/// Errors if called outside a runtime or if the handler cannot be
/// installed.
#[cfg(not(all(test, loom)))]
#[track_caller]
pub fn ctrl_c() -> impl std::future::Future<Output = io::Result<()>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Signal, async move {
        let mut sig = unix::signal(unix::SignalKind::interrupt())?;
        // `None` only once the runtime shut down: nothing will come.
        match sig.recv().await {
            Some(()) => Ok(()),
            None => Err(io::Error::other("weft: the runtime shut down while waiting for Ctrl-C")),
        }
    })
}
