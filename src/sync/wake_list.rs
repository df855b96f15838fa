//! A small batch of wakers collected under a lock and woken after it is
//! released (waking under the lock would run foreign code, possibly a
//! whole executor's schedule, while other threads wait for the lock).

use std::task::Waker;

/// Wakers held at once; a caller that fills the batch releases its lock,
/// wakes them and takes the lock again.
const CAPACITY: usize = 32;

pub(crate) struct WakeList {
    wakers: [Option<Waker>; CAPACITY],
    len: usize,
}

impl WakeList {
    pub(crate) fn new() -> WakeList {
        WakeList { wakers: [const { None }; CAPACITY], len: 0 }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == CAPACITY
    }

    /// Adds a waker. Caller checks `is_full` first.
    pub(crate) fn push(&mut self, waker: Option<Waker>) {
        debug_assert!(!self.is_full(), "WakeList overflow: wake the batch first");
        if let Some(w) = waker {
            self.wakers[self.len] = Some(w);
            self.len += 1;
        }
    }

    /// Wakes and empties the batch.
    pub(crate) fn wake_all(&mut self) {
        for slot in &mut self.wakers[..self.len] {
            if let Some(w) = slot.take() {
                w.wake();
            }
        }
        self.len = 0;
    }
}

impl Drop for WakeList {
    /// A batch dropped by a panic still wakes its waiters: a lost wake-up
    /// would hang them forever.
    fn drop(&mut self) {
        self.wake_all();
    }
}
