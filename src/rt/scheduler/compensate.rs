//! Compensating workers (Go's hand-off of a P whose M is stuck in a
//! system call): while a worker is blocked, in a poll that does not return
//! (a stall the monitor found) or inside `task::block_in_place`, another
//! worker is let in to run the queued tasks.
//!
//! The mechanism is the active-worker target of docs/design/topology.md:
//! the runtime has `spare` worker slots above its worker threads (threads
//! that start retired), and the target becomes `quota target + number of
//! compensations`, clamped to the slots. Raising the target reactivates the
//! lowest retired slot (it comes back searching and steals the blocked
//! worker's queue); lowering it again retires the highest active slot at
//! its next scheduling point, which hands its queue to the injector. So a
//! compensation reuses the retire/reactivate protocol that the loom models
//! in loom-tests/active.rs check; this file only keeps the count.
//!
//! docs/design/stalls.md has the whole design.

use super::Shared;
use crate::loom::sync::Mutex;

/// The two inputs of the active-worker target.
#[derive(Debug)]
pub(crate) struct Target {
    /// What the CPU quota allows (the monitor's topology part sets it).
    quota: usize,
    /// Workers currently compensated for (stalled or in `block_in_place`).
    compensations: usize,
}

impl Target {
    pub(crate) fn new(quota: usize) -> Mutex<Target> {
        Mutex::new(Target { quota, compensations: 0 })
    }
}

impl Shared {
    /// Sets the quota part of the target; returns the previous quota part.
    #[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's; no monitor under loom
    pub(crate) fn set_quota_target(&self, n: usize) -> usize {
        let mut t = self.target.lock();
        let before = std::mem::replace(&mut t.quota, n);
        self.apply_target(&t);
        before
    }

    /// One more blocked worker to compensate for: raises the target by one
    /// (reactivating a retired slot, which searches and steals the blocked
    /// worker's queue). Returns false if every slot is already active (the
    /// runtime has no spare left; nothing changed).
    pub(crate) fn begin_compensation(&self) -> bool {
        let mut t = self.target.lock();
        if t.quota + t.compensations >= self.num_workers() {
            return false;
        }
        t.compensations += 1;
        self.apply_target(&t);
        true
    }

    /// A compensated worker is back: lowers the target by one (the highest
    /// active slot retires at its next scheduling point).
    pub(crate) fn end_compensation(&self) {
        let mut t = self.target.lock();
        debug_assert!(t.compensations > 0);
        t.compensations = t.compensations.saturating_sub(1);
        self.apply_target(&t);
    }

    /// Workers compensated for right now.
    pub(crate) fn compensations(&self) -> usize {
        self.target.lock().compensations
    }

    /// Called with the `target` lock held, so concurrent changes apply in
    /// the order they were counted.
    fn apply_target(&self, t: &Target) {
        let n = (t.quota + t.compensations).clamp(1, self.num_workers());
        self.set_active_workers(n);
    }
}
