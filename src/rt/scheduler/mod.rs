//! The multi-thread work-stealing scheduler.
//!
//! - `worker.rs`: the run loop (pick a task, run it, search, park).
//! - `queue.rs`: a worker's local queue and runnext slot.
//! - `idle.rs`: the sleep protocol's shared counters (docs/design/sleep.md).
//! - `park.rs`: a worker's private parker.
//! - `stats.rs`: per-worker counters.
//!
//! `Shared` holds what every worker and every handle may touch without a
//! lock (injector, stealers, parkers, counters, the idle word); the few
//! fields that need a lock live in `Synced`.

pub(crate) mod block_in_place;
pub(crate) mod compensate;
pub(crate) mod idle;
pub(crate) mod park;
pub(crate) mod queue;
pub(crate) mod runnext;
pub(crate) mod stats;
pub(crate) mod worker;

use crate::loom::deque::{Injector, Steal, Stealer};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::rt::netpoll::{Driver, TimerHandoff};
use crate::rt::task::list::OwnedTasks;
use crate::rt::task::{self, JoinHandle, Notified, RawTask, Schedule, Task};
use crate::rt::time::{TimerHandle, TimerShards};
use crate::topology::Topology;
use crossbeam_utils::CachePadded;
use idle::{Idle, Notify};
use park::Parker;
use stats::{PollStamp, WorkerStats};
use std::future::Future;
use std::panic::Location;

pub(crate) use idle::MAX_WORKERS;

/// Global fairness: every this many ticks a worker takes one task from the
/// injector even if it has local work (Go's `schedtick % 61`).
pub(crate) const GLOBAL_POLL_INTERVAL: u32 = 61;
/// At most this many consecutive polls from the runnext slot.
pub(crate) const MAX_RUNNEXT_STREAK: u8 = 3;
/// Local queue bound; above it half of the queue overflows to the injector.
pub(crate) const LOCAL_QUEUE_CAPACITY: usize = if crate::loom::IS_LOOM { 4 } else { 256 };
/// Upper bound on one batch taken from the injector (crossbeam caps any
/// batch at 32 on top of this).
pub(crate) const MAX_INJECTOR_BATCH: usize = 128;
/// A worker pinned to a NUMA node steals from workers on other nodes only
/// after this many consecutive searches found nothing on its own node
/// (docs/design/topology.md).
pub(crate) const REMOTE_STEAL_AFTER: u32 = 2;

/// One worker's steal victims, tier by tier (nearest NUMA node first).
pub(crate) type VictimTiers = Box<[Box<[usize]>]>;

/// What other threads can reach of one worker.
pub(crate) struct Remote {
    pub(crate) stealer: Stealer<Notified>,
    pub(crate) parker: Parker,
    /// The worker's runnext slot (the monitor takes from it when the
    /// worker stalls; the worker's `Core` holds the other reference).
    pub(crate) runnext: Arc<runnext::Runnext>,
}

/// Fields guarded by `Shared::synced`.
pub(crate) struct Synced {
    /// Workers whose run loop has returned.
    pub(crate) exited: usize,
}

/// Everything the workers and handles share.
pub(crate) struct Shared {
    pub(crate) injector: CachePadded<Injector<Notified>>,
    pub(crate) remotes: Box<[Remote]>,
    pub(crate) stats: Box<[CachePadded<WorkerStats>]>,
    /// Each worker's current-poll stamp, sampled by the monitor.
    pub(crate) stamps: Box<[CachePadded<PollStamp>]>,
    pub(crate) idle: Idle,
    pub(crate) owned: OwnedTasks,
    pub(crate) synced: Mutex<Synced>,
    /// Signalled when a worker exits (shutdown waits on it).
    pub(crate) exited_cv: Condvar,
    /// The netpoller (shared with every I/O object, which keeps it alive).
    pub(crate) driver: Arc<Driver>,
    /// One timer wheel per worker (docs/design/timers.md).
    pub(crate) timers: TimerShards,
    /// For each worker, the others it steals from, in tiers: its own NUMA
    /// node first, then the other nodes nearest first (one flat tier when
    /// workers are not pinned). From `topology::placement::victim_tiers`.
    pub(crate) victims: Box<[VictimTiers]>,
    /// Each worker's NUMA node when pinned (to count cross-node steals).
    pub(crate) worker_nodes: Box<[Option<usize>]>,
    /// What was detected at build time and where workers were placed.
    pub(crate) topology: Topology,
    /// The active-worker target's inputs: quota and compensations
    /// (`compensate.rs`).
    pub(crate) target: Mutex<compensate::Target>,
    /// Worker slots with a thread of their own from the start; the slots
    /// above are spares for compensation (they start retired).
    pub(crate) base_workers: usize,
    /// Recent stall events (written by the monitor).
    pub(crate) stall_log: Mutex<crate::rt::monitor::StallLog>,
    /// The blocking pool (`spawn_blocking`; docs/design/blocking.md). The
    /// builder replaces the default with its configuration.
    pub(crate) blocking: crate::rt::blocking::BlockingPool,
    /// The last searcher to find work wakes another worker after its first
    /// poll instead of before it (`Worker::run_task`). Set by the builder
    /// when the monitor watches for stalls: a first poll that blocks its
    /// thread is then seen as a stall and a parked worker is woken for the
    /// queue it holds (docs/design/sleep.md).
    pub(crate) defer_searcher_notify: bool,
    /// Where task cells past glibc's fast bins are recycled (`None`: off,
    /// `Builder::task_cell_cache(false)`, and under loom). Set once by the
    /// builder, before any task exists.
    pub(crate) cell_depot: Option<task::cell_cache::CellDepot>,
    /// `LocalSet`s first driven inside this runtime, for task dumps (a set
    /// adds itself on its first drive and removes itself when dropped).
    pub(crate) local_sets: Mutex<Vec<Arc<crate::rt::local::LocalShared>>>,
    /// Tasks of this runtime that completed on a thread that is not one of
    /// its workers (typically shutdown's cancellations, or a spawn from
    /// outside refused at shutdown); the workers count theirs, wherever the
    /// task came from, in their `PollStamp` (`count_completion`).
    remote_completions: CachePadded<std::sync::atomic::AtomicU64>,
}

/// A cheap, clonable reference to a scheduler; what tasks hold to
/// re-schedule themselves.
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Shared {
    /// A scheduler for the workers in `remotes` placed as `topology` says
    /// (its `num_workers` are active at first; victims in NUMA tiers), with
    /// `timer_shards` timer wheels (normally one per worker).
    ///
    /// `remotes` may hold more slots than `topology.worker_threads`: the
    /// extra ones are spares for compensation; they steal from everyone
    /// (one flat tier) and everyone steals from them last.
    pub(crate) fn new(
        remotes: Box<[Remote]>,
        timer_shards: usize,
        topology: Topology,
    ) -> std::io::Result<Shared> {
        let n = remotes.len();
        let base = topology.worker_threads.clamp(1, n);
        let mut victims = crate::topology::placement::victim_tiers(&topology.placement, &topology.nodes);
        if victims.len() != base || !topology.numa_aware_stealing {
            victims = (0..base).map(|w| vec![(0..base).filter(|&v| v != w).collect()]).collect();
        }
        if n > base {
            // Spares: the last tier of every base worker; a flat tier each.
            for tiers in victims.iter_mut() {
                tiers.push((base..n).collect());
            }
            for s in base..n {
                victims.push(vec![(0..n).filter(|&v| v != s).collect()]);
            }
        }
        let victims = victims
            .into_iter()
            .map(|tiers| tiers.into_iter().map(Vec::into_boxed_slice).collect::<Vec<_>>().into_boxed_slice())
            .collect();
        let active = topology.num_workers;
        let mut worker_nodes: Vec<Option<usize>> = topology.placement.iter().map(|p| p.node).collect();
        worker_nodes.resize(n, None);
        Ok(Shared {
            injector: CachePadded::new(Injector::new()),
            stats: (0..n).map(|_| CachePadded::new(WorkerStats::default())).collect(),
            stamps: (0..n).map(|_| CachePadded::new(PollStamp::default())).collect(),
            remotes,
            idle: Idle::new(n, active),
            owned: OwnedTasks::new(n * 4),
            synced: Mutex::new(Synced { exited: 0 }),
            exited_cv: Condvar::new(),
            driver: Arc::new(Driver::new()?),
            timers: TimerShards::new(timer_shards),
            victims,
            worker_nodes: worker_nodes.into_boxed_slice(),
            target: compensate::Target::new(active),
            base_workers: base,
            stall_log: Mutex::new(crate::rt::monitor::StallLog::default()),
            topology,
            blocking: crate::rt::blocking::BlockingPool::new(crate::rt::blocking::Config::default()),
            defer_searcher_notify: false,
            cell_depot: None,
            local_sets: Mutex::new(Vec::new()),
            remote_completions: CachePadded::new(std::sync::atomic::AtomicU64::new(0)),
        })
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    /// Counts one completed task of this runtime (`Schedule::task_completing`):
    /// in the worker's own counter when called on one of our workers' threads
    /// (no shared write), else in `remote_completions`.
    pub(crate) fn count_completion(&self) {
        let index = worker::with_current(|cx| {
            cx.filter(|cx| std::ptr::eq(&*cx.handle.shared, self)).map(|cx| cx.index)
        });
        match index {
            Some(index) => self.stamps[index].count_completion(),
            // Release: pairs with the Acquire load in `num_alive_tasks`, as
            // `PollStamp::count_completion`'s store does.
            None => {
                self.remote_completions.fetch_add(1, std::sync::atomic::Ordering::Release);
            }
        }
    }

    /// Tasks spawned and not yet completed: spawns counted under the owned
    /// list's shard locks minus completions counted per worker. The
    /// completions are read first (Acquire): each counted task's bind
    /// happened before its count, so the spawn count read after includes
    /// it and the difference never goes below the truth's lower bound
    /// (saturating all the same: a metric must not panic).
    pub(crate) fn num_alive_tasks(&self) -> usize {
        let completed: u64 = self.stamps.iter().map(|s| s.completions()).sum::<u64>()
            // Acquire: pairs with `count_completion`'s Release.
            + self.remote_completions.load(std::sync::atomic::Ordering::Acquire);
        self.owned.spawned_count().saturating_sub(completed) as usize
    }

    /// Sets the number of workers that run tasks (the live CPU-quota
    /// target): workers above it retire at their next scheduling point,
    /// retired workers below it are woken. Returns the previous target.
    pub(crate) fn set_active_workers(&self, n: usize) -> usize {
        let before = self.idle.active();
        let change = self.idle.set_active(n);
        for &index in change.reactivated.iter().chain(&change.to_retire) {
            self.remotes[index].parker.unpark_worker(&self.driver);
        }
        before
    }

    /// The current active-worker target.
    pub(crate) fn active_workers(&self) -> usize {
        self.idle.active()
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.idle.is_shutdown()
    }

    /// Wakes a parked worker if the protocol says one is needed. Called after
    /// publishing work in a queue. Returns false if the runtime is shutting
    /// down (the caller must then not leave the work behind).
    pub(crate) fn notify_parked(&self) -> bool {
        match self.idle.notify() {
            Notify::Wake(index) => {
                self.remotes[index].parker.unpark_worker(&self.driver);
                true
            }
            Notify::Nobody => true,
            Notify::Shutdown => false,
        }
    }

    /// `notify_parked` for work a worker published itself (its local queue,
    /// its overflow into the injector); see `Idle::notify_local`.
    pub(crate) fn notify_parked_local(&self) {
        if let Some(index) = self.idle.notify_local() {
            self.remotes[index].parker.unpark_worker(&self.driver);
        }
    }

    /// Pushes a task from a thread that is not one of this runtime's workers.
    pub(crate) fn schedule_remote(&self, task: Notified) {
        self.injector.push(task);
        if !self.notify_parked() {
            // Shutdown began; its final drain may already have run. Drain
            // ourselves so no task reference is left in the injector (every
            // task is cancelled through the owned list).
            self.drain_injector();
        }
    }

    pub(crate) fn drain_injector(&self) {
        loop {
            match self.injector.steal() {
                Steal::Success(task) => drop(task),
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
    }

    /// True if any queue other workers could take from holds a task.
    pub(crate) fn has_stealable_work(&self) -> bool {
        !self.injector.is_empty() || self.remotes.iter().any(|r| !r.stealer.is_empty())
    }

    /// Starts shutdown: flags it and wakes every worker. Returns false if it
    /// had already started.
    pub(crate) fn begin_shutdown(&self) -> bool {
        if !self.idle.set_shutdown() {
            return false;
        }
        // Timers and I/O first: a task or `block_on` future waiting on them
        // is woken and sees the shutdown.
        self.timers.shutdown();
        self.driver.shutdown();
        for remote in self.remotes.iter() {
            remote.parker.unpark_worker(&self.driver);
        }
        true
    }

    /// Called by each worker as its thread finishes.
    pub(crate) fn worker_exited(&self) {
        let mut synced = self.synced.lock();
        synced.exited += 1;
        drop(synced);
        self.exited_cv.notify_all();
    }
}

// Both blocks serve timer inserts, which only the `time` feature's API makes.
#[cfg_attr(not(feature = "time"), allow(dead_code))]
impl Shared {
    /// A timer insert made `deadline` (wheel ms) the earliest of its shard:
    /// make sure some worker will wake for it. If a worker is blocked in
    /// the netpoller with a later timeout, interrupt it; if nobody is
    /// blocked there, wake a parked worker (it will find no work and become
    /// the poller's owner, with a timeout that covers this timer). The
    /// decision is `Driver::timer_inserted` (a SeqCst load of the published
    /// deadline): the other half of the hand-off in `worker::park_on_driver`
    /// (docs/design/netpoll.md, "timers").
    pub(crate) fn timer_earliest_changed(&self, shard: usize, deadline: u64) {
        if self.is_own_shard_of_current_worker(shard) {
            // The inserting worker fires its own shard: every tick while it
            // runs, and it parks with a timeout that covers the shard (on
            // its parker, or in the poller if it becomes the owner). Nobody
            // else needs to hear about this timer.
            return;
        }
        if self.driver.timer_inserted(deadline) == TimerHandoff::NotPolling {
            let _ = self.notify_parked();
        }
    }
}

#[cfg_attr(not(feature = "time"), allow(dead_code))]
impl Shared {
    /// True if this thread is this runtime's worker that owns timer shard
    /// `shard` (one shard per worker, shard i = worker i).
    fn is_own_shard_of_current_worker(&self, shard: usize) -> bool {
        let n = self.timers.num_shards();
        n == self.num_workers()
            && worker::with_current(|cx| {
                cx.is_some_and(|cx| std::ptr::eq(&*cx.handle.shared, self) && cx.index == shard % n)
            })
    }
}

// SAFETY: `shards` is always the same `TimerShards` (a field of the
// `Shared` this handle's `Arc` keeps alive).
unsafe impl TimerHandle for Handle {
    fn shards(&self) -> &TimerShards {
        &self.shared.timers
    }

    fn earliest_changed(&self, shard: usize, deadline: u64) {
        self.shared.timer_earliest_changed(shard, deadline);
    }
}

impl Handle {
    /// Spawns a future onto this scheduler; `spawned_at` is the user's call
    /// site (closures do not forward `#[track_caller]`, so it is passed in).
    pub(crate) fn spawn<F>(&self, future: F, spawned_at: &'static Location<'static>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(future, task::Meta { spawned_at, name: None })
    }

    /// `spawn` with a name (`task::Builder`).
    pub(crate) fn spawn_with<F>(&self, future: F, meta: task::Meta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, notified, join) = task::new_task_with(future, self.clone(), meta);
        if let Some(notified) = self.shared.owned.bind(task, notified) {
            self.schedule_task(notified, false);
        }
        join
    }

    pub(crate) fn ptr_eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Schedule for Handle {
    fn schedule(&self, task: Notified) {
        self.schedule_task(task, false);
    }

    fn yield_now(&self, task: Notified) {
        self.schedule_task(task, true);
    }

    fn release(&self, task: RawTask) -> Option<Task> {
        self.shared.owned.remove(task)
    }

    fn cell_depot(&self) -> Option<&task::cell_cache::CellDepot> {
        self.shared.cell_depot.as_ref()
    }

    fn task_completing(&self) {
        self.shared.count_completion();
    }

    /// Leaves the task listed, untouched, for task dumps (which read
    /// COMPLETE from its state word) until its `JoinHandle` calls
    /// `release`: no shard lock on the completing worker.
    fn complete_joinable(&self, _task: RawTask) -> task::Completed {
        task::Completed::Kept
    }
}
