//! Per-worker counters.
//!
//! The worker counts into plain fields of its own `Core` (no atomics on the
//! hot path) and publishes them to its cache-padded `WorkerStats` slot with
//! Relaxed stores at maintenance ticks and before it parks. Readers
//! (`Runtime::metrics`) load them with Relaxed: each value is a monotone
//! counter with a single writer, and a snapshot needs no ordering with other
//! memory, only eventually fresh values.

use crate::loom::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters a worker keeps locally.
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct LocalStats {
    pub(crate) polls: u64,
    pub(crate) steal_operations: u64,
    pub(crate) steals: u64,
    pub(crate) parks: u64,
    pub(crate) runnext_hits: u64,
    pub(crate) overflows: u64,
    pub(crate) injector_pulls: u64,
    /// Steal operations whose victim ran on another NUMA node.
    pub(crate) remote_node_steals: u64,
    /// Times this worker retired (went above the active-worker target).
    pub(crate) retirements: u64,
}

/// The published copy, one cache-padded slot per worker.
#[derive(Default, Debug)]
pub(crate) struct WorkerStats {
    polls: AtomicU64,
    steal_operations: AtomicU64,
    steals: AtomicU64,
    parks: AtomicU64,
    runnext_hits: AtomicU64,
    overflows: AtomicU64,
    injector_pulls: AtomicU64,
    remote_node_steals: AtomicU64,
    retirements: AtomicU64,
}

impl WorkerStats {
    /// Single writer (the owning worker): plain Relaxed stores suffice.
    pub(crate) fn publish(&self, s: &LocalStats) {
        self.polls.store(s.polls, Relaxed);
        self.steal_operations.store(s.steal_operations, Relaxed);
        self.steals.store(s.steals, Relaxed);
        self.parks.store(s.parks, Relaxed);
        self.runnext_hits.store(s.runnext_hits, Relaxed);
        self.overflows.store(s.overflows, Relaxed);
        self.injector_pulls.store(s.injector_pulls, Relaxed);
        self.remote_node_steals.store(s.remote_node_steals, Relaxed);
        self.retirements.store(s.retirements, Relaxed);
    }

    pub(crate) fn read(&self) -> LocalStats {
        LocalStats {
            polls: self.polls.load(Relaxed),
            steal_operations: self.steal_operations.load(Relaxed),
            steals: self.steals.load(Relaxed),
            parks: self.parks.load(Relaxed),
            runnext_hits: self.runnext_hits.load(Relaxed),
            overflows: self.overflows.load(Relaxed),
            injector_pulls: self.injector_pulls.load(Relaxed),
            remote_node_steals: self.remote_node_steals.load(Relaxed),
            retirements: self.retirements.load(Relaxed),
        }
    }
}
