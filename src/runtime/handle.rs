//! `Handle`: a clonable reference to a runtime, usable from any thread.

use super::context;
use crate::metrics::RuntimeMetrics;
use crate::scheduler;
use crate::task::{JoinHandle, TaskDump};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

/// A reference to a running [`crate::Runtime`]: spawn onto it from any
/// thread. Cloning is cheap.
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
        crate::blocking::spawn_blocking_on(&self.inner, f, std::panic::Location::caller())
    }

    /// Makes this runtime current on this thread until the guard drops.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard { _guard: context::enter(self.inner.clone()), _handle: PhantomData }
    }

    /// A snapshot of the runtime's counters.
    pub fn topology(&self) -> &crate::topology::Topology {
        &self.inner.shared.topology
    }

    /// The most recent stall events (up to 64, oldest first): polls that
    /// ran longer than the stall threshold (`Builder::stall_threshold`).
    pub fn recent_stalls(&self) -> Vec<crate::monitor::StallEvent> {
        self.inner.shared.stall_log.lock().snapshot()
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::capture(&self.inner.shared)
    }

    /// Every live task: id, name, spawn location, state, age, polls (see
    /// [`TaskDump`] for an example and docs/design/dump.md for the costs).
    ///
    /// Taken while the runtime keeps running: each shard of the task list
    /// is locked only while plain data is copied out of its tasks' headers,
    /// and no worker is waited for, so a dump returns promptly even while a
    /// worker is blocked inside a long poll. Callable from any thread,
    /// including from a task.
    pub fn dump(&self) -> TaskDump {
        TaskDump::capture(&self.inner.shared.owned)
    }
}
