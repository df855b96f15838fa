//! One worker's counters in a snapshot.
//!
//! Every field but `local_queue_depth` and `stalls` comes from the worker's
//! published `WorkerStats` slot (`scheduler::stats`), which the worker
//! refreshes every `GLOBAL_POLL_INTERVAL` (61) ticks and before it parks;
//! `local_queue_depth` is read from the worker's queue at capture time and
//! `stalls` and `descheduled_polls` from the monitor's counters in the
//! worker's poll stamp; `cpu_wait` from the kernel's accounting of the
//! worker thread (`/proc/self/task/<tid>/schedstat`, one small read per
//! worker at capture time).

use super::histogram::PollHistogram;
use crate::loom::sync::atomic::Ordering::Relaxed;
use crate::rt::scheduler::stats::{PollStamp, WorkerStats};
use crate::rt::scheduler::Remote;
use crate::rt::task::Priority;
use std::time::Duration;

/// One worker's counters, from [`crate::metrics::RuntimeMetrics::workers`].
///
/// The same counters for a worker thread and for a spare slot
/// ([`RuntimeMetrics`](crate::metrics::RuntimeMetrics) says which is which).
/// Counters are monotone over the runtime's life; a busy worker's figures
/// may trail its true values by up to 61 polls.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     for _ in 0..10 {
///         weft::spawn(async {}).await.unwrap();
///     }
/// });
/// for (i, w) in rt.metrics().workers().iter().enumerate() {
///     println!(
///         "worker {i}: {} polls, {} parks, {} steals, queue {}, {} stalls",
///         w.polls(),
///         w.parks(),
///         w.steals(),
///         w.local_queue_depth(),
///         w.stalls()
///     );
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct WorkerMetrics {
    pub(super) polls: u64,
    pub(super) steals: u64,
    pub(super) steal_operations: u64,
    pub(super) parks: u64,
    pub(super) local_queue_depth: usize,
    pub(super) runnext_hits: u64,
    pub(super) overflows: u64,
    pub(super) injector_pulls: u64,
    pub(super) remote_node_steals: u64,
    pub(super) retirements: u64,
    pub(super) netpoll_events: u64,
    pub(super) timers_fired: u64,
    pub(super) stalls: u64,
    pub(super) descheduled_polls: u64,
    pub(super) cpu_wait_ns: u64,
    pub(super) busy_ns: u64,
    pub(super) poll_histogram: PollHistogram,
    pub(super) schedule_latency_histogram: PollHistogram,
    /// `schedule_latency_histogram` by class (`Priority::index`).
    pub(super) schedule_latency_by_class: [PollHistogram; 3],
    /// Polls and queued tasks by class (`Priority::index`).
    pub(super) class_polls: [u64; 3],
    pub(super) class_queue_depth: [usize; 3],
}

impl WorkerMetrics {
    /// Reads one worker's published counters, its queue's depth and its
    /// stall count.
    pub(super) fn capture(stats: &WorkerStats, remote: &Remote, stamp: &PollStamp) -> WorkerMetrics {
        let s = stats.read();
        let class_queue_depth = Priority::ALL.map(|class| remote.stealer_of(class).len());
        let (crit, bg) = (s.class_polls[0], s.class_polls[2]);
        // The pick counts Critical and Background polls; Normal's are the
        // rest (saturating: the counters are published together, but a
        // metric must not panic).
        let class_polls = [crit, s.polls.saturating_sub(crit + bg), bg];
        // Likewise the schedule-latency samples: the Critical and
        // Background ones are recorded apart, Normal's are the rest.
        let sched = PollHistogram::new(s.sched_hist, s.sched_hist_sum_ns);
        let sched_crit = PollHistogram::new(s.sched_hist_class[0], s.sched_hist_class_sum_ns[0]);
        let sched_bg = PollHistogram::new(s.sched_hist_class[1], s.sched_hist_class_sum_ns[1]);
        let sched_normal = sched.without(&sched_crit).without(&sched_bg);
        let schedule_latency_by_class = [sched_crit, sched_normal, sched_bg];
        WorkerMetrics {
            polls: s.polls,
            steals: s.steals,
            steal_operations: s.steal_operations,
            parks: s.parks,
            local_queue_depth: class_queue_depth.iter().sum(),
            runnext_hits: s.runnext_hits,
            overflows: s.overflows,
            injector_pulls: s.injector_pulls,
            remote_node_steals: s.remote_node_steals,
            retirements: s.retirements,
            netpoll_events: s.netpoll_events,
            timers_fired: s.timers_fired,
            // Relaxed: a monotone counter with one writer (the monitor);
            // the snapshot needs an eventually fresh value, no ordering
            // with other memory.
            stalls: stamp.stalls.load(Relaxed),
            // Relaxed: as `stalls`.
            descheduled_polls: stamp.descheduled.load(Relaxed),
            cpu_wait_ns: crate::rt::monitor::read_schedstat(stamp.thread()).map_or(0, |(_, wait)| wait),
            busy_ns: s.busy_ns,
            poll_histogram: PollHistogram::new(s.poll_hist, s.poll_hist_sum_ns),
            schedule_latency_histogram: sched,
            schedule_latency_by_class,
            class_polls,
            class_queue_depth,
        }
    }

    /// [`schedule_latency_histogram`](WorkerMetrics::schedule_latency_histogram)'s
    /// samples of tasks of class `class` (a task's class is read when its
    /// sampled poll starts).
    pub fn schedule_latency_histogram_by_class(&self, class: crate::rt::task::Priority) -> &PollHistogram {
        &self.schedule_latency_by_class[class.index()]
    }

    /// Tasks of class `class` polled by this worker.
    pub fn polls_by_class(&self, class: crate::rt::task::Priority) -> u64 {
        self.class_polls[class.index()]
    }

    /// Tasks of class `class` queued on this worker (its runnext slot not
    /// counted).
    pub fn local_queue_depth_by_class(&self, class: crate::rt::task::Priority) -> usize {
        self.class_queue_depth[class.index()]
    }

    /// Tasks polled by this worker.
    pub fn polls(&self) -> u64 {
        self.polls
    }
    /// Tasks this worker took from other workers' queues.
    pub fn steals(&self) -> u64 {
        self.steals
    }
    /// Successful steal operations (each moves up to half a queue).
    pub fn steal_operations(&self) -> u64 {
        self.steal_operations
    }
    /// Times this worker parked (went to sleep).
    pub fn parks(&self) -> u64 {
        self.parks
    }
    /// Steal operations from a worker on another NUMA node (only counted
    /// when workers are pinned to NUMA nodes).
    pub fn remote_node_steals(&self) -> u64 {
        self.remote_node_steals
    }
    /// Times this worker retired because the active-worker target dropped
    /// below it.
    pub fn retirements(&self) -> u64 {
        self.retirements
    }
    /// Tasks in this worker's local queue at capture time.
    pub fn local_queue_depth(&self) -> usize {
        self.local_queue_depth
    }
    /// Polls taken from the runnext slot.
    pub fn runnext_hits(&self) -> u64 {
        self.runnext_hits
    }
    /// Times the local queue overflowed half of itself into the injector.
    pub fn overflows(&self) -> u64 {
        self.overflows
    }
    /// Times this worker took task(s) from the global injector.
    pub fn injector_pulls(&self) -> u64 {
        self.injector_pulls
    }
    /// Time this worker was not parked: running tasks, searching for
    /// work, firing timers and dispatching I/O (what tokio's worker busy
    /// duration also measures). Accounted every 61 scheduler ticks and
    /// when the worker parks or retires.
    pub fn busy_duration(&self) -> Duration {
        Duration::from_nanos(self.busy_ns)
    }
    /// I/O readiness events returned by the netpolls this worker made
    /// (while parked as the poller's owner, or every 61 ticks while busy).
    pub fn netpoll_events(&self) -> u64 {
        self.netpoll_events
    }
    /// Timers this worker fired, from its own timer shard or, when idle or
    /// at a maintenance tick, from other workers'.
    pub fn timers_fired(&self) -> u64 {
        self.timers_fired
    }
    /// Polls on this worker that the monitor saw run past its stall
    /// threshold (counted by the monitor, not by the worker).
    pub fn stalls(&self) -> u64 {
        self.stalls
    }
    /// Polls on this worker that the monitor saw run past its stall
    /// threshold in wall time while the thread spent most of that time
    /// waiting for a CPU (a cgroup CPU quota throttled the process, or the
    /// machine was oversubscribed). Not stalls: not in `stalls()`, not
    /// reported, no compensating worker.
    pub fn descheduled_polls(&self) -> u64 {
        self.descheduled_polls
    }
    /// Time the worker thread has been runnable but waiting for a CPU, as
    /// the kernel accounts it (throttled time included) over the thread's
    /// life; zero where the kernel does not say (not Linux).
    pub fn cpu_wait(&self) -> Duration {
        Duration::from_nanos(self.cpu_wait_ns)
    }
    /// Durations of a sample of this worker's polls: the worker times one
    /// poll in 32 (its 32nd, 64th, ... poll), so once it has published
    /// (the histogram and `polls()` are published together)
    /// `total_count()` is `polls() / 32`, less any timed poll that called
    /// `task::block_in_place` (its blocking part is no poll, so it is left
    /// out). `sum()` is the total duration of the sampled polls only: it is
    /// not `busy_duration()`, which also covers the untimed polls, searching
    /// and I/O. Polls of a `LocalSet`'s tasks are not in it. See
    /// [`PollHistogram`].
    pub fn poll_histogram(&self) -> &PollHistogram {
        &self.poll_histogram
    }
    /// Schedule latency of a sample of the tasks this worker polled: the
    /// time from a task becoming runnable (spawned, woken while idle, or
    /// requeued after a wake during its own poll) to this worker starting
    /// its poll, in the same buckets as [`poll_histogram`](Self::poll_histogram).
    /// One notification in 32 per queuing thread is stamped, so
    /// `total_count()` is roughly a 32nd of `polls()`; `sum()` is the
    /// sampled latencies' total. Precision is a microsecond. Tasks of a
    /// `LocalSet` are not in it.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     for _ in 0..256 {
    ///         weft::spawn(async {}).await.unwrap();
    ///     }
    /// });
    /// let h = rt.metrics().schedule_latency_histogram();
    /// println!("{} sampled schedule latencies, {:?} in all", h.total_count(), h.sum());
    /// ```
    pub fn schedule_latency_histogram(&self) -> &PollHistogram {
        &self.schedule_latency_histogram
    }
}
