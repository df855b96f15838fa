//! Runtime metrics: a point-in-time snapshot of counters that workers keep
//! per worker (cache-padded, written only by their owner, published with
//! Relaxed stores) and of queue depths read at capture time.

use crate::scheduler::Shared;
use std::fmt;

/// A snapshot of a runtime's counters, from [`crate::Runtime::metrics`].
///
/// Per-worker counters are published by each worker every
/// `GLOBAL_POLL_INTERVAL` (61) polls and whenever it parks, so a busy
/// worker's figures may trail by up to 61 polls.
#[derive(Clone, Debug)]
pub struct RuntimeMetrics {
    num_workers: usize,
    active_workers: usize,
    worker_threads: usize,
    num_alive_tasks: usize,
    spawned_tasks_count: u64,
    global_queue_depth: usize,
    workers: Vec<WorkerMetrics>,
    // Blocking pool (getters at the end of the file).
    blocking_threads: usize,
    idle_blocking_threads: usize,
    blocking_queue_depth: usize,
}

/// One worker's counters.
#[derive(Clone, Debug, Default)]
pub struct WorkerMetrics {
    polls: u64,
    steals: u64,
    steal_operations: u64,
    parks: u64,
    local_queue_depth: usize,
    runnext_hits: u64,
    overflows: u64,
    injector_pulls: u64,
    remote_node_steals: u64,
    retirements: u64,
}

impl RuntimeMetrics {
    pub(crate) fn capture(shared: &Shared) -> RuntimeMetrics {
        let workers = shared
            .stats
            .iter()
            .zip(shared.remotes.iter())
            .map(|(stats, remote)| {
                let s = stats.read();
                WorkerMetrics {
                    polls: s.polls,
                    steals: s.steals,
                    steal_operations: s.steal_operations,
                    parks: s.parks,
                    local_queue_depth: remote.stealer.len(),
                    runnext_hits: s.runnext_hits,
                    overflows: s.overflows,
                    injector_pulls: s.injector_pulls,
                    remote_node_steals: s.remote_node_steals,
                    retirements: s.retirements,
                }
            })
            .collect();
        let blocking = shared.blocking.metrics();
        RuntimeMetrics {
            num_workers: shared.topology.num_workers(),
            active_workers: shared.active_workers(),
            worker_threads: shared.num_workers(),
            num_alive_tasks: shared.owned.len(),
            spawned_tasks_count: shared.owned.spawned_count(),
            global_queue_depth: shared.injector.len(),
            workers,
            blocking_threads: blocking.threads,
            idle_blocking_threads: blocking.idle,
            blocking_queue_depth: blocking.queue_depth,
        }
    }

    /// The worker count chosen at build time: `min(allowed CPUs, cgroup
    /// CPU quota rounded)`, or the `worker_threads` / `WEFT_WORKER_THREADS`
    /// override.
    pub fn num_workers(&self) -> usize {
        self.num_workers
    }

    /// Workers currently allowed to run tasks: the live target the monitor
    /// moves with the CPU quota (equal to `num_workers` until it changes).
    pub fn active_workers(&self) -> usize {
        self.active_workers
    }

    /// Worker threads that exist (one per allowed CPU, or the override);
    /// those above `active_workers` sleep. `workers()` has one entry each.
    pub fn worker_threads(&self) -> usize {
        self.worker_threads
    }

    /// Tasks spawned and not yet completed (or cancelled).
    pub fn num_alive_tasks(&self) -> usize {
        self.num_alive_tasks
    }

    /// Tasks spawned since the runtime started.
    pub fn spawned_tasks_count(&self) -> u64 {
        self.spawned_tasks_count
    }

    /// Tasks waiting in the global injector queue.
    pub fn global_queue_depth(&self) -> usize {
        self.global_queue_depth
    }

    /// Per-worker counters, indexed by worker.
    pub fn workers(&self) -> &[WorkerMetrics] {
        &self.workers
    }

    /// Counters of worker `index`. Panics if `index >= worker_threads()`.
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
}

impl WorkerMetrics {
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
    /// when workers are pinned; docs/design/topology.md).
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
}

impl fmt::Display for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "workers={} alive_tasks={} spawned={} global_queue={}",
            self.num_workers, self.num_alive_tasks, self.spawned_tasks_count, self.global_queue_depth
        )?;
        for (i, w) in self.workers.iter().enumerate() {
            writeln!(
                f,
                "  worker {i}: polls={} steals={} ({} ops) parks={} runnext_hits={} overflows={} injector_pulls={} queue={}",
                w.polls, w.steals, w.steal_operations, w.parks, w.runnext_hits, w.overflows, w.injector_pulls, w.local_queue_depth
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
