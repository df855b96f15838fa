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

/// The two inputs of the active-worker target (in `Synced`: changed
/// under the scheduler's lock).
#[derive(Debug)]
pub(crate) struct Target {
    /// What the CPU quota allows (the monitor's topology part sets it).
    quota: usize,
    /// Workers currently compensated for (stalled or in `block_in_place`).
    compensations: usize,
}

impl Target {
    pub(crate) fn new(quota: usize) -> Target {
        Target { quota, compensations: 0 }
    }
}

/// What `rescue_stalled` did for a stalled worker.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(all(test, loom), allow(dead_code))]
pub(crate) enum Rescue {
    /// Nothing to hand off, or a compensation is already held.
    Nothing,
    /// Another worker is free to take the work; one was notified.
    Woken,
    /// A compensation began: the caller ends it when the poll returns.
    Compensated,
    /// Every slot is already active: no spare left to compensate.
    NoSpare,
}

impl Shared {
    /// Sets the quota part of the target; returns the previous quota part.
    #[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's; no monitor under loom
    pub(crate) fn set_quota_target(&self, n: usize) -> usize {
        let mut synced = self.synced.lock();
        let before = std::mem::replace(&mut synced.target.quota, n);
        self.apply_target(&synced.target);
        before
    }

    /// One more blocked worker to compensate for: raises the target by one
    /// (reactivating a retired slot, which searches and steals the blocked
    /// worker's queue). Returns false if every slot is already active (the
    /// runtime has no spare left; nothing changed).
    pub(crate) fn begin_compensation(&self) -> bool {
        let mut synced = self.synced.lock();
        let t = &mut synced.target;
        if t.quota + t.compensations >= self.num_workers() {
            return false;
        }
        t.compensations += 1;
        self.apply_target(t);
        true
    }

    /// A compensated worker is back: lowers the target by one (the highest
    /// active slot retires at its next scheduling point).
    pub(crate) fn end_compensation(&self) {
        let mut synced = self.synced.lock();
        let t = &mut synced.target;
        debug_assert!(t.compensations > 0);
        t.compensations = t.compensations.saturating_sub(1);
        self.apply_target(t);
    }

    /// The monitor found worker `index` stalled in a poll: make sure its
    /// work has somewhere to go. Its runnext task moves to the injector;
    /// then, if it has queued work (local queue, timers: `has_timers`, or
    /// the injector) and no compensation is held for this stall yet
    /// (`compensated`), a parked or searching worker is woken for it, or,
    /// with none free, a compensation begins (docs/design/stalls.md).
    /// Called on every sample while the stall lasts.
    #[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's; no monitor under loom
    pub(crate) fn rescue_stalled(&self, index: usize, has_timers: bool, compensated: bool) -> Rescue {
        // Its runnext slot: only the owner and the monitor take from it,
        // and the owner is inside the stalled poll. To the injector (with a
        // notify), where any worker finds it.
        if let Some(task) = self.remotes[index].runnext.steal() {
            self.schedule_remote(task);
        }
        let remote = &self.remotes[index];
        let has_work = remote.has_queued_work() || has_timers || self.has_injected_work();
        if !has_work || compensated {
            return Rescue::Nothing;
        }
        let idle = self.idle.load();
        let someone_free =
            idle.num_searching() > 0 || idle.num_unparked() + idle.num_retired() < self.num_workers();
        if someone_free {
            // A parked or searching worker will take the queue (stealers work
            // from any thread); make sure one is awake.
            let _ = self.notify_parked();
            return Rescue::Woken;
        }
        if self.begin_compensation() {
            Rescue::Compensated
        } else {
            Rescue::NoSpare
        }
    }

    /// Workers compensated for right now.
    pub(crate) fn compensations(&self) -> usize {
        self.synced.lock().target.compensations
    }

    /// Called with the `synced` lock held, so concurrent changes apply in
    /// the order they were counted.
    fn apply_target(&self, t: &Target) {
        let n = (t.quota + t.compensations).clamp(1, self.num_workers());
        self.set_active_workers(n);
    }
}
