//! The state a worker owns outright (`Core`): its local queue and runnext
//! slot, its counters, its random victim choice. The queue operations on
//! it are in `queue.rs`.

use super::runnext::Runnext;
use super::stats::LocalStats;
use crate::loom::deque::Worker;
use crate::loom::sync::Arc;
use crate::rt::task::Notified;
use crate::rt::task::Priority;
use crate::rt::trace::{Kind, Recorder};

/// A small xorshift generator for victim selection (no shared state).
#[derive(Debug)]
pub(crate) struct FastRand(u64);

impl FastRand {
    pub(crate) fn new(seed: u64) -> FastRand {
        FastRand(seed | 1)
    }

    /// A number in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (((x >> 32) * n as u64) >> 32) as usize
    }
}

/// The state a worker owns outright. Lives on the worker's stack, or in its
/// thread-local context while a task is being polled (so that `spawn` and
/// wakes from that task can reach the local queue).
pub(crate) struct Core {
    pub(crate) index: usize,
    /// The Normal class's deque (the only one a runtime without classes
    /// uses).
    pub(crate) local: Worker<Notified>,
    /// The Critical and Background classes' deques (`class.rs`).
    pub(crate) crit: Worker<Notified>,
    pub(crate) bg: Worker<Notified>,
    /// The class of the task this worker last put in runnext: the class of
    /// whatever `runnext.take()` returns (only the owner fills the slot;
    /// the monitor only empties it). Never Background.
    pub(crate) runnext_class: Priority,
    /// Position in the weighted pick's cycle (`class::SHARES`).
    pub(crate) pick: u8,
    /// This worker holds a background-cap token (`class::BgTokens`).
    pub(crate) bg_token: bool,
    /// The task to run next (a task woken or spawned by the running task);
    /// shared with `Remote::runnext` so the monitor can take it from a
    /// stalled worker.
    pub(crate) runnext: Arc<Runnext>,
    /// Consecutive polls taken from runnext.
    pub(crate) runnext_streak: u8,
    pub(crate) tick: u32,
    pub(crate) is_searching: bool,
    /// This worker was the last searcher and found work: once the poll it
    /// is starting returns, it wakes another worker if stealable work is
    /// left (`Worker::run_task`).
    pub(crate) notify_after_poll: bool,
    pub(crate) rand: FastRand,
    pub(crate) stats: LocalStats,
    /// Wakers collected by a netpoll on this worker, woken with the core
    /// installed (kept to reuse the allocation).
    pub(crate) io_wakers: Vec<std::task::Waker>,
    /// True while the worker wakes what a netpoll or a timer pass
    /// collected: wakes then skip the per-push `notify_parked_local`, and
    /// the worker notifies once afterwards (a batch of wakes costs at most
    /// one unpark, not one per stealable push).
    pub(crate) is_dispatching: bool,
    /// Consecutive searches that found nothing on this worker's own NUMA
    /// node; other nodes are searched once it reaches
    /// `REMOTE_STEAL_AFTER` (docs/design/topology.md).
    pub(crate) local_steal_failures: u32,
    /// The worker's latest clock reading (`clock::now_ns`): exact at timed
    /// polls, refreshed every maintenance tick and around parks; what
    /// untimed polls stamp their task with.
    pub(crate) now: u64,
    /// When the busy time was last accounted (`Worker::mark_clock`).
    pub(crate) busy_mark: u64,
    /// This worker's flight-recorder ring, written only through the core
    /// (`rt::trace`).
    pub(crate) trace: Recorder,
}

impl Core {
    pub(crate) fn new(index: usize, queues: [Worker<Notified>; 3], runnext: Arc<Runnext>, seed: u64) -> Core {
        let [crit, local, bg] = queues;
        Core {
            index,
            local,
            crit,
            bg,
            runnext_class: Priority::Normal,
            pick: 0,
            bg_token: false,
            runnext,
            runnext_streak: 0,
            tick: 0,
            is_searching: false,
            notify_after_poll: false,
            rand: FastRand::new(seed),
            stats: LocalStats::default(),
            io_wakers: Vec::new(),
            is_dispatching: false,
            local_steal_failures: 0,
            now: 0,
            busy_mark: 0,
            trace: Recorder::default(),
        }
    }
}

impl Core {
    /// Records a flight-recorder event stamped with the cached clock.
    #[inline]
    pub(crate) fn record(&mut self, kind: Kind, subject: u64, arg: u64) {
        self.trace.record(self.now, kind, subject, arg);
    }
}

/// A random seed for worker `index`'s victim choice.
pub(crate) fn random_seed(index: usize) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(index);
    h.finish()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::FastRand;

    #[test]
    fn fastrand_stays_in_range_and_covers_it() {
        let mut r = FastRand::new(42);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let v = r.below(7);
            assert!(v < 7);
            seen[v] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
