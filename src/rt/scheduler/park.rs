//! A worker's private parker: blocks the thread until `unpark`, with no
//! spinning and no lost token. A parked worker blocks either on its own
//! condvar or, if it owns the netpoller, inside the blocking poll; `unpark`
//! knows which from the state word and writes the netpoller's waker for the
//! latter.
//!
//! Not `std::thread::park`: a task that calls `thread::park` itself (or a
//! library that does) would consume that token and lose our wake-up. This
//! parker's token is reachable only through weft.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Condvar, Mutex};
use crate::rt::netpoll::{Driver, DriverGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;
/// Blocked in the netpoller (this worker holds it).
const PARKED_DRIVER: usize = 3;

#[derive(Debug)]
pub(crate) struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker { state: AtomicUsize::new(EMPTY), lock: Mutex::new(()), cvar: Condvar::new() }
    }

    /// Blocks until a token is available, then consumes it. Returns at
    /// once if `unpark` was called since the last `park`.
    ///
    /// SeqCst on the state word: every access is an RMW or under the lock;
    /// SeqCst keeps the reasoning to one total order (Acquire on taking the
    /// token pairs with the Release half of `unpark`'s swap, which is what
    /// publishes whatever the unparker wrote before waking us).
    pub(crate) fn park(&self) {
        self.park_until(None);
    }

    /// `park`, but runs `on_asleep` once this parker counts as asleep
    /// (`is_asleep`), before blocking. A `block_on` thread uses it to tell
    /// a paused clock's owner to look again: that owner reads
    /// `is_asleep` after `on_asleep` ran, or blocks until it runs.
    pub(crate) fn park_then(&self, on_asleep: impl FnOnce()) {
        self.park_inner(None, on_asleep);
    }

    /// True while the thread is blocked in `park` with no token pending.
    pub(crate) fn is_asleep(&self) -> bool {
        // SeqCst: as every access of the state word (see `park`).
        self.state.load(SeqCst) == PARKED
    }

    /// `park`, but gives up at `deadline` (if any). Returns true if it
    /// consumed a token, false if the deadline passed first.
    pub(crate) fn park_until(&self, deadline: Option<Instant>) -> bool {
        self.park_inner(deadline, || {})
    }

    fn park_inner(&self, deadline: Option<Instant>, on_asleep: impl FnOnce()) -> bool {
        // Fast path: a token is already there.
        if self.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst).is_ok() {
            return true;
        }
        let mut guard = self.lock.lock();
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // The token arrived while we took the lock.
                let old = self.state.swap(EMPTY, SeqCst);
                debug_assert_eq!(old, NOTIFIED);
                return true;
            }
            Err(actual) => unreachable!("parker in state {actual} while parking (two parkers?)"),
        }
        on_asleep();
        loop {
            let timed_out = match deadline {
                None => {
                    guard = self.cvar.wait(guard);
                    false
                }
                Some(deadline) => {
                    let (g, timed_out) = self.cvar.wait_until(guard, deadline);
                    guard = g;
                    timed_out
                }
            };
            // Condvars wake spuriously; only a token or the deadline ends
            // the wait.
            if self.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst).is_ok() {
                return true;
            }
            if timed_out {
                // Leave PARKED; if a token raced in, take it (the CAS fails
                // only on NOTIFIED, which the swap consumes).
                if self.state.compare_exchange(PARKED, EMPTY, SeqCst, SeqCst).is_err() {
                    self.state.swap(EMPTY, SeqCst);
                    return true;
                }
                return false;
            }
        }
    }

    /// `unpark_worker` for a parker that never parks in a netpoller (the
    /// `block_on` thread's).
    pub(crate) fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                drop(self.lock.lock());
                self.cvar.notify_one();
            }
            actual => unreachable!("parker in state {actual} on unpark"),
        }
    }

    /// Parks inside the netpoller: blocks in `guard.poll(timeout)` unless a
    /// token is already there, in which case it consumes it and returns 0.
    /// Returns the number of I/O events applied (wakers in `wakers`). A
    /// token that arrives during the poll is consumed on return (the
    /// unparker's `Driver::wake` is what ended the poll).
    pub(crate) fn park_driver(
        &self,
        guard: &mut DriverGuard<'_>,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
    ) -> usize {
        // SeqCst (as in `park`): the CAS publishes PARKED_DRIVER before we
        // block; an unparker's swap that reads it writes the waker, which
        // the poll sees (or the next poll, harmlessly).
        match self.state.compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // Consume the token. A swap, not a store: loom 0.7 can let a
                // later RMW (an unparker's swap) read the NOTIFIED before a
                // plain store in modification order (tokio-rs/loom#254), so
                // the unparker would see a token still pending, skip the
                // wake, and we would then block in the poller for good; a
                // model deadlock no real execution has. Every write of
                // `state` on this path is an RMW for that reason (see
                // netpoll's sys_shell.rs).
                self.state.swap(EMPTY, SeqCst);
                return 0;
            }
            Err(actual) => unreachable!("parker in state {actual} while parking (two parkers?)"),
        }
        let events = guard.poll(timeout, wakers);
        // Whatever happened (event, timeout, wake), leave the parked state;
        // a token that arrived meanwhile is consumed here.
        self.state.swap(EMPTY, SeqCst);
        events
    }

    /// Makes a token available, waking the thread if it is blocked (on its
    /// condvar, or in the netpoller of `driver`).
    pub(crate) fn unpark_worker(&self, driver: &Driver) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Take the lock so the notification cannot slip between the
                // parker's state check and its wait.
                drop(self.lock.lock());
                self.cvar.notify_one();
            }
            PARKED_DRIVER => driver.wake(),
            actual => unreachable!("parker in unknown state {actual}"),
        }
    }
}
