//! Per-worker counters.
//!
//! The worker counts into plain fields of its own `Core` (no atomics on the
//! hot path) and publishes them to its cache-padded `WorkerStats` slot with
//! Relaxed stores at maintenance ticks and before it parks. Readers
//! (`Runtime::metrics`) load them with Relaxed: each value is a monotone
//! counter with a single writer, and a snapshot needs no ordering with other
//! memory, only eventually fresh values.

use crate::loom::sync::atomic::{
    AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release, StatAtomicU64,
};

/// Buckets of the poll-duration histogram: bucket `k < POLL_BUCKETS - 1`
/// holds polls of at most `POLL_BUCKET_FIRST_NS << k` ns (1 us, 2 us, 4 us,
/// ... 2^20 us = 1.05 s); the last bucket holds the longer ones.
pub(crate) const POLL_BUCKETS: usize = 22;
/// Upper bound of the first bucket (1 us).
pub(crate) const POLL_BUCKET_FIRST_NS: u64 = 1_000;

/// The histogram bucket of a poll that took `ns`.
pub(crate) fn poll_bucket(ns: u64) -> usize {
    if ns <= POLL_BUCKET_FIRST_NS {
        return 0;
    }
    // Smallest k with ns <= FIRST << k: ceil(log2(ns / FIRST)).
    let q = (ns - 1) / POLL_BUCKET_FIRST_NS; // >= 1
    let k = (u64::BITS - q.leading_zeros()) as usize;
    k.min(POLL_BUCKETS - 1)
}

/// The inclusive upper bound in ns of bucket `k` (`None` for the last).
pub(crate) fn poll_bucket_bound_ns(k: usize) -> Option<u64> {
    (k < POLL_BUCKETS - 1).then(|| POLL_BUCKET_FIRST_NS << k)
}

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
    /// Time spent polling tasks, ns.
    pub(crate) busy_ns: u64,
    /// I/O events this worker's netpolls returned.
    pub(crate) netpoll_events: u64,
    /// Timers this worker fired (its own shard's and others').
    pub(crate) timers_fired: u64,
    /// Poll-duration histogram (`poll_bucket`).
    pub(crate) poll_hist: [u64; POLL_BUCKETS],
}

impl LocalStats {
    /// One poll of `ns` nanoseconds.
    pub(crate) fn record_poll(&mut self, ns: u64) {
        self.busy_ns += ns;
        self.poll_hist[poll_bucket(ns)] += 1;
    }
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
    busy_ns: StatAtomicU64,
    netpoll_events: StatAtomicU64,
    timers_fired: StatAtomicU64,
    poll_hist: [StatAtomicU64; POLL_BUCKETS],
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
        self.busy_ns.store(s.busy_ns, Relaxed);
        self.netpoll_events.store(s.netpoll_events, Relaxed);
        self.timers_fired.store(s.timers_fired, Relaxed);
        for (dst, src) in self.poll_hist.iter().zip(&s.poll_hist) {
            dst.store(*src, Relaxed);
        }
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
            busy_ns: self.busy_ns.load(Relaxed),
            netpoll_events: self.netpoll_events.load(Relaxed),
            timers_fired: self.timers_fired.load(Relaxed),
            poll_hist: std::array::from_fn(|k| self.poll_hist[k].load(Relaxed)),
        }
    }
}

/// What the monitor samples of one worker (one cache-padded slot each):
/// when the current poll started and which task it polls, plus the stall
/// events the monitor counted there.
///
/// The worker writes `task_id` then `started_ns` (Release) at a poll's
/// start and clears `started_ns` at its end; the monitor loads
/// `started_ns` (Acquire, pairs with that Release), then `task_id`, then
/// `started_ns` again: if both loads agree, the id belongs to that poll.
/// std atomics (also under loom): only the monitor reads them, and no other
/// memory is published through them.
#[derive(Debug, Default)]
pub(crate) struct PollStamp {
    started_ns: StatAtomicU64,
    task_id: StatAtomicU64,
    /// Stall events on this worker (written by the monitor only).
    pub(crate) stalls: StatAtomicU64,
}

impl PollStamp {
    /// The worker starts polling task `id` at `start` (a `clock` stamp).
    pub(crate) fn begin(&self, id: u64, start: u64) {
        // Relaxed: ordered before the Release store below.
        self.task_id.store(id, Relaxed);
        // Release: pairs with the monitor's Acquire load in `sample`.
        self.started_ns.store(start, Release);
    }

    /// The poll ended (or left the worker's accounting, as in
    /// `block_in_place`).
    pub(crate) fn end(&self) {
        // Relaxed: the monitor only needs to see it eventually.
        self.started_ns.store(0, Relaxed);
    }

    /// The current poll's (start, task id), if one is in progress.
    pub(crate) fn sample(&self) -> Option<(u64, u64)> {
        // Acquire: pairs with `begin`'s Release, so the id loaded next is
        // at least as new as this start.
        let start = self.started_ns.load(Acquire);
        if start == 0 {
            return None;
        }
        let id = self.task_id.load(Relaxed);
        // Acquire: a later poll's `begin` would show up as another start.
        (self.started_ns.load(Acquire) == start).then_some((start, id))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn poll_buckets_are_powers_of_two_microseconds() {
        assert_eq!(poll_bucket(0), 0);
        assert_eq!(poll_bucket(1_000), 0);
        assert_eq!(poll_bucket(1_001), 1);
        assert_eq!(poll_bucket(2_000), 1);
        assert_eq!(poll_bucket(2_001), 2);
        assert_eq!(poll_bucket(1_000 << 20), 20);
        assert_eq!(poll_bucket((1_000 << 20) + 1), 21);
        assert_eq!(poll_bucket(u64::MAX), POLL_BUCKETS - 1);
        for k in 0..POLL_BUCKETS - 1 {
            let b = poll_bucket_bound_ns(k).unwrap();
            assert_eq!(poll_bucket(b), k);
            assert_eq!(poll_bucket(b + 1), k + 1);
        }
        assert_eq!(poll_bucket_bound_ns(POLL_BUCKETS - 1), None);
    }

    #[test]
    fn a_stamp_is_sampled_only_while_a_poll_runs() {
        let s = PollStamp::default();
        assert_eq!(s.sample(), None);
        s.begin(7, 100);
        assert_eq!(s.sample(), Some((100, 7)));
        s.end();
        assert_eq!(s.sample(), None);
    }
}
