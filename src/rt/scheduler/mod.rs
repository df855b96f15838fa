//! The multi-thread work-stealing scheduler.
//!
//! - `worker.rs`: the run loop (pick a task, run it, search, park).
//! - `core.rs`: the state a worker owns outright (`Core`).
//! - `queue.rs`: a worker's local queue and runnext slot.
//! - `idle.rs`: the sleep protocol's shared counters (docs/design/sleep.md).
//! - `park.rs`: a worker's private parker.
//! - `stats.rs`: per-worker counters.
//!
//! `Shared` holds what every worker and every handle may touch without a
//! lock (injector, stealers, parkers, counters, the idle word); the few
//! fields that need a lock live in `Synced`. The runtime-wide services
//! (I/O driver, timers, blocking pool, cell depot) sit beside them in
//! `rt::services::Services`.

mod anchor;
pub(crate) mod block_in_place;
pub(crate) mod class;
pub(crate) mod compensate;
pub(crate) mod core;
pub(crate) mod idle;
pub(crate) mod park;
pub(crate) mod queue;
pub(crate) mod quiesce;
pub(crate) mod runnext;
pub(crate) mod stats;
pub(crate) mod worker;

use crate::loom::deque::Worker;
use crate::loom::deque::{Injector, Steal, Stealer};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::rt::netpoll::TimerHandoff;
use crate::rt::services::{self, Services};
use crate::rt::task::list::OwnedTasks;
use crate::rt::task::{self, JoinHandle, Notified, RawTask, Schedule, Task};
use crate::rt::time::{TimerHandle, TimerShards};
use crate::rt::trace::{Kind, Tracer};
use crate::topology::Topology;
pub(crate) use anchor::TaskHandle;
use crossbeam_utils::CachePadded;
use idle::{Idle, NotifyAction};
use park::Parker;
use stats::{PollStamp, WorkerStats};
use std::future::Future;
use std::panic::Location;
use std::time::Instant;

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
// The NUMA policy's patience before a cross-node steal: the one constant
// the run loop and the stealing simulation (`topology::sim`) share.
pub(crate) use crate::topology::placement::REMOTE_STEAL_AFTER;

/// One worker's steal victims, tier by tier (nearest NUMA node first).
pub(crate) type VictimTiers = Box<[Box<[usize]>]>;

/// What other threads can reach of one worker.
pub(crate) struct Remote {
    /// The Normal class's deque.
    pub(crate) stealer: Stealer<Notified>,
    /// The Critical and Background classes' deques (`class.rs`).
    pub(crate) crit_stealer: Stealer<Notified>,
    pub(crate) bg_stealer: Stealer<Notified>,
    pub(crate) parker: Parker,
    /// The worker's runnext slot (the monitor takes from it when the
    /// worker stalls; the worker's `Core` holds the other reference).
    pub(crate) runnext: Arc<runnext::Runnext>,
}

/// Fields guarded by `Shared::synced`.
pub(crate) struct Synced {
    /// Workers whose run loop has returned.
    pub(crate) exited: usize,
    /// The active-worker target's inputs: quota and compensations
    /// (`compensate.rs`).
    pub(crate) target: compensate::Target,
}

/// What a scheduler is built from (`Shared::new`).
pub(crate) struct Config {
    /// What was detected and where the workers go; its `worker_threads`
    /// slots have a thread from the start, `num_workers` of them active.
    pub(crate) topology: Topology,
    /// Worker slots above `topology.worker_threads` for compensation (they
    /// start retired).
    pub(crate) spares: usize,
    /// See `Shared::defer_searcher_notify`.
    pub(crate) defer_searcher_notify: bool,
    /// Seed every worker's victim choice with `index + 1` instead of a
    /// random number (loom models replay their executions).
    pub(crate) fixed_seeds: bool,
    /// The runtime-wide services.
    pub(crate) services: services::Config,
    /// Events per flight-recorder ring (0: off).
    pub(crate) flight_recorder: usize,
    /// At most this many workers poll Background tasks at a time (None: no
    /// cap).
    pub(crate) background_workers: Option<usize>,
}

/// Everything the workers and handles share. Its fields are private to
/// the scheduler (the run loop, queues and parker are its submodules);
/// the rest of the engine and the faces use its methods.
pub(crate) struct Shared {
    /// The Normal class's injector (the only one a runtime without classes
    /// uses).
    injector: CachePadded<Injector<Notified>>,
    /// The Critical and Background classes' injectors (`class.rs`).
    crit_injector: CachePadded<Injector<Notified>>,
    bg_injector: CachePadded<Injector<Notified>>,
    /// Whether classes are in use, and the background cap.
    classes: class::ClassState,
    remotes: Box<[Remote]>,
    stats: Box<[CachePadded<WorkerStats>]>,
    /// Each worker's current-poll stamp, sampled by the monitor.
    stamps: Box<[CachePadded<PollStamp>]>,
    idle: Idle,
    owned: OwnedTasks,
    synced: Mutex<Synced>,
    /// Signalled when a worker exits (shutdown waits on it).
    exited_cv: Condvar,
    /// The I/O driver, timers, blocking pool, cell depot, `LocalSet`
    /// registry and stall log.
    services: Services,
    /// For each worker, the others it steals from, in tiers: its own NUMA
    /// node first, then the other nodes nearest first (one flat tier when
    /// workers are not pinned). From `topology::placement::victim_tiers`.
    victims: Box<[VictimTiers]>,
    /// Each worker's NUMA node when pinned (to count cross-node steals).
    worker_nodes: Box<[Option<usize>]>,
    /// What was detected at build time and where workers were placed.
    topology: Topology,
    /// Worker slots with a thread of their own from the start; the slots
    /// above are spares for compensation (they start retired).
    base_workers: usize,
    /// The last searcher to find work wakes another worker after its first
    /// poll instead of before it (`Worker::run_task`). On when the monitor
    /// watches for stalls: a first poll that blocks its
    /// thread is then seen as a stall and a parked worker is woken for the
    /// queue it holds (docs/design/sleep.md).
    defer_searcher_notify: bool,
    /// Tasks of this runtime that completed on a thread that is not one of
    /// its workers (typically shutdown's cancellations, or a spawn from
    /// outside refused at shutdown); the workers count theirs, wherever the
    /// task came from, in their `PollStamp` (`count_completion`).
    remote_completions: CachePadded<std::sync::atomic::AtomicU64>,
    /// The anchor that tasks spawned from outside the workers keep
    /// (`anchor.rs`); the `Runtime` holds it, this only finds it.
    remote_anchor: std::sync::OnceLock<std::sync::Weak<CachePadded<Handle>>>,
    /// What the paused test clock needs to know about idleness
    /// (`quiesce`).
    quiescence: quiesce::Quiescence,
    /// The flight recorder's rings (`rt::trace`).
    trace: Tracer,
}

/// A cheap, clonable reference to a scheduler; what tasks hold to
/// re-schedule themselves.
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Shared {
    /// A complete scheduler from `config`, and the core of each of its
    /// worker slots (index order) for the threads the caller starts. Its
    /// `topology.num_workers` are active at first; victims in NUMA tiers.
    ///
    /// The slots are `topology.worker_threads` plus `config.spares`: the
    /// spares are for compensation; they steal from everyone (one flat
    /// tier) and everyone steals from them last.
    pub(crate) fn new(config: Config) -> std::io::Result<(Shared, Vec<core::Core>)> {
        let Config {
            topology,
            spares,
            defer_searcher_notify,
            fixed_seeds,
            services,
            flight_recorder,
            background_workers,
        } = config;
        let n = topology.worker_threads + spares;
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
        // Per worker, one deque per class, highest class first.
        let locals: Vec<[Worker<Notified>; 3]> =
            (0..n).map(|_| [Worker::new_fifo(), Worker::new_fifo(), Worker::new_fifo()]).collect();
        let remotes: Box<[Remote]> = locals
            .iter()
            .map(|[c, w, b]| Remote {
                stealer: w.stealer(),
                crit_stealer: c.stealer(),
                bg_stealer: b.stealer(),
                parker: park::Parker::new(),
                runnext: Arc::new(runnext::Runnext::new()),
            })
            .collect();
        let trace = Tracer::new(n, flight_recorder);
        let cores = locals
            .into_iter()
            .enumerate()
            .map(|(index, local)| {
                let seed = if fixed_seeds { index as u64 + 1 } else { core::random_seed(index) };
                let mut core = core::Core::new(index, local, remotes[index].runnext.clone(), seed);
                core.trace = trace.worker_recorder(index);
                core
            })
            .collect();
        let shared = Shared {
            injector: CachePadded::new(Injector::new()),
            crit_injector: CachePadded::new(Injector::new()),
            bg_injector: CachePadded::new(Injector::new()),
            classes: class::ClassState::new(background_workers),
            stats: (0..n).map(|_| CachePadded::new(WorkerStats::default())).collect(),
            stamps: (0..n).map(|_| CachePadded::new(PollStamp::default())).collect(),
            remotes,
            idle: Idle::new(n, active),
            owned: OwnedTasks::new(n * 4),
            synced: Mutex::new(Synced { exited: 0, target: compensate::Target::new(active) }),
            exited_cv: Condvar::new(),
            services: Services::new(services)?,
            victims,
            worker_nodes: worker_nodes.into_boxed_slice(),
            base_workers: base,
            topology,
            defer_searcher_notify,
            remote_completions: CachePadded::new(std::sync::atomic::AtomicU64::new(0)),
            remote_anchor: std::sync::OnceLock::new(),
            quiescence: quiesce::Quiescence::new(),
            trace,
        };
        Ok((shared, cores))
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
            self.remotes[index].parker.unpark_worker(self.services.driver());
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
            NotifyAction::Wake(index) => {
                self.remotes[index].parker.unpark_worker(self.services.driver());
                true
            }
            NotifyAction::Nobody => true,
            NotifyAction::Shutdown => false,
        }
    }

    /// `notify_parked` for work a worker published itself (its local queue,
    /// its overflow into the injector); see `Idle::notify_local`.
    pub(crate) fn notify_parked_local(&self) {
        if let Some(index) = self.idle.notify_local() {
            self.remotes[index].parker.unpark_worker(self.services.driver());
        }
    }

    /// Pushes a task from a thread that is not one of this runtime's
    /// workers, to its class's injector.
    pub(crate) fn schedule_remote(&self, task: Notified) {
        self.injector_of(task.0.raw().header().priority()).push(task);
        if !self.notify_parked() {
            // Shutdown began; its final drain may already have run. Drain
            // ourselves so no task reference is left in the injector (every
            // task is cancelled through the owned list).
            self.drain_injector();
        }
    }

    /// Drops every task in the injectors (of every class).
    pub(crate) fn drain_injector(&self) {
        for class in crate::rt::task::Priority::ALL {
            let injector = self.injector_of(class);
            loop {
                match injector.steal() {
                    Steal::Success(task) => drop(task),
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
        }
    }

    /// True if any queue other workers could take from holds a task, in
    /// any class.
    pub(crate) fn has_stealable_work(&self) -> bool {
        self.has_injected_work() || self.remotes.iter().any(Remote::has_queued_work)
    }

    /// True if an injector of any class holds a task.
    pub(crate) fn has_injected_work(&self) -> bool {
        !self.injector.is_empty() || !self.crit_injector.is_empty() || !self.bg_injector.is_empty()
    }

    /// The last parker's re-check (docs/design/sleep.md): `has_stealable_work`,
    /// except that queued Background work counts only while a background
    /// token is free. With every token held, the holders give theirs back
    /// and wake a worker for it (`class::BgTokens`); waking one now would
    /// only find work it may not poll and park again.
    pub(crate) fn has_runnable_stealable_work(&self) -> bool {
        !self.injector.is_empty()
            || !self.crit_injector.is_empty()
            || self.remotes.iter().any(|r| !r.stealer.is_empty() || !r.crit_stealer.is_empty())
            || (self.classes.bg.any_free() && self.has_queued_background())
    }

    /// Starts shutdown: flags it and wakes every worker. Returns false if it
    /// had already started.
    pub(crate) fn begin_shutdown(&self) -> bool {
        if !self.idle.set_shutdown() {
            return false;
        }
        // Timers and I/O first: a task or `block_on` future waiting on them
        // is woken and sees the shutdown.
        self.services.shutdown();
        for remote in self.remotes.iter() {
            remote.parker.unpark_worker(self.services.driver());
        }
        true
    }

    /// Announces worker `index`'s timer shard to the rest of the runtime
    /// for a worker that will not fire it for a while (it retires, blocks
    /// in `block_in_place`, or is stalled): its next expiration, as a
    /// foreign insert would (`timer_earliest_changed` without the
    /// own-shard shortcut), so a parked worker (the netpoller's owner)
    /// wakes for it. An expiration equal to `announced` (the caller told
    /// the runtime about it already) is not announced again. Returns the
    /// shard's next expiration.
    pub(crate) fn announce_shard(&self, index: usize, announced: Option<u64>) -> Option<u64> {
        let next = self.services.timers().shard_next_expiration(index);
        if let Some(next) = next.filter(|&next| announced != Some(next)) {
            if self.services.driver().timer_inserted(next) == TimerHandoff::NotPolling {
                let _ = self.notify_parked();
            }
        }
        next
    }

    /// Called by each worker as its thread finishes.
    pub(crate) fn worker_exited(&self) {
        let mut synced = self.synced.lock();
        synced.exited += 1;
        drop(synced);
        self.exited_cv.notify_all();
    }

    /// Waits until `expected` workers have exited (counting `missing`
    /// slots whose thread never started as exited), up to `deadline` if
    /// one is given. Returns whether they all did.
    pub(crate) fn wait_for_exits(&self, expected: usize, missing: usize, deadline: Option<Instant>) -> bool {
        let mut synced = self.synced.lock();
        loop {
            if synced.exited + missing >= expected {
                return true;
            }
            match deadline {
                None => synced = self.exited_cv.wait(synced),
                Some(deadline) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    synced = self.exited_cv.wait_until(synced, deadline).0;
                }
            }
        }
    }

    /// Shutdown's last word on tasks: cancels every task still in the
    /// owned list, waits for drains other threads started (a worker's exit
    /// path) to finish, and drops what is left in the injector, so every
    /// idle task's future has been dropped when this returns
    /// (docs/design/shutdown.md).
    pub(crate) fn cancel_all_tasks(&self) {
        self.owned.close_and_shutdown_all();
        self.owned.wait_for_drains();
        self.drain_injector();
    }

    /// The runtime-wide services beside the scheduler.
    pub(crate) fn services(&self) -> &Services {
        &self.services
    }

    /// Every task of the runtime, for dumps, metrics and stall reports.
    pub(crate) fn owned(&self) -> &OwnedTasks {
        &self.owned
    }

    /// What was detected at build time and where workers were placed.
    pub(crate) fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Each worker slot's current-poll stamp (the monitor samples them).
    pub(crate) fn stamps(&self) -> &[CachePadded<PollStamp>] {
        &self.stamps
    }

    /// Each worker slot's counters.
    pub(crate) fn stats(&self) -> &[CachePadded<WorkerStats>] {
        &self.stats
    }

    /// What other threads can reach of each worker slot.
    pub(crate) fn remotes(&self) -> &[Remote] {
        &self.remotes
    }

    /// Tasks waiting in the injector (global queue).
    /// The sleep protocol's counters now (unparked, searching, retired).
    pub(crate) fn idle_state(&self) -> idle::IdleState {
        self.idle.load()
    }

    pub(crate) fn injector_len(&self) -> usize {
        self.injector.len() + self.crit_injector.len() + self.bg_injector.len()
    }

    /// Tasks waiting in the injector of `class`.
    pub(crate) fn injector_len_of(&self, class: crate::rt::task::Priority) -> usize {
        self.injector_of(class).len()
    }

    /// The flight recorder's rings.
    pub(crate) fn trace(&self) -> &Tracer {
        &self.trace
    }

    /// A flight-recorder snapshot, now: the rings, and which task each
    /// worker is polling (from its poll stamp), so that a poll without an
    /// end event is shown as running only if it is.
    pub(crate) fn trace_snapshot(&self) -> crate::rt::trace::TraceSnapshot {
        self.trace.snapshot(&|index| self.stamps.get(index).and_then(|s| s.sample()).map(|(_, id)| id))
    }

    /// Records a spawn or wake of `task` made outside this runtime's
    /// workers (`Tracer::record_external`). A spawn is stamped with the
    /// task's creation stamp, read moments ago; a wake reads the coarse
    /// clock.
    pub(crate) fn record_external(&self, kind: Kind, task: &Notified) {
        let raw = task.0.raw();
        let header = raw.header();
        let ts = match kind {
            Kind::Spawn => Some(header.stats.created_ns()),
            _ => None,
        };
        self.trace.record_external(kind, header.id().as_u64(), 0, ts);
    }

    /// Worker slots with a thread of their own from the start; the slots
    /// above are spares.
    pub(crate) fn base_workers(&self) -> usize {
        self.base_workers
    }

    /// Whether worker slot `index` is retired (the loom models wait for it).
    #[cfg(all(test, loom))]
    pub(crate) fn is_retired(&self, index: usize) -> bool {
        self.idle.is_retired(index)
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
        if self.services.driver().timer_inserted(deadline) == TimerHandoff::NotPolling {
            let _ = self.notify_parked();
        }
    }
}

#[cfg_attr(not(feature = "time"), allow(dead_code))]
impl Shared {
    /// True if this thread is this runtime's worker that owns timer shard
    /// `shard` (one shard per worker, shard i = worker i).
    fn is_own_shard_of_current_worker(&self, shard: usize) -> bool {
        let n = self.services.timers().num_shards();
        n == self.num_workers()
            && worker::with_current(|cx| {
                cx.is_some_and(|cx| std::ptr::eq(&*cx.handle.shared, self) && cx.index == shard % n)
            })
    }
}

// SAFETY: `shards` is always the same `TimerShards` (a field of the
// `Services` of the `Shared` this handle's `Arc` keeps alive).
unsafe impl TimerHandle for Handle {
    fn shards(&self) -> &TimerShards {
        self.shared.services.timers()
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
        // Only a Background task passes its class on, and none exists
        // before the flag is set: a runtime without classes skips the
        // look at the polled task.
        let priority = if self.shared.classes.in_use_relaxed() {
            inherited_priority()
        } else {
            crate::rt::task::Priority::Normal
        };
        self.spawn_with(future, task::Meta { spawned_at, name: None, priority })
    }

    /// `spawn` with a name or a class (`task::Builder`); `meta.priority` is
    /// final (inheritance already applied).
    pub(crate) fn spawn_with<F>(&self, future: F, meta: task::Meta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.classes.note_spawn(meta.priority);
        let (task, notified, join) = task::new_task_with(future, self.task_handle(), meta);
        if let Some(notified) = self.shared.owned.bind(task, notified) {
            self.schedule_as(notified, Kind::Spawn);
        }
        join
    }

    /// The reference a task spawned here keeps (`anchor.rs`): this worker
    /// thread's anchor on one of our workers, else the remote anchor (a
    /// fresh one once the `Runtime` and every task holding it are gone).
    #[inline]
    fn task_handle(&self) -> TaskHandle {
        worker::with_current(|cx| cx.filter(|cx| cx.handle.ptr_eq(self)).map(|cx| cx.anchor.clone()))
            .unwrap_or_else(|| self.remote_task_handle())
    }

    fn remote_task_handle(&self) -> TaskHandle {
        self.shared
            .remote_anchor
            .get()
            .and_then(TaskHandle::upgrade)
            .unwrap_or_else(|| TaskHandle::new(self.clone()))
    }

    /// Lets tasks spawned from outside the workers keep `anchor` (held by
    /// the `Runtime`). Set once, at build.
    pub(crate) fn set_remote_anchor(&self, anchor: &TaskHandle) {
        let _ = self.shared.remote_anchor.set(anchor.downgrade());
    }

    pub(crate) fn ptr_eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// The class a task spawned without one gets on this thread (out of line:
/// `Handle::spawn` stays small enough to inline where no class is in use).
#[cold]
#[inline(never)]
fn inherited_priority() -> crate::rt::task::Priority {
    crate::rt::task::Priority::inherited(crate::rt::task::waker::polled_task_priority())
}

impl Schedule for Handle {
    fn schedule(&self, task: Notified) {
        self.schedule_task(task);
    }

    fn yield_now(&self, task: Notified) {
        self.yield_task(task);
    }

    fn release(&self, task: RawTask) -> Option<Task> {
        self.shared.owned.remove(task)
    }

    fn cell_depot(&self) -> Option<&task::cell_cache::CellDepot> {
        self.shared.services.cell_depot()
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
