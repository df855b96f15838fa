//! `Builder`: configures and starts a runtime.

use super::Runtime;
use crate::loom::deque::Worker;
use crate::loom::sync::{Arc, StdArc};
use crate::loom::thread;
use crate::scheduler::{self, Remote, Shared, MAX_WORKERS};
use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

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
    /// Timer wheels; `None`: one per worker.
    timer_shards: Option<usize>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("worker_threads", &self.worker_threads)
            .field("thread_stack_size", &self.thread_stack_size)
            .field("timer_shards", &self.timer_shards)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults: one worker per CPU this process may run
    /// on, threads named `weft-worker-N`.
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
            timer_shards: None,
        }
    }

    /// The number of worker threads. 0 is rejected by [`Builder::build`].
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        self.worker_threads = Some(n);
        self
    }

    /// Names every worker thread `name`.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let name = name.into();
        self.thread_name = StdArc::new(move || name.clone());
        self
    }

    /// Names worker threads with the result of `f` (called once per thread).
    pub fn thread_name_fn(&mut self, f: impl Fn() -> String + Send + Sync + 'static) -> &mut Self {
        self.thread_name = StdArc::new(f);
        self
    }

    /// Stack size of each worker thread, in bytes.
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// Runs `f` on each worker thread as it starts, before it runs tasks.
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

    fn resolve_worker_threads(&self) -> io::Result<usize> {
        let n = match self.worker_threads {
            Some(n) => n,
            None => thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "weft: worker_threads(0) is invalid: a runtime needs at least one worker thread",
            ));
        }
        if n > MAX_WORKERS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("weft: worker_threads({n}) is more than the supported maximum of {MAX_WORKERS}"),
            ));
        }
        Ok(n)
    }

    /// Starts the runtime's worker threads.
    ///
    /// Errors: `InvalidInput` for a worker count of 0 or above the maximum
    /// (or a timer shard count of 0);
    /// the OS error if a thread cannot be spawned (already started threads
    /// are shut down first).
    pub fn build(&mut self) -> io::Result<Runtime> {
        let n = self.resolve_worker_threads()?;
        let timer_shards = self.resolve_timer_shards(n)?;
        let locals: Vec<Worker<_>> = (0..n).map(|_| Worker::new_fifo()).collect();
        let remotes = locals
            .iter()
            .map(|w| Remote { stealer: w.stealer(), parker: scheduler::park::Parker::new() })
            .collect();
        let shared = Shared::new(remotes, timer_shards)
            .map_err(|e| io::Error::new(e.kind(), format!("weft: cannot create the netpoller: {e}")))?;
        let handle = scheduler::Handle { shared: Arc::new(shared) };
        let mut runtime = Runtime::new_with(handle.clone(), n);
        for (index, local) in locals.into_iter().enumerate() {
            // Until this worker's thread runs, it counts as missing, so that
            // dropping the half-built runtime (an early return below, or a
            // panic) does not wait for it.
            runtime.missing_workers = n - index;
            let name = self.worker_name(index)?;
            let seed = if crate::loom::IS_LOOM { index as u64 + 1 } else { seed_for(index) };
            let core = Box::new(scheduler::queue::Core::new(index, local, seed));
            let handle = handle.clone();
            let start = self.on_thread_start.clone();
            let stop = self.on_thread_stop.clone();
            let mut b = thread::Builder::new().name(name);
            if let Some(size) = self.thread_stack_size {
                b = b.stack_size(size);
            }
            let spawned = b.spawn(move || {
                run_hook(start.as_deref(), "on_thread_start", index);
                scheduler::worker::run(handle, core);
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
        Ok(runtime)
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

fn seed_for(index: usize) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(index);
    h.finish()
}
