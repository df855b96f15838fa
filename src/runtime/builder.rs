//! `Builder`: configures and starts a runtime.

use super::Runtime;
use crate::loom::sync::{Arc, StdArc};
use crate::loom::thread;
use crate::rt::scheduler::{self, Shared, MAX_WORKERS};
use crate::topology::{self, CountSource, CpuSet, Detected, Pinning, Rounding, Sources, Topology};
use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The environment variable that overrides the detected worker count.
pub(crate) const WORKER_THREADS_ENV: &str = "WEFT_WORKER_THREADS";
/// The scheduler trace period in milliseconds (`Builder::sched_trace`).
pub(crate) const SCHEDTRACE_ENV: &str = "WEFT_SCHEDTRACE";
/// Where to write a flight-recorder trace at shutdown
/// (`Builder::trace_on_shutdown`).
pub(crate) const TRACE_ENV: &str = "WEFT_TRACE";
/// A poll longer than this is a stall (reported, compensated) by default.
const DEFAULT_STALL_THRESHOLD: Duration = Duration::from_millis(10);
/// Stall thresholds up to this one make the last searcher wake another
/// worker after its first poll rather than before it
/// (docs/design/sleep.md, "The searcher's wake after its first poll"):
/// behind a first poll that blocks, the batch it took waits about one
/// threshold for the monitor, and past 100 ms that wait is not worth the
/// wake it saves.
const MAX_DEFERRED_WAKE_THRESHOLD: Duration = Duration::from_millis(100);
/// How often the monitor re-reads the CPU quota by default.
const DEFAULT_QUOTA_REFRESH: Duration = Duration::from_secs(1);

#[cfg(feature = "topology")]
mod topology_options;
mod trace_options;

pub(crate) type Callback = StdArc<dyn Fn() + Send + Sync + 'static>;
type NameFn = StdArc<dyn Fn() -> String + Send + Sync + 'static>;

/// Configures a [`Runtime`]. Obtained from [`Runtime::builder`].
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(2).thread_name("my-worker").build().unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub struct Builder {
    worker_threads: Option<usize>,
    thread_name: NameFn,
    thread_stack_size: Option<usize>,
    on_thread_start: Option<Callback>,
    on_thread_stop: Option<Callback>,
    /// Every thread enters tokio's context (feature `tokio-context`).
    tokio_context: bool,
    /// The clock starts paused (`start_paused`).
    start_paused: bool,
    /// Timer wheels; `None`: one per worker.
    timer_shards: Option<usize>,
    rounding: Rounding,
    pinning: Pinning,
    /// `None`: the quota is read once, at build time.
    quota_refresh: Option<Duration>,
    /// Fixture tree and affinity mask to detect from instead of the
    /// system; pinning is then planned but not applied (tests, simulation).
    topology_fixture: Option<(PathBuf, CpuSet)>,
    numa_aware_stealing: bool,
    /// `None`: no stall detection.
    stall_threshold: Option<Duration>,
    /// Take the stalled worker's stack when a stall is reported.
    stall_backtraces: bool,
    /// The scheduler trace period (`sched_trace`, `WEFT_SCHEDTRACE`).
    sched_trace: Option<Duration>,
    /// `spawn_blocking`'s pool: at most this many threads (0 is rejected).
    max_blocking_threads: usize,
    /// How long an idle blocking thread waits for work before it exits.
    thread_keep_alive: Duration,
    /// Recycle task cells past glibc's fast bins (`task::cell_cache`).
    task_cell_cache: bool,
    /// How often the monitor trims the cell depot (`cell_cache::TRIM_PERIOD`;
    /// tests shorten it).
    pub(crate) cell_trim_period: Duration,
    /// Events per flight-recorder ring (`flight_recorder`; 0: off).
    flight_recorder: usize,
    /// Where to write a trace at shutdown (`trace_on_shutdown`, `WEFT_TRACE`).
    trace_on_shutdown: Option<PathBuf>,
    /// `background_workers`: at most this many workers poll Background
    /// tasks at a time (None: no cap).
    background_workers: Option<usize>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("worker_threads", &self.worker_threads)
            .field("thread_stack_size", &self.thread_stack_size)
            .field("timer_shards", &self.timer_shards)
            .field("rounding", &self.rounding)
            .field("pinning", &self.pinning)
            .field("quota_refresh", &self.quota_refresh)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("task_cell_cache", &self.task_cell_cache)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults: workers = min(CPUs this process may run
    /// on, the cgroup CPU quota rounded up), tracked live once a second;
    /// no pinning; threads named `weft-worker-N`.
    ///
    /// Without the `topology` feature (on by default): workers =
    /// `std::thread::available_parallelism()`, fixed at build time, on one
    /// NUMA node, unpinned; the options that need the /proc and /sys
    /// readers (`rounding`, `pin_workers`, `quota_refresh`) do not exist.
    pub fn new() -> Builder {
        Builder {
            worker_threads: None,
            thread_name: StdArc::new(|| {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                // Relaxed: only distinct numbers matter, which the RMW gives.
                format!("weft-worker-{}", NEXT.fetch_add(1, Ordering::Relaxed))
            }),
            thread_stack_size: None,
            on_thread_start: None,
            on_thread_stop: None,
            tokio_context: false,
            start_paused: false,
            timer_shards: None,
            rounding: Rounding::default(),
            pinning: Pinning::None,
            quota_refresh: Some(DEFAULT_QUOTA_REFRESH),
            topology_fixture: None,
            numa_aware_stealing: true,
            stall_threshold: Some(DEFAULT_STALL_THRESHOLD),
            stall_backtraces: true,
            sched_trace: None,
            max_blocking_threads: crate::rt::blocking::pool::DEFAULT_MAX_THREADS,
            thread_keep_alive: crate::rt::blocking::pool::DEFAULT_KEEP_ALIVE,
            task_cell_cache: true,
            cell_trim_period: crate::rt::task::cell_cache::TRIM_PERIOD,
            flight_recorder: crate::rt::trace::DEFAULT_CAPACITY,
            trace_on_shutdown: None,
            background_workers: None,
        }
    }

    /// The number of worker threads, overriding detection and the
    /// `WEFT_WORKER_THREADS` environment variable. A fixed count: the CPU
    /// quota is not tracked. 0 is rejected by [`Builder::build`].
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(3).build().unwrap();
    /// assert_eq!(rt.topology().num_workers(), 3);
    /// assert!(weft::Runtime::builder().worker_threads(0).build().is_err());
    /// ```
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        self.worker_threads = Some(n);
        self
    }

    /// A poll that runs longer than `threshold` is a stall (default 10 ms;
    /// `None` switches stall detection off). The monitor thread reports each
    /// stall once through the `log` facade (warn level) with the task's id,
    /// name and spawn location, counts it in
    /// [`crate::metrics::WorkerMetrics::stalls`], and, if the stalled
    /// worker has queued tasks or timers and no other worker is free to
    /// take them, lets a compensating worker in until the poll returns.
    /// Thresholds below 1 ms are raised to 1 ms.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = weft::Runtime::builder()
    ///     .worker_threads(2)
    ///     .stall_threshold(Some(Duration::from_millis(50)))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.metrics().total_stalls(), 0);
    /// ```
    pub fn stall_threshold(&mut self, threshold: Option<Duration>) -> &mut Self {
        self.stall_threshold = threshold.map(|d| d.max(Duration::from_millis(1)));
        self
    }

    /// Whether a reported stall carries the stalled worker thread's stack
    /// ([`crate::runtime::StallEvent::backtrace`], and its innermost frames in the
    /// warning). On by default; needs the `stall-stacks` feature (on by
    /// default) and a Unix system, and does nothing without them.
    ///
    /// The monitor takes the stack once per stall, by sending the worker
    /// thread the real-time signal `SIGRTMIN + 7`; its handler is installed
    /// the first time a stack is taken and chained, so other handlers of
    /// that signal in the process still run. A thread that has the signal
    /// blocked, or does not run its handler within a few milliseconds,
    /// gives a stall without a stack. Names and source lines are looked
    /// up from the binary's debug information when the stack is first
    /// displayed, never on a worker thread.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).stall_backtraces(false).build().unwrap();
    /// assert!(rt.handle().recent_stalls().is_empty());
    /// ```
    pub fn stall_backtraces(&mut self, on: bool) -> &mut Self {
        self.stall_backtraces = on;
        self
    }

    /// Every `period`, the runtime's monitor thread writes one line of
    /// scheduler state to stderr (workers, unparked and searching ones,
    /// queue lengths, tasks spawned and completed, stalls, the blocking
    /// pool), like Go's `GODEBUG=schedtrace`. `None` (the default): off.
    /// Periods below 1 ms are raised to 1 ms.
    ///
    /// The `WEFT_SCHEDTRACE` environment variable, a period in
    /// milliseconds (`WEFT_SCHEDTRACE=1000`; `0` is off), overrides this,
    /// so an operator can turn it on without a rebuild. The line's fields
    /// are described in [`crate::metrics`] ("Scheduler trace").
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = weft::Runtime::builder()
    ///     .worker_threads(2)
    ///     .sched_trace(Some(Duration::from_secs(1)))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn sched_trace(&mut self, period: Option<Duration>) -> &mut Self {
        self.sched_trace = period.map(|d| d.max(Duration::from_millis(1)));
        self
    }

    /// Names every worker thread `name`.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let name = name.into();
        self.thread_name = StdArc::new(move || name.clone());
        self
    }

    /// Names worker threads with the result of `f` (called once per thread).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// static NEXT: AtomicUsize = AtomicUsize::new(0);
    /// let rt = weft::Runtime::builder()
    ///     .worker_threads(2)
    ///     .thread_name_fn(|| format!("ingest-{}", NEXT.fetch_add(1, Ordering::Relaxed)))
    ///     .build()
    ///     .unwrap();
    /// let name = rt.block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }));
    /// assert!(name.unwrap().unwrap().starts_with("ingest-"));
    /// ```
    pub fn thread_name_fn(&mut self, f: impl Fn() -> String + Send + Sync + 'static) -> &mut Self {
        self.thread_name = StdArc::new(f);
        self
    }

    /// Stack size of each worker thread, in bytes.
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// The most threads the blocking pool ([`crate::task::spawn_blocking`])
    /// runs at once (default 512). Closures spawned beyond it wait their
    /// turn, oldest first. 0 is rejected by [`Builder::build`].
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = weft::Runtime::builder()
    ///     .worker_threads(1)
    ///     .max_blocking_threads(4)
    ///     .thread_keep_alive(Duration::from_secs(1))
    ///     .build()
    ///     .unwrap();
    /// let jobs: Vec<_> = (0..8).map(|i| rt.spawn_blocking(move || i * 2)).collect();
    /// let total: i32 = rt.block_on(async {
    ///     let mut total = 0;
    ///     for j in jobs {
    ///         total += j.await.unwrap();
    ///     }
    ///     total
    /// });
    /// assert_eq!(total, 56);
    /// assert!(weft::Runtime::builder().max_blocking_threads(0).build().is_err());
    /// ```
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for another closure
    /// before it exits (default 10 s).
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Self {
        self.thread_keep_alive = keep_alive;
        self
    }

    /// Whether task allocations of up to 1,024 bytes are recycled (default
    /// on). A task is usually allocated on one thread and freed on another
    /// (spawned from outside the runtime, or stolen); with glibc's malloc
    /// such a free past 120 bytes takes the allocating thread's arena lock,
    /// a steady stream of them convoys the workers on it, and a burst of
    /// thousands of small tasks overflows malloc's per-thread caches. With
    /// the cache on, each thread keeps up to 64 free cells per 32-byte size
    /// class and the runtime up to 2 MiB more per class, moved between
    /// threads 32 at a time. The runtime's monitor thread gives half of
    /// each class's surplus back to the allocator every 10 s, so an idle
    /// runtime returns a burst's memory within minutes. Turn it off to leave every task
    /// allocation to the global allocator, e.g. with an allocator that
    /// already recycles across threads (jemalloc, mimalloc), or where a
    /// burst's memory must be returned at once.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).task_cell_cache(false).build().unwrap();
    /// assert_eq!(rt.block_on(async { weft::spawn(async { [7u8; 200] }).await.unwrap()[199] }), 7);
    /// ```
    pub fn task_cell_cache(&mut self, enabled: bool) -> &mut Self {
        self.task_cell_cache = enabled;
        self
    }

    /// Runs every thread of the runtime (workers, blocking threads, and
    /// the caller inside `Runtime::block_on`) inside the context of a
    /// tokio runtime (default off; feature `tokio-context`), so crates that
    /// call `tokio::spawn`, `tokio::time::sleep` or `tokio::net` from a
    /// weft task work instead of panicking with "there is no reactor
    /// running".
    ///
    /// That tokio runtime is one per process, started by the first
    /// `build()` that asks for it, with a single thread of its own: it
    /// drives tokio's sockets and timers and runs what `tokio::spawn`
    /// is given. weft's own tasks, sockets and timers are not affected
    /// and stay the fast path; a tokio socket or timer costs one
    /// cross-thread wake per event, and `tokio::spawn`ed tasks share that
    /// one thread. Use it for the crates that need it (HTTP clients,
    /// database drivers), not for code you can write against weft.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).tokio_context(true).build().unwrap();
    /// let n = rt.block_on(rt.spawn(async {
    ///     tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    ///     tokio::spawn(async { 21 * 2 }).await.unwrap()
    /// }));
    /// assert_eq!(n.unwrap(), 42);
    /// ```
    ///
    /// Errors: `build()` returns the error if the tokio runtime cannot be
    /// started (e.g. no thread can be spawned).
    #[cfg(feature = "tokio-context")]
    pub fn tokio_context(&mut self, enabled: bool) -> &mut Self {
        self.tokio_context = enabled;
        self
    }

    /// Starts the runtime with its clock paused, as if the first thing it
    /// did was [`time::pause`](crate::time::pause): timers, timeouts and
    /// intervals then run on clock time that moves only when the runtime
    /// is idle (or on [`time::advance`](crate::time::advance)), for tests
    /// that take no real time. `#[weft::test(start_paused = true)]` sets
    /// it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::time::{timeout, Instant};
    ///
    /// let rt = weft::Runtime::builder().worker_threads(2).start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     let never = std::future::pending::<()>();
    ///     assert!(timeout(Duration::from_secs(30), never).await.is_err());
    ///     assert_eq!(start.elapsed(), Duration::from_secs(30));
    /// });
    /// ```
    #[cfg(feature = "time")]
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.start_paused = paused;
        self
    }

    /// The blocking pool's configuration, or `InvalidInput` for a maximum
    /// of 0.
    fn blocking_config(&self) -> io::Result<crate::rt::blocking::Config> {
        if self.max_blocking_threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "weft: max_blocking_threads(0) is invalid: spawn_blocking needs at least one thread",
            ));
        }
        Ok(crate::rt::blocking::Config {
            max_threads: self.max_blocking_threads,
            keep_alive: self.thread_keep_alive,
            stack_size: self.thread_stack_size,
            tokio_context: self.tokio_context,
        })
    }

    /// Runs `f` on each worker thread as it starts, before it runs tasks.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    /// use std::sync::Arc;
    ///
    /// let (started, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// let (s, t) = (started.clone(), stopped.clone());
    /// let rt = weft::Runtime::builder()
    ///     .worker_threads(2)
    ///     .on_thread_start(move || drop(s.fetch_add(1, SeqCst)))
    ///     .on_thread_stop(move || drop(t.fetch_add(1, SeqCst)))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {});
    /// drop(rt); // joins the workers: every stop hook has run
    /// assert!(started.load(SeqCst) >= 2);
    /// assert_eq!(stopped.load(SeqCst), started.load(SeqCst));
    /// ```
    pub fn on_thread_start(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.on_thread_start = Some(StdArc::new(f));
        self
    }

    /// Runs `f` on each worker thread just before it exits.
    pub fn on_thread_stop(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.on_thread_stop = Some(StdArc::new(f));
        self
    }

    /// The number of timer wheels (default: one per worker). Benchmarks set
    /// it to 1 to measure a single global-mutex wheel against the sharded
    /// default; 0 or more than the maximum worker count is rejected by
    /// [`Builder::build`]. Not a tuning knob.
    #[doc(hidden)]
    pub fn timer_shards(&mut self, n: usize) -> &mut Self {
        self.timer_shards = Some(n);
        self
    }

    /// At most `n` workers poll [`Background`](crate::task::Priority::Background)
    /// tasks at the same time (default: no cap), so a background burst
    /// leaves the other workers to the other classes. A worker that finds
    /// only Background work while `n` others hold it parks until one of
    /// them moves on.
    ///
    /// `n` must be at least 1 (background work must be able to run) and at
    /// most the number of worker threads; otherwise [`Builder::build`]
    /// returns an `InvalidInput` error.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// let rt = weft::Runtime::builder().worker_threads(2).background_workers(1).build().unwrap();
    /// drop(rt);
    /// let err = weft::Runtime::builder().worker_threads(2).background_workers(3).build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn background_workers(&mut self, n: usize) -> &mut Self {
        self.background_workers = Some(n);
        self
    }

    fn resolve_background_workers(&self, workers: usize) -> io::Result<Option<usize>> {
        match self.background_workers {
            Some(0) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "weft: background_workers(0) is invalid: background tasks would never run; \
                 leave the option unset for no cap",
            )),
            Some(n) if n > workers => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("weft: background_workers({n}) is more than the runtime's {workers} worker threads"),
            )),
            cap => Ok(cap),
        }
    }

    fn resolve_timer_shards(&self, workers: usize) -> io::Result<usize> {
        match self.timer_shards {
            None => Ok(workers),
            Some(0) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "weft: timer_shards(0) is invalid: the timers need at least one wheel",
            )),
            Some(n) if n > MAX_WORKERS => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("weft: timer_shards({n}) is more than the supported maximum of {MAX_WORKERS}"),
            )),
            Some(n) => Ok(n),
        }
    }

    /// The detection sources: the system, or the fixture.
    fn sources(&self) -> Sources {
        match &self.topology_fixture {
            Some((root, affinity)) => Sources::fixture(root.clone(), affinity.clone()),
            None => Sources::system(),
        }
    }

    /// Reads the machine (or takes the fixed one of `settings`).
    fn detect(&self, sources: &Sources, settings: &Settings) -> Detected {
        if let Some(cpus) = settings.fixed_machine {
            return topology::one_node((0..cpus).collect());
        }
        let detected = topology::detect(sources);
        // Say once per process what could not be read.
        for p in &detected.problems {
            topology::report_once(p);
        }
        detected
    }

    /// `(threads, active workers, source)`: the builder's count, else
    /// `WEFT_WORKER_THREADS`, else `min(allowed, rounded quota)` active out
    /// of one thread per allowed CPU.
    fn resolve_worker_threads(&self, detected: &Detected) -> io::Result<(usize, usize, CountSource)> {
        let (threads, active, source) = if let Some(n) = self.worker_threads {
            (n, n, CountSource::Builder)
        } else if let Some(n) = worker_threads_from_env()? {
            (n, n, CountSource::Environment)
        } else {
            let allowed = detected.allowed.len().max(1);
            let quota = detected.quota.as_ref().map(|q| q.cpus);
            (allowed, topology::worker_count(allowed, quota, self.rounding), CountSource::Detected)
        };
        if threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "weft: worker_threads(0) is invalid: a runtime needs at least one worker thread",
            ));
        }
        if threads > MAX_WORKERS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "weft: worker_threads({threads}) is more than the supported maximum of {MAX_WORKERS}"
                ),
            ));
        }
        Ok((threads, active, source))
    }

    /// Everything decided before a thread starts.
    fn plan(&self, settings: &Settings) -> io::Result<(Topology, Sources)> {
        let sources = self.sources();
        let detected = self.detect(&sources, settings);
        let (threads, active, source) = self.resolve_worker_threads(&detected)?;
        let placement = topology::placement::plan(&self.pinning, &detected, threads)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("weft: {e}")))?;
        let topology = Topology {
            allowed: detected.allowed,
            quota: detected.quota,
            nodes: detected.nodes,
            rounding: self.rounding,
            source,
            num_workers: active,
            worker_threads: threads,
            pinning: self.pinning.clone(),
            placement,
            numa_aware_stealing: self.numa_aware_stealing,
        };
        Ok((topology, sources))
    }

    /// Starts the runtime's worker threads.
    ///
    /// Errors: `InvalidInput` for a worker count of 0 or above the maximum
    /// (or a timer shard count of 0, `max_blocking_threads(0)`, or a
    /// `background_workers` cap of 0 or above the worker count), a malformed `WEFT_WORKER_THREADS` or `WEFT_SCHEDTRACE`, a
    /// pinning CPU the process may not use;
    /// the OS error if a thread cannot be spawned (already started threads
    /// are shut down first).
    ///
    /// ```
    /// use std::io::ErrorKind;
    ///
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// assert_eq!(rt.block_on(async { 2 + 2 }), 4);
    ///
    /// let err = weft::Runtime::builder().worker_threads(0).build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        #[cfg(all(feature = "tokio-context", not(all(test, loom))))]
        if self.tokio_context {
            crate::rt::tokio_context::handle()?;
        }
        let settings = Settings::of(self).settled_for_loom();
        let (topology, sources) = self.plan(&settings)?;
        let base = topology.worker_threads;
        // Spare slots for compensating workers (stalls, block_in_place):
        // one per worker thread.
        let spares = if settings.spares { base.min(MAX_WORKERS - base) } else { 0 };
        let n = base + spares;
        let timer_shards = self.resolve_timer_shards(n)?;
        let background_workers = self.resolve_background_workers(base)?;
        let blocking = self.blocking_config()?;
        let quota = match (topology.count_source(), settings.quota_refresh) {
            // Off Linux there is no quota to follow (fixtures aside).
            (CountSource::Detected, Some(interval))
                if cfg!(target_os = "linux") || self.topology_fixture.is_some() =>
            {
                topology::quota::config(sources, self.rounding, base, interval)
            }
            _ => None,
        };
        let stall_threshold = settings.stall_threshold;
        // The depot exists only with the cache on.
        let cell_trim_period = settings.task_cell_cache.then_some(self.cell_trim_period);
        let sched_trace = sched_trace_from_env()?.unwrap_or(self.sched_trace).map(|period| {
            crate::rt::monitor::SchedTrace { period, line: Box::new(crate::metrics::sched_trace::line) }
        });
        let monitor_config = (quota.is_some()
            || stall_threshold.is_some()
            || cell_trim_period.is_some()
            || sched_trace.is_some())
        .then_some(crate::rt::monitor::MonitorConfig {
            quota,
            stall_threshold,
            cell_trim_period,
            sched_trace,
            stall_backtraces: self.stall_backtraces,
        });
        let pins: Vec<Option<usize>> = if self.topology_fixture.is_some() {
            vec![None; n]
        } else {
            let mut pins: Vec<Option<usize>> = topology.placement.iter().map(|p| p.cpu).collect();
            pins.resize(n, None);
            pins
        };
        let config = scheduler::Config {
            topology,
            spares,
            // The configured threshold, not the one `settings` settled for
            // loom: the loom models run the deferred wake too (none of them
            // blocks a worker inside a poll, which is what the monitor
            // covers). A work batch behind a first poll that blocks waits up
            // to about the threshold, so a long threshold keeps the early
            // wake.
            defer_searcher_notify: self.stall_threshold.is_some_and(|t| t <= MAX_DEFERRED_WAKE_THRESHOLD),
            fixed_seeds: settings.fixed_seeds,
            flight_recorder: settings.flight_recorder,
            background_workers,
            services: crate::rt::services::Config {
                timer_shards,
                blocking,
                task_cell_cache: settings.task_cell_cache,
                tokio_context: self.tokio_context,
            },
        };
        let (shared, cores) = Shared::new(config)
            .map_err(|e| io::Error::new(e.kind(), format!("weft: cannot create the netpoller: {e}")))?;
        if self.start_paused {
            // Before any worker runs, so no timer sees a running clock.
            shared.services().timers().clock().pause();
        }
        let handle = scheduler::Handle { shared: Arc::new(shared) };
        let mut runtime = Runtime::new_with(handle.clone(), n);
        runtime.trace_on_shutdown = trace_path_from_env().or_else(|| self.trace_on_shutdown.clone());
        for (index, core) in cores.into_iter().enumerate() {
            // Until this worker's thread runs, it counts as missing, so that
            // dropping the half-built runtime (an early return below, or a
            // panic) does not wait for it.
            runtime.missing_workers = n - index;
            let name = self.worker_name(index)?;
            let handle = handle.clone();
            let start = self.on_thread_start.clone();
            let stop = self.on_thread_stop.clone();
            let mut b = thread::Builder::new().name(name);
            if let Some(size) = self.thread_stack_size {
                b = b.stack_size(size);
            }
            let pin = pins[index];
            let tokio_context = self.tokio_context;
            let spawned = b.spawn(move || {
                // First, so the thread hooks can use tokio's context too.
                let _tokio = crate::rt::tokio_context::enter(tokio_context);
                if let Some(cpu) = pin {
                    pin_worker(index, cpu);
                }
                run_hook(start.as_deref(), "on_thread_start", index);
                scheduler::worker::run(handle, Box::new(core));
                run_hook(stop.as_deref(), "on_thread_stop", index);
            });
            match spawned {
                Ok(t) => runtime.threads.push(t),
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("weft: cannot spawn worker thread {index}: {e}"),
                    ));
                }
            }
        }
        runtime.missing_workers = 0;
        if let Some(config) = monitor_config {
            // Only trimming asked for: a monitor that cannot start costs
            // the trimming, not the runtime.
            let only_trimming =
                config.quota.is_none() && config.stall_threshold.is_none() && config.sched_trace.is_none();
            match runtime.start_monitor(config) {
                Ok(()) => {}
                Err(e) if only_trimming => {
                    log::warn!("{e}; the task-cell cache will not be trimmed");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(runtime)
    }
}

/// The builder's options that loom models pin down, settled once
/// (`settled_for_loom`) so that `build` reads without loom checks.
struct Settings {
    /// Detect nothing: a one-node machine with this many CPUs.
    fixed_machine: Option<usize>,
    /// Spare worker slots for compensation.
    spares: bool,
    /// `Builder::quota_refresh`.
    quota_refresh: Option<Duration>,
    /// `Builder::stall_threshold`: what the monitor watches for.
    stall_threshold: Option<Duration>,
    /// `Builder::task_cell_cache`.
    task_cell_cache: bool,
    /// Seed the workers' victim choice with fixed numbers.
    fixed_seeds: bool,
    /// `Builder::flight_recorder`.
    flight_recorder: usize,
}

impl Settings {
    /// What the builder asks for.
    fn of(builder: &Builder) -> Settings {
        Settings {
            fixed_machine: None,
            spares: true,
            quota_refresh: builder.quota_refresh,
            stall_threshold: builder.stall_threshold,
            task_cell_cache: builder.task_cell_cache,
            fixed_seeds: false,
            flight_recorder: builder.flight_recorder,
        }
    }

    /// Under loom: a fixed one-node, 2-CPU machine (no /proc or /sys
    /// reads); no spare slots (models stay small); no monitor (no quota
    /// tracking, no stall detection: loom runs no monitor thread); no cell
    /// depot (its queue is not a loom type, and the models exercise the
    /// task protocol, not the allocator); fixed seeds (executions replay);
    /// no flight recorder (its ring has a model of its own, and thousands
    /// of loom atomics per worker would slow every model).
    /// Elsewhere, unchanged.
    fn settled_for_loom(self) -> Settings {
        if !crate::loom::IS_LOOM {
            return self;
        }
        Settings {
            fixed_machine: Some(2),
            spares: false,
            quota_refresh: None,
            stall_threshold: None,
            task_cell_cache: false,
            fixed_seeds: true,
            flight_recorder: 0,
        }
    }
}

impl Builder {
    /// The name for worker `index`; a panicking name function or a name
    /// with a NUL byte is an `InvalidInput` error, not a panic.
    fn worker_name(&self, index: usize) -> io::Result<String> {
        let name = catch_unwind(AssertUnwindSafe(|| (self.thread_name)())).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("weft: the thread_name_fn panicked while naming worker {index}"),
            )
        })?;
        if name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("weft: worker thread name {name:?} contains a NUL byte"),
            ));
        }
        Ok(name)
    }
}

/// Runs a thread hook; a panic in it is reported and contained, so the
/// worker still runs (and exits, so shutdown never waits on it forever).
fn run_hook(hook: Option<&(dyn Fn() + Send + Sync)>, what: &str, index: usize) {
    if let Some(f) = hook {
        if catch_unwind(AssertUnwindSafe(f)).is_err() {
            eprintln!("weft: the {what} hook panicked on worker {index}; the panic was contained");
        }
    }
}

/// Pins the calling worker thread; a failure (a CPU taken offline since
/// build) is logged and the worker runs unpinned.
fn pin_worker(index: usize, cpu: usize) {
    if let Err(e) = topology::pin_current_thread(cpu) {
        log::warn!("weft: cannot pin worker {index} to CPU {cpu}: {e}; it runs unpinned");
    }
}

/// `WEFT_SCHEDTRACE`, if set: `Some(None)` for 0 (off), `Some(Some(period))`
/// for a positive number of milliseconds, else an error that names the
/// variable and what it holds. `None` if unset.
fn sched_trace_from_env() -> io::Result<Option<Option<Duration>>> {
    let Some(value) = std::env::var_os(SCHEDTRACE_ENV) else { return Ok(None) };
    let text = value.to_string_lossy();
    match text.trim().parse::<u64>() {
        Ok(0) => Ok(Some(None)),
        Ok(ms) => Ok(Some(Some(Duration::from_millis(ms)))),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("weft: {SCHEDTRACE_ENV}={text:?} is not a period in milliseconds (e.g. 1000; 0 or unset: off)"),
        )),
    }
}

/// `WEFT_TRACE`, if set and not empty: the path to write a trace to at
/// shutdown.
fn trace_path_from_env() -> Option<PathBuf> {
    std::env::var_os(TRACE_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// `WEFT_WORKER_THREADS`, if set: a positive integer, else an error that
/// names the variable and what it holds.
fn worker_threads_from_env() -> io::Result<Option<usize>> {
    let Some(value) = std::env::var_os(WORKER_THREADS_ENV) else { return Ok(None) };
    let text = value.to_string_lossy();
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("weft: {WORKER_THREADS_ENV}={text:?} is not a positive integer (unset it to detect the CPU count)"),
        )),
    }
}
