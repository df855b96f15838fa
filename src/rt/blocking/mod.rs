//! The blocking pool: [`spawn_blocking`] runs a closure that blocks (file
//! I/O, a synchronous library, a long computation) on a thread of its own,
//! so the workers keep running tasks.
//!
//! - `pool.rs`: the elastic thread pool (spawn on demand up to
//!   `Builder::max_blocking_threads`, default 512; idle threads exit after
//!   `Builder::thread_keep_alive`, default 10 s; FIFO queue beyond the
//!   maximum; shutdown).
//! - `task.rs`: a closure as an ordinary task (one allocation, the usual
//!   `JoinHandle`), never in the runtime's owned list.
//!
//! # Why a mutex and a condvar
//! The scheduler's queues are lock-free because a task poll costs
//! microseconds and a lock would be a large share of it. A blocking job
//! costs a thread's worth of work: it blocks for milliseconds or more, and
//! handing it over already costs a condvar wake-up or a thread spawn
//! (tens of microseconds). A `Mutex<VecDeque>` plus a `Condvar` is cheap
//! next to that, gives FIFO order for free, and keeps the protocol (idle
//! counts, claims, shutdown) in one critical section that is easy to
//! check. tokio's blocking pool and Go's handling of threads stuck in
//! system calls make the same choice.
//!
//! # Invariants
//! All pool state is in `pool::Synced`, behind the one mutex; the jobs'
//! task state words follow the task module's rules. The protocol, the
//! argument that no job is lost, started after shutdown began, or run
//! twice, and the shutdown semantics are in docs/design/blocking.md; the
//! loom model is `loom-tests/blocking.rs`.

pub(crate) mod pool;
mod task;
#[cfg(all(test, not(loom)))]
mod tests;

pub(crate) use pool::Config;
pub(crate) use task::BlockingPool;

use crate::rt::scheduler;
use crate::rt::task::JoinHandle;
use std::panic::Location;

/// Runs `f` on the current runtime's blocking pool and returns a handle to
/// its result.
///
/// The closure runs on a thread named `weft-blocking-N`, spawned on demand
/// (at most `Builder::max_blocking_threads`, default 512; more closures
/// wait their turn in FIFO order) and kept for
/// `Builder::thread_keep_alive` (default 10 s) after its last closure.
/// Inside it, the runtime is current ([`crate::spawn`] and
/// [`crate::Handle::current`] work) and no coop budget applies.
///
/// The handle yields `Ok(value)`, or a [`crate::JoinError`] that is a panic
/// if `f` panicked, or cancelled if the runtime shut down before `f`
/// started (`f` is then dropped without running). A closure that has
/// started is not interrupted: [`crate::Runtime::shutdown_timeout`] waits
/// for it up to its timeout, dropping the runtime waits without limit.
/// [`JoinHandle::abort`] only cancels a closure that has not started.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// let n = rt.block_on(async {
///     weft::task::spawn_blocking(|| std::fs::read_dir(".").map(|d| d.count()).unwrap_or(0)).await.unwrap()
/// });
/// assert!(n > 0);
/// ```
///
/// # Panics
/// Outside a weft runtime, with a message that says how to get one.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let at = Location::caller();
    match crate::rt::context::current_handle() {
        Some(handle) => spawn_blocking_on(&handle, f, at),
        None => panic!(
            "weft::task::spawn_blocking called outside a weft runtime. Call it from a task, from \
             inside Runtime::block_on, or after Runtime::enter(); or use Runtime::spawn_blocking / \
             Handle::spawn_blocking."
        ),
    }
}

/// `spawn_blocking` on `handle`'s runtime; `at` is the user's call site.
pub(crate) fn spawn_blocking_on<F, R>(
    handle: &scheduler::Handle,
    f: F,
    at: &'static Location<'static>,
) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    task::spawn(handle.shared.services().blocking(), Some(handle.clone()), f, at)
}
