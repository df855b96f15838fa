//! The elastic thread pool: a FIFO queue of jobs under one mutex, idle
//! threads waiting on a condvar, threads spawned on demand up to a maximum
//! and leaving after a keep-alive.
//!
//! The protocol and the argument that no job is lost, run after shutdown
//! began, or run twice are in docs/design/blocking.md. In short, every
//! decision is taken under `Inner::synced`, and:
//! - a job is pushed only while `shutdown` is false, and `shutdown` is set
//!   in the same critical section that takes the whole queue out;
//! - a thread becomes idle (`num_idle += 1`) only right after it saw the
//!   queue empty, under the lock;
//! - a push that finds an unclaimed idle thread claims it (`num_idle -= 1`,
//!   `num_notify += 1`); a waking idle thread consumes a claim before it
//!   considers timing out, so a claimed thread always looks at the queue
//!   again;
//! - a push that finds no idle thread spawns one below the maximum; at the
//!   maximum every thread is busy or claimed and pops before it idles.

use crate::loom::sync::{Arc, Condvar, Mutex, MutexGuard};
use crate::loom::thread;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::time::Duration;

/// Work the pool runs: a blocking task's first (and only) schedule.
pub(crate) trait Job: Send + 'static {
    /// Runs the job on a pool thread.
    fn run(self);
    /// The job will never run (shutdown began, or no thread could be
    /// spawned): resolve it as cancelled. Called outside the pool's lock.
    fn cancel(self);
}

/// The pool's settings, from the runtime builder.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Threads alive at most (>= 1; the builder rejects 0).
    pub(crate) max_threads: usize,
    /// How long an idle thread waits for work before it exits.
    pub(crate) keep_alive: Duration,
    /// Stack size of each thread (the workers' setting).
    pub(crate) stack_size: Option<usize>,
    /// Each thread enters tokio's context (`rt::tokio_context`).
    pub(crate) tokio_context: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_threads: DEFAULT_MAX_THREADS,
            keep_alive: DEFAULT_KEEP_ALIVE,
            stack_size: None,
            tokio_context: false,
        }
    }
}

/// Default maximum of blocking threads (tokio's figure).
pub(crate) const DEFAULT_MAX_THREADS: usize = 512;
/// Default keep-alive of an idle blocking thread.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A handle to the pool; cloning shares it.
pub(crate) struct Pool<J: Job> {
    inner: Arc<Inner<J>>,
}

impl<J: Job> Clone for Pool<J> {
    fn clone(&self) -> Self {
        Pool { inner: self.inner.clone() }
    }
}

impl<J: Job> fmt::Debug for Pool<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

/// What the pool threads and the spawners share. Everything mutable is in
/// `Synced`, behind the one mutex.
struct Inner<J> {
    synced: Mutex<Synced<J>>,
    /// Idle threads wait here for a claim, their keep-alive, or shutdown.
    work_cv: Condvar,
    /// `wait_threads` waits here for `num_threads` to reach 0.
    exit_cv: Condvar,
    config: Config,
    /// See `set_idle_hook`. A std `OnceLock`, also under loom: no model
    /// sets it.
    idle_hook: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

/// Fields guarded by `Inner::synced`.
struct Synced<J> {
    /// Jobs not yet started, oldest first.
    queue: VecDeque<J>,
    /// Set once by `begin_shutdown`; no job is pushed or popped after it.
    shutdown: bool,
    /// Threads alive (spawned and not yet past their exit decision).
    num_threads: usize,
    /// Idle threads nobody has claimed yet.
    num_idle: usize,
    /// Idle threads claimed by a push that have not woken yet. Invariant:
    /// threads waiting on `work_cv` = `num_idle + num_notify`.
    num_notify: usize,
    /// Join handles of live threads by id; a thread that leaves on its
    /// keep-alive takes its own out (detaching itself).
    threads: HashMap<usize, thread::JoinHandle<()>>,
    next_id: usize,
    /// loom has no clock: the model's "clock" thread sets this to make
    /// every keep-alive wait time out (`Pool::expire_keep_alive`).
    #[cfg(all(test, loom))]
    keep_alive_expired: bool,
}

/// A snapshot for the runtime metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PoolMetrics {
    pub(crate) threads: usize,
    pub(crate) idle: usize,
    pub(crate) queue_depth: usize,
}

impl<J: Job> Pool<J> {
    pub(crate) fn new(config: Config) -> Pool<J> {
        assert!(config.max_threads > 0, "the builder rejects max_blocking_threads(0)");
        let synced = Synced {
            queue: VecDeque::new(),
            shutdown: false,
            num_threads: 0,
            num_idle: 0,
            num_notify: 0,
            threads: HashMap::new(),
            next_id: 0,
            #[cfg(all(test, loom))]
            keep_alive_expired: false,
        };
        Pool {
            inner: Arc::new(Inner {
                synced: Mutex::new(synced),
                work_cv: Condvar::new(),
                exit_cv: Condvar::new(),
                config,
                idle_hook: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Queues `job` (FIFO) and makes sure a thread will take it: an idle
    /// one is claimed, else a new one is spawned below the maximum, else a
    /// busy one takes it when it finishes. After shutdown began the job is
    /// cancelled on the calling thread.
    pub(crate) fn spawn(&self, job: J) {
        let mut synced = self.inner.synced.lock();
        if synced.shutdown {
            drop(synced);
            job.cancel();
            return;
        }
        synced.queue.push_back(job);
        if synced.num_idle > 0 {
            synced.num_idle -= 1;
            synced.num_notify += 1;
            drop(synced);
            // The claimed thread is waiting (it counted itself idle and
            // released the lock in `wait` atomically) or is about to take
            // the lock and see `num_notify`; either way it pops the queue.
            self.inner.work_cv.notify_one();
            return;
        }
        if synced.num_threads >= self.inner.config.max_threads {
            // Every thread is busy or claimed: the job waits its turn.
            return;
        }
        // Spawned under the lock (as tokio does): the new thread's first
        // step is to take the lock, so it finds its handle stored.
        let id = synced.next_id;
        synced.next_id += 1;
        synced.num_threads += 1;
        match self.spawn_thread(id) {
            Ok(handle) => {
                synced.threads.insert(id, handle);
            }
            Err(e) => {
                synced.num_threads -= 1;
                // With a thread alive, it is busy or claimed (no idle one
                // was found) and pops the queue before it idles: the job
                // waits for it. With none, nobody ever would: cancel the
                // queue rather than leave it hanging.
                let orphans =
                    if synced.num_threads == 0 { std::mem::take(&mut synced.queue) } else { VecDeque::new() };
                drop(synced);
                log::warn!(
                    "weft: cannot spawn blocking thread weft-blocking-{id}: {e}; {}",
                    if orphans.is_empty() {
                        "the blocking task waits for a running blocking thread"
                    } else {
                        "no blocking thread is alive, so the queued blocking tasks are cancelled"
                    }
                );
                orphans.into_iter().for_each(J::cancel);
            }
        }
    }

    fn spawn_thread(&self, id: usize) -> io::Result<thread::JoinHandle<()>> {
        let mut builder = thread::Builder::new().name(format!("weft-blocking-{id}"));
        if let Some(size) = self.inner.config.stack_size {
            builder = builder.stack_size(size);
        }
        #[cfg(test)]
        if fail_spawn::take() {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, "injected spawn failure (test)"));
        }
        let inner = self.inner.clone();
        builder.spawn(move || Inner::run(inner, id))
    }

    /// Shutdown begins: no queued job will start. Takes the queue and
    /// cancels every job in it (on this thread, outside the lock) and wakes
    /// every idle thread so that it exits. Idempotent.
    pub(crate) fn begin_shutdown(&self) {
        let mut synced = self.inner.synced.lock();
        synced.shutdown = true;
        let queued = std::mem::take(&mut synced.queue);
        drop(synced);
        self.inner.work_cv.notify_all();
        queued.into_iter().for_each(J::cancel);
    }

    /// After `begin_shutdown`: waits until every thread has exited (at most
    /// until `deadline`; `None` waits as long as the running jobs take),
    /// then joins them. Returns true if all exited. On one of this pool's
    /// own threads it does not wait (it would wait for itself).
    pub(crate) fn wait_threads(&self, deadline: Option<std::time::Instant>) -> bool {
        if self.is_current_thread() {
            return false;
        }
        let mut synced = self.inner.synced.lock();
        debug_assert!(synced.shutdown, "wait_threads before begin_shutdown");
        while synced.num_threads > 0 {
            match deadline {
                None => synced = self.inner.exit_cv.wait(synced),
                Some(deadline) => {
                    if std::time::Instant::now() >= deadline {
                        return false;
                    }
                    synced = self.inner.exit_cv.wait_until(synced, deadline).0;
                }
            }
        }
        let threads = std::mem::take(&mut synced.threads);
        drop(synced);
        for (_, t) in threads {
            // A pool thread does not panic (jobs catch their panics); if
            // one did, there is nothing left to clean up.
            let _ = t.join();
        }
        true
    }

    /// True on one of this pool's threads.
    pub(crate) fn is_current_thread(&self) -> bool {
        let me = Arc::as_ptr(&self.inner) as usize;
        // The context's `blocking_pool`: the pool (its `Inner` address)
        // whose thread this is; 0 elsewhere.
        crate::rt::context::with(|c| c.blocking_pool.get() == me).unwrap_or(false)
    }

    /// True if no job is queued or running (every thread idle, none
    /// claimed). For the paused test clock, which must not move while a
    /// blocking job may still wake a task.
    pub(crate) fn is_idle(&self) -> bool {
        let synced = self.inner.synced.lock();
        synced.queue.is_empty() && synced.num_threads == synced.num_idle
    }

    /// Sets what a thread calls each time it goes idle (once per pool;
    /// later calls are ignored). The runtime's paused test clock uses it to
    /// look again at whether time may move.
    pub(crate) fn set_idle_hook(&self, hook: Box<dyn Fn() + Send + Sync>) {
        let _ = self.inner.idle_hook.set(hook);
    }

    pub(crate) fn metrics(&self) -> PoolMetrics {
        let synced = self.inner.synced.lock();
        PoolMetrics { threads: synced.num_threads, idle: synced.num_idle, queue_depth: synced.queue.len() }
    }

    /// References to the pool's shared state (tests: a freed task gives
    /// its scheduler's back).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn strong_count(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// loom's stand-in for the clock: from now on every keep-alive wait
    /// has timed out.
    #[cfg(all(test, loom))]
    pub(crate) fn expire_keep_alive(&self) {
        self.inner.synced.lock().keep_alive_expired = true;
        self.inner.work_cv.notify_all();
    }
}

impl<J: Job> Inner<J> {
    /// A pool thread: pops jobs while there are any, then idles until a
    /// push claims it, its keep-alive passes, or shutdown.
    fn run(this: Arc<Self>, id: usize) {
        let inner = &*this;
        let _tokio = crate::rt::tokio_context::enter(inner.config.tokio_context);
        let _ = crate::rt::context::with(|c| c.blocking_pool.set(Arc::as_ptr(&this) as usize));
        let mut synced = inner.synced.lock();
        'work: loop {
            while !synced.shutdown {
                let Some(job) = synced.queue.pop_front() else { break };
                drop(synced);
                job.run();
                synced = inner.synced.lock();
            }
            if synced.shutdown {
                break;
            }
            // The queue is empty (seen under the lock): idle.
            synced.num_idle += 1;
            if let Some(hook) = inner.idle_hook.get() {
                hook();
            }
            let mut wait = inner.keep_alive_wait();
            loop {
                let timed_out;
                (synced, timed_out) = wait.wait(&inner.work_cv, synced);
                if synced.num_notify > 0 {
                    // Claimed (by a push, possibly meant for another idle
                    // thread: they are interchangeable): look at the queue.
                    synced.num_notify -= 1;
                    continue 'work;
                }
                if synced.shutdown || timed_out {
                    synced.num_idle -= 1;
                    break 'work;
                }
                // Spurious wake-up: wait for the rest of the keep-alive.
            }
        }
        synced.num_threads -= 1;
        if !synced.shutdown {
            // Leaving on the keep-alive: nobody will join us.
            drop(synced.threads.remove(&id));
        }
        let last = synced.num_threads == 0;
        drop(synced);
        if last {
            // Only `wait_threads` waits on this, for num_threads == 0.
            inner.exit_cv.notify_all();
        }
    }

    fn keep_alive_wait(&self) -> KeepAlive {
        KeepAlive::new(self.config.keep_alive)
    }
}

/// One idle period's keep-alive deadline.
struct KeepAlive {
    #[cfg(not(all(test, loom)))]
    deadline: std::time::Instant,
}

impl KeepAlive {
    #[cfg(not(all(test, loom)))]
    fn new(keep_alive: Duration) -> KeepAlive {
        let now = std::time::Instant::now();
        KeepAlive { deadline: now.checked_add(keep_alive).unwrap_or(now + Duration::from_secs(86400 * 365)) }
    }

    /// Waits on `cv` until notified or the deadline; true if it passed.
    #[cfg(not(all(test, loom)))]
    fn wait<'a, J>(
        &mut self,
        cv: &Condvar,
        synced: MutexGuard<'a, Synced<J>>,
    ) -> (MutexGuard<'a, Synced<J>>, bool) {
        let (synced, _) = cv.wait_until(synced, self.deadline);
        (synced, std::time::Instant::now() >= self.deadline)
    }

    #[cfg(all(test, loom))]
    fn new(_keep_alive: Duration) -> KeepAlive {
        KeepAlive {}
    }

    /// loom: the keep-alive has passed once the model's clock says so; a
    /// thread that finds it passed does not wait at all (a keep-alive that
    /// ends at once is a legal timing).
    #[cfg(all(test, loom))]
    fn wait<'a, J>(
        &mut self,
        cv: &Condvar,
        synced: MutexGuard<'a, Synced<J>>,
    ) -> (MutexGuard<'a, Synced<J>>, bool) {
        if synced.keep_alive_expired {
            return (synced, true);
        }
        let synced = cv.wait(synced);
        let expired = synced.keep_alive_expired;
        (synced, expired)
    }
}

/// Test hook: make the next thread spawn fail, as if the OS refused.
#[cfg(test)]
pub(crate) mod fail_spawn {
    use std::cell::Cell;

    // A test hook, not engine state: kept out of the thread's context.
    crate::loom::thread_local! {
        static FAIL_NEXT: Cell<bool> = const { Cell::new(false) };
    }

    /// The next pool thread spawned from this thread fails.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn next() {
        FAIL_NEXT.with(|f| f.set(true));
    }

    pub(super) fn take() -> bool {
        FAIL_NEXT.with(|f| f.replace(false))
    }
}
