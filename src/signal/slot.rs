//! One signal number's state: the handler's `pending` flag, the count of
//! dispatched deliveries (`seq`) and the receivers waiting for the next.
//!
//! The handler calls `mark_pending`; a dispatch, after it has read the
//! self-pipe dry, calls `publish`; receivers read `seq` and register in
//! `waiters`. The protocol and the argument that no delivery is lost are
//! in docs/design/signal-process.md ("No lost signal"); the loom model is
//! loom-tests/signal.rs. Nothing here touches a file descriptor, so the
//! same code runs under loom.

use crate::loom::sync::atomic::{
    AtomicBool, AtomicU64,
    Ordering::{AcqRel, Acquire, Release},
};
use crate::loom::sync::Mutex;
use std::task::Waker;

pub(crate) struct Slot {
    /// Set by the handler, cleared by `publish`.
    pending: AtomicBool,
    /// Dispatched deliveries of this signal so far (coalesced).
    seq: AtomicU64,
    /// True once the handler is installed (the driver writes it under its
    /// install lock).
    #[cfg_attr(all(test, loom), allow(dead_code))]
    installed: AtomicBool,
    /// Receivers waiting for the next `seq`, by receiver id. Taken (all of
    /// them) by `publish`; a receiver puts itself back each time it
    /// returns `Pending`.
    waiters: Mutex<Vec<(u64, Waker)>>,
}

impl Slot {
    pub(crate) fn new() -> Slot {
        Slot {
            pending: AtomicBool::new(false),
            seq: AtomicU64::new(0),
            installed: AtomicBool::new(false),
            waiters: Mutex::new(Vec::new()),
        }
    }

    #[cfg_attr(all(test, loom), allow(dead_code))]
    pub(crate) fn installed(&self) -> &AtomicBool {
        &self.installed
    }

    /// The handler's half: async-signal-safe (one lock-free atomic
    /// operation). Release: pairs with the AcqRel swap in `publish`.
    pub(crate) fn mark_pending(&self) {
        // A swap, not a store: every write of `pending` is an RMW, because
        // loom 0.7 does not order a plain store after a concurrent RMW in
        // the modification order (tokio-rs/loom#254, #389), and would
        // report a lost delivery that no real execution has. Equally
        // async-signal-safe: `AtomicBool` is lock-free.
        let _ = self.pending.swap(true, Release);
    }

    /// The dispatcher's half, after the self-pipe was read dry: if the
    /// signal is pending, clear the flag, bump `seq`, and wake every
    /// waiter. Returns whether it was pending.
    pub(crate) fn publish(&self) -> bool {
        // AcqRel: Acquire pairs with the handler's Release swap, so what
        // the handler's thread did before the signal is visible; Release
        // orders the clear before this dispatch's later work.
        if !self.pending.swap(false, AcqRel) {
            return false;
        }
        // Release: pairs with the Acquire load in `seq`.
        self.seq.fetch_add(1, Release);
        // Taken under the lock after the bump: a receiver that registers
        // before this lock is woken here; one that registers after it
        // re-reads `seq` under the same lock's order and sees the bump.
        let waiters = std::mem::take(&mut *self.waiters.lock());
        for (_, waker) in waiters {
            waker.wake();
        }
        true
    }

    /// Whether a delivery waits to be published (models).
    #[cfg(all(test, loom))]
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.load(Acquire)
    }

    /// The dispatched count. Acquire: pairs with the Release `fetch_add`
    /// in `publish`.
    pub(crate) fn seq(&self) -> u64 {
        self.seq.load(Acquire)
    }

    /// Registers (or refreshes) receiver `id`'s waker. A receiver calls
    /// this and then re-reads `seq` before it returns `Pending`.
    pub(crate) fn add_waiter(&self, id: u64, waker: &Waker) {
        let mut waiters = self.waiters.lock();
        match waiters.iter_mut().find(|(i, _)| *i == id) {
            Some((_, w)) => {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
            }
            None => waiters.push((id, waker.clone())),
        }
    }

    pub(crate) fn remove_waiter(&self, id: u64) {
        self.waiters.lock().retain(|(i, _)| *i != id);
    }
}
