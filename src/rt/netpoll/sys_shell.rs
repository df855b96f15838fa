//! The netpoller under loom: no OS poller, the same blocking and waking
//! behaviour. A blocking poll waits until `wake` (timeouts are not
//! modelled: loom has no clock); a zero timeout returns at once. It reports
//! no I/O events, so the models exercise ownership and wake-ups only.

use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::loom::sync::{Condvar, Mutex};
use std::io;
use std::task::Waker;
use std::time::Duration;

pub(crate) struct Poller;

/// Loom's stand-in for the registrar: no sources, only a wake flag the
/// parked poller waits on.
pub(crate) struct Registrar {
    woken: AtomicBool,
    lock: Mutex<()>,
    cvar: Condvar,
}

pub(crate) fn new(_capacity: usize) -> io::Result<(Poller, Registrar)> {
    Ok((Poller, Registrar { woken: AtomicBool::new(false), lock: Mutex::new(()), cvar: Condvar::new() }))
}

impl Registrar {
    pub(crate) fn wake(&self) {
        // SeqCst, like an eventfd write: the poll below reads it under the
        // lock, and the lock keeps the notify from slipping past its check.
        // A swap, not a store: every write of `woken` is an RMW, because
        // loom 0.7 does not order a plain store after a concurrent RMW in
        // the modification order (tokio-rs/loom#254, #389): a later RMW
        // could read the poller's older `swap(false)` over this store and
        // report a deadlock that no real execution has.
        let _ = self.woken.swap(true, SeqCst);
        drop(self.lock.lock());
        self.cvar.notify_one();
    }

    pub(crate) fn shutdown(&self) {}

    pub(crate) fn has_registrations(&self) -> bool {
        false
    }
}

pub(crate) fn poll(
    _poller: &mut Poller,
    registrar: &Registrar,
    timeout: Option<Duration>,
    _wakers: &mut Vec<Waker>,
) -> usize {
    if timeout == Some(Duration::ZERO) {
        // A swap for the reason given in `Registrar::wake`.
        let _ = registrar.woken.swap(false, SeqCst);
        return 0;
    }
    let mut guard = registrar.lock.lock();
    while !registrar.woken.swap(false, SeqCst) {
        guard = registrar.cvar.wait(guard);
    }
    drop(guard);
    0
}
