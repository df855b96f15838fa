//! `Runtime`: owns the worker threads; `block_on`, `spawn`, shutdown.

use super::block_on;
use super::Builder;
use super::Handle;
use crate::loom::thread::JoinHandle as ThreadHandle;
use crate::metrics::RuntimeMetrics;
use crate::rt::context;
use crate::rt::scheduler;
use crate::rt::task::{JoinHandle, TaskDump};
use std::fmt;
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

/// A multi-thread, work-stealing async runtime.
///
/// Dropping it shuts it down: every task is cancelled (its future dropped
/// exactly once), the worker threads are joined, `spawn_blocking` closures
/// not yet started are cancelled and running ones are waited for. [`Runtime::shutdown_timeout`]
/// bounds how long that may take.
///
/// ```
/// use std::time::Duration;
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// let answer = rt.block_on(async { weft::spawn(async { 6 * 7 }).await.unwrap() });
/// assert_eq!(answer, 42);
///
/// // A task that never finishes is cancelled at shutdown.
/// rt.spawn(std::future::pending::<()>());
/// rt.shutdown_timeout(Duration::from_secs(5));
/// ```
pub struct Runtime {
    handle: Handle,
    pub(super) threads: Vec<ThreadHandle<()>>,
    /// Workers whose thread could not be spawned (counted as exited).
    pub(super) missing_workers: usize,
    num_workers: usize,
    /// Set once `shutdown` has run, so `Drop` after `shutdown_timeout` does
    /// not wait again (without a deadline).
    shut_down: bool,
    /// The monitor thread (CPU quota, stalls, cell-cache trimming), if any
    /// of them is on.
    #[cfg(not(all(test, loom)))]
    monitor: Option<crate::rt::monitor::Monitor>,
    /// Where shutdown writes a flight-recorder trace
    /// (`Builder::trace_on_shutdown`, `WEFT_TRACE`).
    pub(super) trace_on_shutdown: Option<std::path::PathBuf>,
    /// The reference that tasks spawned from outside the workers keep
    /// (src/rt/scheduler/anchor.rs); dropped with the runtime, after
    /// shutdown.
    _remote_anchor: scheduler::TaskHandle,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").field("workers", &self.num_workers).finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime with the default configuration (see [`Builder::new`]):
    /// as many workers as the CPUs and CPU quota allow.
    ///
    /// ```
    /// let rt = weft::Runtime::new().unwrap();
    /// assert!(rt.metrics().num_workers() >= 1);
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder to configure a runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(super) fn new_with(inner: scheduler::Handle, num_workers: usize) -> Runtime {
        let remote_anchor = scheduler::TaskHandle::new(inner.clone());
        inner.set_remote_anchor(&remote_anchor);
        Runtime {
            _remote_anchor: remote_anchor,
            handle: Handle { inner },
            threads: Vec::with_capacity(num_workers),
            missing_workers: 0,
            num_workers,
            shut_down: false,
            #[cfg(not(all(test, loom)))]
            monitor: None,
            trace_on_shutdown: None,
        }
    }

    #[cfg(not(all(test, loom)))]
    pub(super) fn start_monitor(&mut self, config: crate::rt::monitor::MonitorConfig) -> io::Result<()> {
        let shared = self.handle.inner.shared.clone();
        self.monitor = Some(crate::rt::monitor::Monitor::start(shared, config)?);
        Ok(())
    }

    #[cfg(all(test, loom))]
    pub(super) fn start_monitor(&mut self, _config: crate::rt::monitor::MonitorConfig) -> io::Result<()> {
        Ok(())
    }

    /// What the runtime detected about the machine (CPUs, quota, NUMA
    /// nodes) and how it placed its workers.
    pub fn topology(&self) -> &crate::topology::Topology {
        self.handle.inner.shared.topology()
    }

    /// A handle to this runtime, to spawn from other threads.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let handle = rt.handle().clone();
    /// let answer = std::thread::spawn(move || handle.spawn(async { 7 })).join().unwrap();
    /// assert_eq!(rt.block_on(answer).unwrap(), 7);
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Spawns a task onto the runtime's workers.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `f` on the runtime's blocking pool; see
    /// [`crate::task::spawn_blocking`].
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let entries = rt.spawn_blocking(|| std::fs::read_dir(".").map(|d| d.count()).unwrap_or(0));
    /// let _entries: usize = rt.block_on(entries).unwrap();
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// Runs `future` to completion on the calling thread, which sleeps while
    /// the future waits. Inside, [`crate::spawn`] and [`Handle::current`]
    /// refer to this runtime. Tasks it spawns run on the worker threads.
    ///
    /// # Panics
    /// When called from a worker thread of any weft runtime, or from inside
    /// another `block_on` on the same thread: both would block a thread that
    /// other work depends on.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// let sum = rt.block_on(async {
    ///     # #[cfg(feature = "time")]
    ///     weft::time::sleep(Duration::from_millis(1)).await;
    ///     let parts: Vec<_> = (1..=4u32).map(|i| weft::spawn(async move { i })).collect();
    ///     let mut sum = 0;
    ///     for p in parts {
    ///         sum += p.await.unwrap();
    ///     }
    ///     sum
    /// });
    /// assert_eq!(sum, 10);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _guard = context::enter_block_on(self.handle.inner.clone());
        let _tokio = crate::rt::tokio_context::enter(self.handle.inner.shared.services().tokio_context());
        block_on::block_on(&self.handle.inner.shared, future)
    }

    /// Makes this runtime the current one on this thread until the guard is
    /// dropped (for `weft::spawn` and `Handle::current` outside `block_on`).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let task = {
    ///     let _guard = rt.enter();
    ///     weft::spawn(async { "spawned outside block_on" })
    /// };
    /// assert_eq!(rt.block_on(task).unwrap(), "spawned outside block_on");
    /// ```
    pub fn enter(&self) -> super::EnterGuard<'_> {
        self.handle.enter()
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }

    /// The flight recorder's recent events; see [`Handle::trace`].
    pub fn trace(&self) -> crate::runtime::TraceSnapshot {
        self.handle.trace()
    }

    /// Every live task; see [`Handle::dump`].
    pub fn dump(&self) -> TaskDump {
        self.handle.dump()
    }

    /// Shuts down, waiting at most `timeout` for the worker threads to
    /// finish their current poll and for running `spawn_blocking` closures
    /// (queued ones are cancelled at once). Threads still busy after that
    /// are left to exit on their own (they hold no borrowed state).
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Shuts down without waiting for the worker threads.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.spawn(std::future::pending::<()>());
    /// rt.shutdown_background(); // returns at once
    /// ```
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        if std::mem::replace(&mut self.shut_down, true) {
            return;
        }
        #[cfg(not(all(test, loom)))]
        if let Some(mut monitor) = self.monitor.take() {
            monitor.stop();
        }
        let shared = &self.handle.inner.shared;
        // A runtime dropped on one of its own worker threads cannot wait for
        // that thread: inside a task, and also in a thread hook
        // (`on_thread_start` runs before the worker context is set, and
        // `on_thread_stop` after it is cleared), hence the thread ids too.
        let on_own_worker =
            scheduler::worker::with_current(|cx| cx.is_some_and(|cx| cx.handle.ptr_eq(&self.handle.inner)));
        let me = crate::loom::thread::current().id();
        let on_own_thread = on_own_worker || self.threads.iter().any(|t| t.thread().id() == me);
        let timeout = if on_own_thread { Some(Duration::ZERO) } else { timeout };
        // One deadline for the workers and the blocking threads.
        let deadline = timeout.map(|t| Instant::now().checked_add(t).unwrap_or_else(far_future));
        // Blocking pool first: from here no queued `spawn_blocking` closure
        // starts; they are cancelled now (docs/design/blocking.md).
        shared.services().blocking().begin_shutdown();
        shared.begin_shutdown();
        let all_exited = shared.wait_for_exits(self.num_workers, self.missing_workers, deadline);
        if let Some(path) = self.trace_on_shutdown.take() {
            // After the workers' exits: their last events are in.
            write_shutdown_trace(shared, &path);
        }
        let threads = std::mem::take(&mut self.threads);
        // On one of its own threads, that thread has not exited (or, in
        // `on_thread_stop`, has counted itself exited but cannot join
        // itself): the others are left to exit on their own.
        if all_exited && !on_own_thread {
            for t in threads {
                // A worker thread only panics if an on_thread_stop hook did;
                // the runtime is gone either way.
                let _ = t.join();
            }
        }
        // Whatever the workers did not get to: cancel the remaining tasks
        // and drop queued references. Then wait for the drains that exiting
        // workers may still be running (they took some shards' tasks before
        // we looked): when this returns, every task that was not running
        // has been cancelled, its future dropped. A task running on a stuck
        // worker is marked CANCELLED; that worker drops it when its poll
        // returns.
        shared.cancel_all_tasks();
        // Closures already running on blocking threads: wait for them up to
        // the same deadline (without limit on a plain drop). Threads still
        // busy after it are left to finish on their own; they hold no
        // borrowed state.
        shared.services().blocking().wait_threads(deadline);
    }
}

/// Writes the flight recorder's trace to `path`; a failure is logged, not
/// raised (shutdown goes on).
fn write_shutdown_trace(shared: &scheduler::Shared, path: &std::path::Path) {
    match shared.trace_snapshot().write_to_file(path) {
        Ok(()) => log::info!("weft: wrote the flight recorder's trace to {}", path.display()),
        Err(e) => log::error!("weft: cannot write the flight recorder's trace to {}: {e}", path.display()),
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

#[cfg(all(test, not(loom)))]
mod cell_trim_tests {
    use crate::rt::task::cell_cache::TRIM_FLOOR;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// Each task's future: counters of runs and drops, and some bytes.
    struct Job {
        ran: Arc<AtomicUsize>,
        dropped: Arc<AtomicUsize>,
        _pad: [u64; 8],
    }

    impl Drop for Job {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    #[test]
    fn the_monitor_gives_an_idle_runtimes_burst_back_to_the_allocator() {
        const TASKS: usize = 20_000;
        let mut builder = crate::Builder::new();
        builder.worker_threads(2).stall_threshold(None);
        builder.cell_trim_period = Duration::from_millis(20);
        let rt = builder.build().unwrap();
        let shared = rt.handle.inner.shared.clone();
        let depot = shared.services().cell_depot().expect("the cell cache is on by default");
        let ran = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let handles: Vec<_> = (0..TASKS)
                .map(|_| {
                    let job = Job { ran: ran.clone(), dropped: dropped.clone(), _pad: [0; 8] };
                    crate::spawn(async move {
                        job.ran.fetch_add(1, Relaxed);
                        drop(job);
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
        });
        assert_eq!(ran.load(Relaxed), TASKS);
        assert_eq!(dropped.load(Relaxed), TASKS);
        // Every class is trimmed to the floor once the runtime is idle: wait
        // for it (this test trims every 20 ms), at most a minute (a
        // hang guard, far above any monitor wake-up on a loaded machine).
        let deadline = Instant::now() + Duration::from_secs(60);
        let used = |class| depot.chains(class);
        let classes = crate::rt::task::cell_cache::NUM_CLASSES;
        while (0..classes).any(|c| used(c) > TRIM_FLOOR) {
            assert!(
                Instant::now() < deadline,
                "depot still above the floor: {:?}",
                (0..classes).map(used).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // The burst's cells did go through the depot and were trimmed: 20,000
        // cells are 625 chains, more than the class's depot holds (2 MiB,
        // a few hundred chains of these cells); all but the floor of what
        // it held were freed.
        assert!(depot.trimmed_chains() > 100, "trimmed only {} chains", depot.trimmed_chains());
        // The trimmed depot still serves: a second burst runs as well.
        rt.block_on(async {
            let handles: Vec<_> = (0..TASKS)
                .map(|_| {
                    let job = Job { ran: ran.clone(), dropped: dropped.clone(), _pad: [0; 8] };
                    crate::spawn(async move {
                        job.ran.fetch_add(1, Relaxed);
                        drop(job);
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
        });
        assert_eq!(ran.load(Relaxed), 2 * TASKS);
        assert_eq!(dropped.load(Relaxed), 2 * TASKS);
    }

    #[test]
    fn a_runtime_that_wants_its_monitor_only_for_trimming_builds_without_it() {
        crate::test_log::install();
        let mut builder = crate::Builder::new();
        // Explicit worker count (no quota tracking), no stall detection:
        // the monitor would only trim the cell depot.
        builder.worker_threads(2).stall_threshold(None);
        crate::rt::monitor::Monitor::refuse_next_start();
        let rt = builder.build().expect("a refused monitor costs only the trimming");
        assert!(rt.monitor.is_none());
        assert_eq!(crate::test_log::count("cannot spawn the monitor thread"), 1);
        assert_eq!(crate::test_log::count("will not be trimmed"), 1);
        // The runtime itself works: every task runs once.
        let ran = Arc::new(AtomicUsize::new(0));
        let total = rt.block_on({
            let ran = ran.clone();
            async move {
                let handles: Vec<_> = (0..100u64)
                    .map(|i| {
                        let ran = ran.clone();
                        crate::spawn(async move {
                            ran.fetch_add(1, Relaxed);
                            i
                        })
                    })
                    .collect();
                let mut total = 0;
                for h in handles {
                    total += h.await.unwrap();
                }
                total
            }
        });
        assert_eq!(total, (0..100).sum::<u64>());
        assert_eq!(ran.load(Relaxed), 100);
    }

    #[test]
    fn a_runtime_that_needs_its_monitor_for_stalls_fails_to_build_without_it() {
        let mut builder = crate::Builder::new();
        builder.worker_threads(2).stall_threshold(Some(Duration::from_millis(10)));
        crate::rt::monitor::Monitor::refuse_next_start();
        let err = builder.build().expect_err("stall detection needs the monitor");
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
        assert!(err.to_string().contains("cannot spawn the monitor thread"), "{err}");
    }
}

#[cfg(all(test, not(loom)))]
mod trace_tests {
    #[test]
    fn a_trace_path_that_cannot_be_written_is_logged_not_raised() {
        crate::test_log::install();
        let path = std::env::temp_dir().join("weft-no-such-dir").join("nested").join("trace.json");
        let rt = crate::Builder::new().worker_threads(1).trace_on_shutdown(&path).build().unwrap();
        rt.block_on(rt.spawn(async {})).unwrap();
        drop(rt);
        assert!(!path.exists());
        assert_eq!(crate::test_log::count("cannot write the flight recorder's trace"), 1);
    }
}
