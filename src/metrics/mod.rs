//! Runtime metrics: a point-in-time snapshot of the counters each worker
//! keeps and of queue depths read when the snapshot is taken
//! ([`RuntimeMetrics`], from [`Runtime::metrics`](crate::Runtime::metrics)),
//! with a text summary and the Prometheus text exposition.
//!
//! Two sampled histograms per worker share [`PollHistogram`]'s buckets:
//! poll durations (one poll in 32 is timed) and schedule latency, the time
//! from a task becoming runnable (spawn, wake, requeue) to its poll
//! starting (one notification in 32 per queuing thread is stamped;
//! [`WorkerMetrics::schedule_latency_histogram`], Prometheus
//! `weft_schedule_latency_seconds`).
//!
//! # Scheduler trace
//!
//! With `WEFT_SCHEDTRACE=ms` in the environment (or
//! [`Builder::sched_trace`](crate::runtime::Builder::sched_trace)), the
//! runtime's monitor thread writes one line to stderr per period, like Go's
//! `GODEBUG=schedtrace`:
//!
//! ```text
//! weft-sched 1000ms: workers=4 active=4 unparked=1 searching=0 compensating=0 tasks=12 spawned=530 completed=518 injector=0 local=[3 0 0 0] polls=2114 stalls=0 blocking=1/2 blocking_queue=0
//! ```
//!
//! `workers`: worker threads; `active`: the live target (CPU quota);
//! `unparked`: workers not asleep, of which `searching` are looking for
//! work; `compensating`: spare workers let in for stalled ones; `tasks`:
//! alive now; `spawned` and `completed` (finished or cancelled): since the
//! start; `injector`: the global queue; `local`: each worker's run queue;
//! `polls`, `stalls`: since the start; `blocking`: busy / all
//! blocking-pool threads; `blocking_queue`: jobs waiting for one.

// - `mod.rs`: the runtime-wide snapshot and its `Display`.
// - `worker.rs`: one worker's counters.
// - `histogram.rs`: the log-bucket histogram of the poll durations and
//   of the schedule latency.
// - `prometheus.rs`: the Prometheus text exposition (`to_prometheus`).
// - `throttling.rs`: the CPU quota cgroup's throttling counters.
// - `sched_trace.rs`: the `WEFT_SCHEDTRACE` line.
//
// Counters are cache-padded per worker, written only by their owner and
// published with Relaxed stores. How the counters are kept off the hot
// path and how stale they may be: docs/design/metrics.md.

mod histogram;
mod prometheus;
pub(crate) mod sched_trace;
mod throttling;
mod worker;

pub use histogram::PollHistogram;
pub use throttling::CpuThrottling;
pub use worker::WorkerMetrics;

use crate::rt::scheduler::Shared;
use std::fmt;
use std::time::Duration;

/// A snapshot of a runtime's counters, from [`crate::Runtime::metrics`].
///
/// Per-worker counters are published by each worker every 61 polls and
/// whenever it parks, so a busy worker's figures may trail by up to 61
/// polls.
///
/// Besides its worker threads, a runtime keeps up to as many *spare slots*
/// (threads that start retired), which run tasks only while another
/// worker is stalled in a long poll or inside
/// [`block_in_place`](crate::task::block_in_place). They have counters
/// like any worker: [`workers`](RuntimeMetrics::workers) lists the worker
/// threads first, then the spare slots; [`Display`](std::fmt::Display)
/// prints their rows as `spare <index>` and the Prometheus text marks
/// their series `spare="true"`.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let tasks: Vec<_> = (0..100).map(|i| weft::spawn(async move { i })).collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
/// });
/// let m = rt.metrics();
/// assert_eq!(m.num_workers(), 2);
/// assert_eq!(m.workers().len(), m.worker_threads() + m.spare_slots()); // workers, then spares
/// assert!(m.spawned_tasks_count() >= 100);
/// println!("{} polls, {} steals, busy {:?}", m.total_polls(), m.total_steals(), m.total_busy_duration());
/// println!("{m}"); // a multi-line summary
/// ```
#[derive(Clone, Debug)]
pub struct RuntimeMetrics {
    num_workers: usize,
    active_workers: usize,
    worker_threads: usize,
    compensating_workers: usize,
    num_alive_tasks: usize,
    leaked_tasks: usize,
    spawned_tasks_count: u64,
    global_queue_depth: usize,
    workers: Vec<WorkerMetrics>,
    // Blocking pool (getters at the end of the file).
    /// Injector depth by class (`Priority::index`).
    global_queue_depth_by_class: [usize; 3],
    blocking_threads: usize,
    idle_blocking_threads: usize,
    blocking_queue_depth: usize,
    cpu_throttling: Option<CpuThrottling>,
}

impl RuntimeMetrics {
    pub(crate) fn capture(shared: &Shared) -> RuntimeMetrics {
        let workers = shared
            .stats()
            .iter()
            .zip(shared.remotes().iter())
            .zip(shared.stamps().iter())
            .map(|((stats, remote), stamp)| WorkerMetrics::capture(stats, remote, stamp))
            .collect();
        let blocking = shared.services().blocking().metrics();
        let locals = shared.services().local_sets();
        let leaked_tasks =
            crate::rt::task::TaskDump::count_leaked(shared.owned(), locals.iter().map(|s| s.owned()));
        RuntimeMetrics {
            num_workers: shared.topology().num_workers(),
            active_workers: shared.active_workers(),
            worker_threads: shared.base_workers(),
            compensating_workers: shared.compensations(),
            num_alive_tasks: shared.num_alive_tasks(),
            leaked_tasks,
            spawned_tasks_count: shared.owned().spawned_count(),
            global_queue_depth: shared.injector_len(),
            global_queue_depth_by_class: crate::rt::task::Priority::ALL.map(|c| shared.injector_len_of(c)),
            workers,
            blocking_threads: blocking.threads,
            idle_blocking_threads: blocking.idle,
            blocking_queue_depth: blocking.queue_depth,
            cpu_throttling: throttling::capture(shared.topology().quota.as_ref()),
        }
    }

    /// The worker count chosen at build time: `min(allowed CPUs, cgroup
    /// CPU quota rounded)`, or the `worker_threads` / `WEFT_WORKER_THREADS`
    /// override. Fixed for the runtime's life (the live figure is
    /// [`active_workers`](RuntimeMetrics::active_workers)); spare slots are
    /// not counted. At most [`worker_threads`](RuntimeMetrics::worker_threads).
    pub fn num_workers(&self) -> usize {
        self.num_workers
    }

    /// Workers currently allowed to run tasks: the live target the monitor
    /// moves with the CPU quota (equal to `num_workers` until it changes).
    pub fn active_workers(&self) -> usize {
        self.active_workers
    }

    /// Worker threads that exist (one per allowed CPU, or the override);
    /// those above `active_workers` sleep. Spare slots are not counted
    /// (see [`spare_slots`](RuntimeMetrics::spare_slots)).
    pub fn worker_threads(&self) -> usize {
        self.worker_threads
    }

    /// Spare worker slots: threads that run tasks only while compensating
    /// for a worker stalled in a long poll or inside `task::block_in_place`.
    /// Their counters follow the workers' in
    /// [`workers`](RuntimeMetrics::workers).
    pub fn spare_slots(&self) -> usize {
        self.workers.len().saturating_sub(self.worker_threads)
    }

    /// Spare slots let in right now to compensate for stalled workers or
    /// workers inside `task::block_in_place`.
    pub fn compensating_workers(&self) -> usize {
        self.compensating_workers
    }

    /// Tasks spawned and not yet completed (or cancelled).
    pub fn num_alive_tasks(&self) -> usize {
        self.num_alive_tasks
    }

    /// Leaked tasks: idle tasks of which no `Waker` exists, whose futures
    /// can therefore never be polled again
    /// ([`TaskInfo::is_leaked`](crate::task::TaskInfo::is_leaked); a
    /// `LocalSet`'s tasks included once the set has been driven in this
    /// runtime). Counted when the snapshot is taken, by walking the task
    /// list as [`Handle::dump`](crate::Handle::dump) does, so a snapshot
    /// costs time in proportion to the number of live tasks; the walk
    /// never waits for a worker.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// assert_eq!(rt.metrics().leaked_tasks(), 0);
    /// ```
    pub fn leaked_tasks(&self) -> usize {
        self.leaked_tasks
    }

    /// Tasks spawned since the runtime started.
    pub fn spawned_tasks_count(&self) -> u64 {
        self.spawned_tasks_count
    }

    /// Tasks waiting in the global injector queues (of every class).
    pub fn global_queue_depth(&self) -> usize {
        self.global_queue_depth
    }

    /// Tasks of class `class` polled, summed over the workers.
    ///
    /// ```
    /// use weft::task::{Builder, Priority};
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let bg = Builder::new().priority(Priority::Background).spawn_on(async {}, rt.handle()).unwrap();
    /// rt.block_on(bg).unwrap();
    /// // Counters are published every 61 polls and when a worker parks.
    /// let m = rt.metrics();
    /// assert!(m.polls_by_class(Priority::Background) <= 1);
    /// assert_eq!(m.queue_depth_by_class(Priority::Critical), 0);
    /// ```
    pub fn polls_by_class(&self, class: crate::rt::task::Priority) -> u64 {
        self.workers.iter().map(|w| w.polls_by_class(class)).sum()
    }

    /// Tasks of class `class` waiting to run: in the workers' queues and
    /// in the class's injector (runnext slots not counted).
    pub fn queue_depth_by_class(&self, class: crate::rt::task::Priority) -> usize {
        self.global_queue_depth_by_class[class.index()]
            + self.workers.iter().map(|w| w.local_queue_depth_by_class(class)).sum::<usize>()
    }

    /// Per-slot counters: the first [`worker_threads`](RuntimeMetrics::worker_threads)
    /// entries are the worker threads, the next
    /// [`spare_slots`](RuntimeMetrics::spare_slots) the spare slots (which
    /// count only while compensating for a blocked worker, beyond the
    /// retirement each records as it starts).
    pub fn workers(&self) -> &[WorkerMetrics] {
        &self.workers
    }

    /// Counters of slot `index`, as `workers()[index]`: worker threads
    /// first, then spare slots.
    ///
    /// # Panics
    ///
    /// If `index >= workers().len()` (that is, `worker_threads() +
    /// spare_slots()`). Use `workers().get(index)` to probe.
    pub fn worker(&self, index: usize) -> &WorkerMetrics {
        &self.workers[index]
    }

    /// Sum of all workers' polls.
    pub fn total_polls(&self) -> u64 {
        self.workers.iter().map(|w| w.polls).sum()
    }

    /// Sum of all workers' stolen tasks.
    pub fn total_steals(&self) -> u64 {
        self.workers.iter().map(|w| w.steals).sum()
    }

    /// Sum of all slots' busy time: time not parked (running tasks,
    /// searching, firing timers, dispatching I/O), as
    /// [`WorkerMetrics::busy_duration`].
    pub fn total_busy_duration(&self) -> Duration {
        self.workers.iter().map(WorkerMetrics::busy_duration).sum()
    }

    /// Sum of all workers' netpoll events.
    pub fn total_netpoll_events(&self) -> u64 {
        self.workers.iter().map(|w| w.netpoll_events).sum()
    }

    /// Sum of all workers' fired timers.
    pub fn total_timers_fired(&self) -> u64 {
        self.workers.iter().map(|w| w.timers_fired).sum()
    }

    /// Sum of all workers' descheduled polls (long in wall time only
    /// because the thread waited for a CPU; not stalls).
    pub fn total_descheduled_polls(&self) -> u64 {
        self.workers.iter().map(|w| w.descheduled_polls).sum()
    }

    /// The throttling counters of the cgroup whose CPU quota the runtime
    /// found at build time (`None` without a quota, or if its `cpu.stat`
    /// cannot be read). Read when the snapshot is taken.
    pub fn cpu_throttling(&self) -> Option<CpuThrottling> {
        self.cpu_throttling
    }

    /// Sum of all workers' stall events.
    pub fn total_stalls(&self) -> u64 {
        self.workers.iter().map(|w| w.stalls).sum()
    }

    /// All slots' poll-duration histograms merged (a sample of the polls,
    /// see [`PollHistogram`]).
    pub fn poll_histogram(&self) -> PollHistogram {
        let mut h = PollHistogram::default();
        for w in &self.workers {
            h.merge(&w.poll_histogram);
        }
        h
    }

    /// All slots' schedule-latency histograms merged (a sample of the
    /// notifications, see
    /// [`WorkerMetrics::schedule_latency_histogram`]).
    pub fn schedule_latency_histogram(&self) -> PollHistogram {
        let mut h = PollHistogram::default();
        for w in &self.workers {
            h.merge(&w.schedule_latency_histogram);
        }
        h
    }

    /// [`schedule_latency_histogram`](RuntimeMetrics::schedule_latency_histogram)
    /// for the tasks of class `class` only: how long a Critical task waits
    /// to run beside Background work, for instance.
    ///
    /// ```
    /// use weft::task::Priority;
    /// let rt = weft::runtime::Builder::new().worker_threads(1).build().unwrap();
    /// let m = rt.metrics();
    /// let h = m.schedule_latency_histogram_by_class(Priority::Critical);
    /// assert!(h.total_count() <= m.schedule_latency_histogram().total_count());
    /// ```
    pub fn schedule_latency_histogram_by_class(&self, class: crate::rt::task::Priority) -> PollHistogram {
        let mut h = PollHistogram::default();
        for w in &self.workers {
            h.merge(w.schedule_latency_histogram_by_class(class));
        }
        h
    }
}

impl fmt::Display for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "workers={} active={} compensating={} alive_tasks={} leaked_tasks={} spawned={} global_queue={} busy={:?} blocking_threads={} (idle {}) blocking_queue={}",
            self.num_workers,
            self.active_workers,
            self.compensating_workers,
            self.num_alive_tasks,
            self.leaked_tasks,
            self.spawned_tasks_count,
            self.global_queue_depth,
            self.total_busy_duration(),
            self.blocking_threads,
            self.idle_blocking_threads,
            self.blocking_queue_depth
        )?;
        if let Some(t) = self.cpu_throttling {
            writeln!(
                f,
                "  cgroup CPU quota: throttled in {} of {} periods, {:?}",
                t.throttled_periods,
                t.periods,
                t.throttled_time()
            )?;
        }
        for (i, w) in self.workers.iter().enumerate() {
            let slot = if i < self.worker_threads { "worker" } else { "spare" };
            writeln!(
                f,
                "  {slot} {i}: polls={} steals={} ({} ops) parks={} runnext_hits={} overflows={} injector_pulls={} queue={} busy={:?} netpoll_events={} timers_fired={} stalls={} descheduled_polls={} cpu_wait={:?}",
                w.polls,
                w.steals,
                w.steal_operations,
                w.parks,
                w.runnext_hits,
                w.overflows,
                w.injector_pulls,
                w.local_queue_depth,
                w.busy_duration(),
                w.netpoll_events,
                w.timers_fired,
                w.stalls,
                w.descheduled_polls,
                w.cpu_wait()
            )?;
        }
        Ok(())
    }
}

/// The blocking pool (`spawn_blocking`), read under its lock at capture.
impl RuntimeMetrics {
    /// Blocking-pool threads alive (running a closure or idle).
    pub fn blocking_threads(&self) -> usize {
        self.blocking_threads
    }

    /// Blocking-pool threads waiting for work (they exit after
    /// `Builder::thread_keep_alive`).
    pub fn idle_blocking_threads(&self) -> usize {
        self.idle_blocking_threads
    }

    /// `spawn_blocking` closures queued and not yet started (waiting for a
    /// thread, e.g. beyond `Builder::max_blocking_threads`).
    pub fn blocking_queue_depth(&self) -> usize {
        self.blocking_queue_depth
    }
}
