//! `Handle`: a clonable reference to a runtime, usable from any thread.

use crate::metrics::RuntimeMetrics;
use crate::rt::context;
use crate::rt::scheduler;
use crate::rt::task::{JoinHandle, TaskDump};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

/// A reference to a running [`crate::Runtime`]: spawn onto it from any
/// thread. Cloning is cheap.
///
/// ```
/// use weft::Handle;
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// let handle: Handle = rt.block_on(async { Handle::current() });
/// let from_thread =
///     std::thread::spawn(move || (handle.spawn(async { 2 }), handle.spawn_blocking(|| 40)));
/// let (a, b) = from_thread.join().unwrap();
/// assert_eq!(rt.block_on(async { a.await.unwrap() + b.await.unwrap() }), 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

/// The error of [`Handle::try_current`]: this thread is not inside a runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "this thread is not running inside a weft runtime (not a worker, not inside block_on or enter)",
        )
    }
}

impl std::error::Error for TryCurrentError {}

/// Keeps a runtime current on this thread; see [`Handle::enter`].
#[derive(Debug)]
pub struct EnterGuard<'a> {
    _guard: context::EnterGuard,
    _handle: PhantomData<&'a Handle>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").field("workers", &self.inner.shared.num_workers()).finish()
    }
}

impl Handle {
    /// The runtime this thread runs in: a worker's own runtime, or the one
    /// entered with `block_on` / `enter`.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let handle = rt.block_on(async { weft::Handle::current() });
    /// assert_eq!(rt.block_on(handle.spawn(async { 5 })).unwrap(), 5);
    /// ```
    ///
    /// # Panics
    /// Outside any runtime; use [`Handle::try_current`] to check.
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(_) => panic!(
                "weft: Handle::current() called outside a weft runtime. Call it from a task, from \
                 inside Runtime::block_on, or after Runtime::enter(); or pass a Handle in explicitly."
            ),
        }
    }

    /// The current runtime, or an error outside any runtime.
    ///
    /// ```
    /// assert!(weft::Handle::try_current().is_err());
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let _guard = rt.enter();
    /// assert!(weft::Handle::try_current().is_ok());
    /// ```
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with_current(|h| h.map(|inner| Handle { inner: inner.clone() }).ok_or(TryCurrentError(())))
    }

    /// Spawns a task onto this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future, std::panic::Location::caller())
    }

    /// Runs `f` on this runtime's blocking pool; see
    /// [`crate::task::spawn_blocking`].
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        crate::rt::blocking::spawn_blocking_on(&self.inner, f, std::panic::Location::caller())
    }

    /// Runs `future` to completion on the calling thread, as
    /// [`Runtime::block_on`](crate::Runtime::block_on) does, from a
    /// `Handle` (for code that holds a handle but not the runtime, such as
    /// a plain thread or a `spawn_blocking` closure).
    ///
    /// Inside, [`crate::spawn`] and [`Handle::current`] refer to this
    /// runtime; the timers and sockets the future uses are driven by the
    /// runtime's workers, which keep running. If the runtime has been shut
    /// down, its timers and sockets no longer make progress.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let handle = rt.handle().clone();
    /// let n = std::thread::spawn(move || handle.block_on(async { weft::spawn(async { 7 }).await.unwrap() }))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(n, 7);
    ///
    /// // From a blocking closure, which runs on a pool thread, not a worker:
    /// let answer = rt.block_on(rt.spawn_blocking(|| {
    ///     weft::Handle::current().block_on(async { 6 * 7 })
    /// }));
    /// assert_eq!(answer.unwrap(), 42);
    /// ```
    ///
    /// # Panics
    /// When called from a worker thread of any weft runtime (inside a task:
    /// `.await` the future instead), or from inside another `block_on` on
    /// the same thread, with a message that says so.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _guard = context::enter_block_on(self.inner.clone());
        let _tokio = crate::rt::tokio_context::enter(self.inner.shared.services().tokio_context());
        super::block_on::block_on(&self.inner.shared, future)
    }

    /// Makes this runtime current on this thread until the guard drops.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let handle = rt.handle().clone();
    /// std::thread::spawn(move || {
    ///     let _guard = handle.enter();
    ///     // `weft::spawn` and the timers now find the runtime.
    ///     drop(weft::spawn(async {}));
    /// })
    /// .join()
    /// .unwrap();
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard { _guard: context::enter(self.inner.clone()), _handle: PhantomData }
    }

    /// What the runtime detected about the machine (CPUs, quota, NUMA
    /// nodes) and how it placed its workers; see [`crate::topology::Topology`].
    pub fn topology(&self) -> &crate::topology::Topology {
        self.inner.shared.topology()
    }

    /// The most recent stall events (up to 64, oldest first): polls that
    /// ran longer than the stall threshold (`Builder::stall_threshold`).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = weft::Runtime::builder()
    ///     .worker_threads(1)
    ///     .stall_threshold(Some(Duration::from_millis(10)))
    ///     .build()
    ///     .unwrap();
    /// // A task that blocks its worker (don't do this: use spawn_blocking).
    /// rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(50)) })).unwrap();
    /// // The monitor thread records the stall shortly after it sees it.
    /// for stall in rt.handle().recent_stalls() {
    ///     println!("worker {} stalled {:?} at {:?}", stall.worker(), stall.duration(), stall.location());
    /// }
    /// ```
    pub fn recent_stalls(&self) -> Vec<crate::rt::monitor::StallEvent> {
        self.inner.shared.services().stall_log().lock().snapshot()
    }

    /// A copy of the flight recorder's rings: each worker's most recent
    /// scheduling events (polls, spawns, wakes, steals, parks, netpoll
    /// batches, timer passes), the monitor's (stalls, compensations), and
    /// those of threads outside the runtime. Write it with
    /// [`TraceSnapshot::write_chrome_json`](crate::runtime::TraceSnapshot::write_chrome_json)
    /// and open the file in <https://ui.perfetto.dev>.
    ///
    /// Taken while the runtime keeps running, without waiting for any
    /// worker (also while one is stuck in a poll); events a worker writes
    /// during the copy are either in it whole or left out. Empty if the
    /// recorder is off ([`Builder::flight_recorder`](crate::Builder::flight_recorder)).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// let mut file = Vec::new();
    /// rt.handle().trace().write_chrome_json(&mut file).unwrap();
    /// assert!(String::from_utf8(file).unwrap().contains("\"ph\":\"X\""));
    /// ```
    pub fn trace(&self) -> crate::runtime::TraceSnapshot {
        self.inner.shared.trace_snapshot()
    }

    /// The flight-recorder snapshots the monitor took when it reported a
    /// stall, oldest first (the last 4; see [`Handle::recent_stalls`] for
    /// the stalls themselves).
    pub fn recent_stall_traces(&self) -> Vec<crate::runtime::TraceSnapshot> {
        self.inner.shared.trace().stall_traces()
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::capture(&self.inner.shared)
    }

    /// Every live task: id, name, spawn location, state, age, polls (see
    /// [`TaskDump`] for an example).
    ///
    /// Taken while the runtime keeps running: each shard of the task list
    /// is locked only while plain data is copied out of its tasks' headers,
    /// and no worker is waited for, so a dump returns promptly even while a
    /// worker is blocked inside a long poll. Callable from any thread,
    /// including from a task.
    pub fn dump(&self) -> TaskDump {
        // The sets are cloned out of the registry so that no lock is held
        // across two walks.
        let locals = self.inner.shared.services().local_sets();
        TaskDump::capture(self.inner.shared.owned(), locals.iter().map(|s| s.owned()))
    }
}

#[cfg(all(test, not(loom)))]
mod enter_tests {
    use crate::Runtime;
    use std::sync::Arc;

    fn references(rt: &Runtime) -> usize {
        Arc::strong_count(&rt.handle().inner.shared)
    }

    #[test]
    fn guards_dropped_out_of_order_leave_nothing_entered_and_give_every_reference_back() {
        let a = Runtime::builder().worker_threads(1).build().unwrap();
        let b = Runtime::builder().worker_threads(1).build().unwrap();
        let (ra, rb) = (references(&a), references(&b));
        let ga = a.enter();
        let gb = b.enter();
        assert!(super::Handle::current().inner.ptr_eq(&b.handle().inner));
        drop(ga);
        drop(gb);
        assert!(super::Handle::try_current().is_err(), "a runtime is still entered");
        assert_eq!((references(&a), references(&b)), (ra, rb));
    }

    #[test]
    fn nested_guards_give_every_reference_back() {
        let a = Runtime::builder().worker_threads(1).build().unwrap();
        let ra = references(&a);
        {
            let _outer = a.enter();
            let _inner = a.enter();
            assert_eq!(references(&a), ra + 2, "each guard's entry holds the runtime");
        }
        assert_eq!(references(&a), ra);
    }
}
