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
use crate::rt::task::Priority;

/// Buckets of the poll-duration histogram: bucket `k < POLL_BUCKETS - 1`
/// holds polls of at most `POLL_BUCKET_FIRST_NS << k` ns (1 us, 2 us, 4 us,
/// ... 2^20 us = 1.05 s); the last bucket holds the longer ones.
pub(crate) const POLL_BUCKETS: usize = 22;
/// Upper bound of the first bucket (1 us).
pub(crate) const POLL_BUCKET_FIRST_NS: u64 = 1_000;

/// A worker times one poll in this many: timing a poll takes two clock
/// reads, which cost as much as a cheap poll, so the poll-duration
/// histogram and the tasks' last poll durations are a 1-in-32 sample.
/// Go's scheduler-latency histogram samples 1 transition in 8; a denser
/// sample puts the clock reads back on the profile of yield-heavy loads
/// (docs/benchmarks.md, "Why the code is shaped this way"). A power of
/// two, so the test is a mask.
pub(crate) const POLL_TIMING_SAMPLE: u64 = if crate::loom::IS_LOOM { 1 } else { 32 };

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
    /// Time not parked (running tasks, searching, dispatching), ns;
    /// accounted at maintenance ticks and around parks.
    pub(crate) busy_ns: u64,
    /// I/O events this worker's netpolls returned.
    pub(crate) netpoll_events: u64,
    /// Timers this worker fired (its own shard's and others').
    pub(crate) timers_fired: u64,
    /// Poll-duration histogram (`poll_bucket`) of the timed polls.
    pub(crate) poll_hist: [u64; POLL_BUCKETS],
    /// Sum of the timed polls' durations, ns.
    pub(crate) poll_hist_sum_ns: u64,
    /// Schedule-latency histogram (same buckets): for the sampled
    /// notifications, the time from the stamp to the poll's start.
    pub(crate) sched_hist: [u64; POLL_BUCKETS],
    /// Sum of the sampled schedule latencies, ns.
    pub(crate) sched_hist_sum_ns: u64,
    /// The samples of `sched_hist` that were Critical (`[0]`) and
    /// Background (`[1]`) tasks, and their sums: Normal's are the rest,
    /// so a runtime without classes never writes these.
    pub(crate) sched_hist_class: [[u64; POLL_BUCKETS]; 2],
    pub(crate) sched_hist_class_sum_ns: [u64; 2],
    /// Samples in each of `sched_hist_class` (what `publish` compares).
    pub(crate) sched_hist_class_samples: [u64; 2],
    /// Polls by class (`Priority::index`), counted by the weighted pick
    /// for Critical and Background only, so a runtime without classes pays
    /// nothing for them; Normal's slot stays 0 (its polls are the rest of
    /// `polls`).
    pub(crate) class_polls: [u64; 3],
}

impl LocalStats {
    /// One timed poll of `ns` nanoseconds.
    pub(crate) fn record_poll(&mut self, ns: u64) {
        self.poll_hist_sum_ns += ns;
        self.poll_hist[poll_bucket(ns)] += 1;
    }

    /// One sampled schedule latency of `ns` nanoseconds.
    pub(crate) fn record_schedule_latency(&mut self, ns: u64, class: Priority) {
        let bucket = poll_bucket(ns);
        self.sched_hist_sum_ns = self.sched_hist_sum_ns.saturating_add(ns);
        self.sched_hist[bucket] += 1;
        let slot = match class {
            Priority::Critical => 0,
            Priority::Background => 1,
            _ => return,
        };
        self.sched_hist_class_sum_ns[slot] = self.sched_hist_class_sum_ns[slot].saturating_add(ns);
        self.sched_hist_class_samples[slot] += 1;
        self.sched_hist_class[slot][bucket] += 1;
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
    poll_hist_sum_ns: StatAtomicU64,
    sched_hist: [StatAtomicU64; POLL_BUCKETS],
    sched_hist_sum_ns: StatAtomicU64,
    sched_hist_class: [[StatAtomicU64; POLL_BUCKETS]; 2],
    sched_hist_class_sum_ns: [StatAtomicU64; 2],
    sched_hist_class_samples: [StatAtomicU64; 2],
    class_polls: [StatAtomicU64; 3],
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
        self.poll_hist_sum_ns.store(s.poll_hist_sum_ns, Relaxed);
        for (dst, src) in self.poll_hist.iter().zip(&s.poll_hist) {
            dst.store(*src, Relaxed);
        }
        self.sched_hist_sum_ns.store(s.sched_hist_sum_ns, Relaxed);
        for (dst, src) in self.sched_hist.iter().zip(&s.sched_hist) {
            dst.store(*src, Relaxed);
        }
        for (dst, src) in self.class_polls.iter().zip(&s.class_polls) {
            dst.store(*src, Relaxed);
        }
        // A class's samples change only where that class runs: a runtime
        // without classes skips these stores after one compare each.
        for c in 0..2 {
            if s.sched_hist_class_samples[c] != self.sched_hist_class_samples[c].load(Relaxed) {
                self.sched_hist_class_samples[c].store(s.sched_hist_class_samples[c], Relaxed);
                self.sched_hist_class_sum_ns[c].store(s.sched_hist_class_sum_ns[c], Relaxed);
                for (dst, src) in self.sched_hist_class[c].iter().zip(&s.sched_hist_class[c]) {
                    dst.store(*src, Relaxed);
                }
            }
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
            poll_hist_sum_ns: self.poll_hist_sum_ns.load(Relaxed),
            sched_hist: std::array::from_fn(|k| self.sched_hist[k].load(Relaxed)),
            sched_hist_sum_ns: self.sched_hist_sum_ns.load(Relaxed),
            sched_hist_class: std::array::from_fn(|c| {
                std::array::from_fn(|k| self.sched_hist_class[c][k].load(Relaxed))
            }),
            sched_hist_class_sum_ns: std::array::from_fn(|c| self.sched_hist_class_sum_ns[c].load(Relaxed)),
            sched_hist_class_samples: std::array::from_fn(|c| self.sched_hist_class_samples[c].load(Relaxed)),
            class_polls: std::array::from_fn(|k| self.class_polls[k].load(Relaxed)),
        }
    }
}

/// What the monitor samples of one worker (one cache-padded slot each):
/// a poll counter and the task being polled, plus the stall events the
/// monitor counted there. No clock on the worker's side: the monitor sees
/// the same poll (same odd `seq`) in samples far enough apart and times it
/// with its own clock, as Go's sysmon compares a P's `schedtick` between
/// its rounds.
///
/// `seq` is odd while a poll runs, even between polls. The worker writes
/// `task_id` then `seq` (Release) at a poll's start and `seq` again at its
/// end; the monitor loads `seq` (Acquire, pairs with that Release), then
/// `task_id`, then `seq` again: if both loads agree, the id belongs to that
/// poll. std atomics (also under loom): only the monitor reads them, and no
/// other memory is published through them.
#[derive(Debug, Default)]
pub(crate) struct PollStamp {
    seq: StatAtomicU64,
    task_id: StatAtomicU64,
    /// Stall events on this worker (written by the monitor only).
    pub(crate) stalls: StatAtomicU64,
    /// Polls the monitor saw for longer than the stall threshold in wall
    /// time while the thread was waiting for a CPU, not running or blocked
    /// (written by the monitor only; docs/design/stalls.md).
    pub(crate) descheduled: StatAtomicU64,
    /// The worker thread's kernel id, for the monitor's reads of its CPU
    /// time (0 until the thread starts, and where there is none). Written
    /// once by the worker thread as it starts.
    thread: StatAtomicU64,
    /// Tasks of this runtime that completed on this worker's thread
    /// (`Shared::count_completion`; written by that thread only).
    completions: StatAtomicU64,
    /// Where the monitor takes this worker's stack during a stall
    /// (`monitor::stack`); untouched by the poll path.
    pub(crate) stack: crate::rt::monitor::StackSlot,
    /// Feature `tracing`: the span id of the task being polled and the
    /// `seq` of the poll that set it (so the monitor never pairs one
    /// poll's stall with another poll's span). Written by the worker
    /// only, read by the monitor.
    #[cfg(feature = "tracing")]
    span: StatAtomicU64,
    #[cfg(feature = "tracing")]
    span_seq: StatAtomicU64,
}

impl PollStamp {
    /// The worker starts polling task `id`.
    pub(crate) fn begin(&self, id: u64) {
        // Relaxed: ordered before the Release store below.
        self.task_id.store(id, Relaxed);
        // Relaxed load: the worker is the only writer of `seq`.
        let seq = self.seq.load(Relaxed) | 1;
        // Release: pairs with the monitor's Acquire load in `sample`.
        self.seq.store(seq, Release);
    }

    /// The poll ended (or left the monitor's watch, as in
    /// `block_in_place`).
    pub(crate) fn end(&self) {
        // Relaxed: single writer; the monitor only needs to see it
        // eventually. Odd -> next even.
        let seq = self.seq.load(Relaxed);
        if seq & 1 == 1 {
            self.seq.store(seq + 1, Relaxed);
        }
    }

    /// Records the worker thread's kernel id (the worker, as it starts).
    pub(crate) fn set_thread(&self, tid: u64) {
        // Relaxed: the monitor reads it as a hint and copes with 0.
        self.thread.store(tid, Relaxed);
    }

    /// The worker thread's kernel id (0 = not known).
    pub(crate) fn thread(&self) -> u64 {
        // Relaxed: see `set_thread`.
        self.thread.load(Relaxed)
    }

    /// One more task completed on this worker's thread. Only that thread
    /// calls this (one thread per worker index for the runtime's life), so
    /// a load and a store do instead of an RMW.
    pub(crate) fn count_completion(&self) {
        // Relaxed load: single writer. Release store: pairs with the
        // Acquire load in `completions`, so a reader that sees this count
        // also sees the bind of the task it counts (the bind's unlock comes
        // before the task's first poll, which comes before this), and it is
        // program-ordered before the task's `transition_to_complete`, so a
        // joiner that saw COMPLETE (Acquire) sees it too.
        let n = self.completions.load(Relaxed);
        self.completions.store(n + 1, Release);
    }

    /// Tasks completed on this worker's thread.
    pub(crate) fn completions(&self) -> u64 {
        // Acquire: pairs with the Release store in `count_completion`.
        self.completions.load(Acquire)
    }

    /// The raw sequence number (odd while polling): changes with every
    /// poll, so the monitor can tell an idle worker from a busy one.
    #[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's; no monitor under loom
    pub(crate) fn seq(&self) -> u64 {
        // Relaxed: a heuristic read by the monitor.
        self.seq.load(Relaxed)
    }

    /// Feature `tracing`: the task being polled runs inside span `span`
    /// (the worker, from inside the poll).
    #[cfg(feature = "tracing")]
    pub(crate) fn set_span(&self, span: u64) {
        // Relaxed: the worker is the only writer of `seq`.
        let seq = self.seq.load(Relaxed);
        // Relaxed: published by the Release store of `span_seq` below.
        self.span.store(span, Relaxed);
        // Release: pairs with the Acquire load in `span_of`, so a monitor
        // that sees this poll's `seq` here reads this poll's span (or a
        // later one, which its recheck of the stamp rules out).
        self.span_seq.store(seq, Release);
    }

    /// Feature `tracing`: the span that poll `seq` runs inside, if it set
    /// one (the monitor). Valid only if the stamp still shows poll `seq`
    /// afterwards: then no later poll has written over it.
    #[cfg(feature = "tracing")]
    #[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's
    pub(crate) fn span_of(&self, seq: u64) -> Option<u64> {
        // Acquire: pairs with the Release store in `set_span`.
        if self.span_seq.load(Acquire) != seq {
            return None;
        }
        // Relaxed: ordered by the Acquire load above.
        let span = self.span.load(Relaxed);
        (span != 0).then_some(span)
    }

    /// The task id of the poll in progress (the worker's own view).
    pub(crate) fn task_id(&self) -> u64 {
        // Relaxed: read by the writer itself.
        self.task_id.load(Relaxed)
    }

    /// The poll in progress as (seq, task id), if one is.
    #[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's; no monitor under loom
    pub(crate) fn sample(&self) -> Option<(u64, u64)> {
        // Acquire: pairs with `begin`'s Release, so the id loaded next is
        // at least as new as this seq.
        let seq = self.seq.load(Acquire);
        if seq & 1 == 0 {
            return None;
        }
        let id = self.task_id.load(Relaxed);
        // Acquire: a later poll's `begin` would show up as another seq.
        (self.seq.load(Acquire) == seq).then_some((seq, id))
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
        s.begin(7);
        let (first, id) = s.sample().unwrap();
        assert_eq!(id, 7);
        s.end();
        assert_eq!(s.sample(), None);
        s.begin(8);
        let (second, id) = s.sample().unwrap();
        assert_eq!(id, 8);
        assert_ne!(first, second, "each poll has its own sequence number");
        s.end();
        s.end();
        assert_eq!(s.sample(), None);
    }
}
