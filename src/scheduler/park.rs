//! A worker's private parker: blocks the thread until `unpark`, with no
//! spinning and no lost token.
//!
//! Not `std::thread::park`: a task that calls `thread::park` itself (or a
//! library that does) would consume that token and lose our wake-up. This
//! parker's token is reachable only through weft.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Condvar, Mutex};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

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
        // Fast path: a token is already there.
        if self.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst).is_ok() {
            return;
        }
        let mut guard = self.lock.lock();
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // The token arrived while we took the lock.
                let old = self.state.swap(EMPTY, SeqCst);
                debug_assert_eq!(old, NOTIFIED);
                return;
            }
            Err(actual) => unreachable!("parker in state {actual} while parking (two parkers?)"),
        }
        loop {
            guard = self.cvar.wait(guard);
            // Condvars wake spuriously; only a token ends the wait.
            if self.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst).is_ok() {
                return;
            }
        }
    }

    /// Makes a token available, waking the thread if it is blocked.
    pub(crate) fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Take the lock so the notification cannot slip between the
                // parker's state check and its wait.
                drop(self.lock.lock());
                self.cvar.notify_one();
            }
            actual => unreachable!("parker in unknown state {actual}"),
        }
    }
}
