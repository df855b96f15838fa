//! Tasks: spawning, joining, aborting, and the ways to run many of them.
//!
//! - [`spawn`], [`spawn_blocking`], [`spawn_local`], [`block_in_place`],
//!   [`yield_now`]: run work on the runtime.
//! - [`JoinHandle`] / [`AbortHandle`]: await a task's output or cancel it;
//!   [`JoinError`] says why a task produced no output.
//! - [`JoinSet`]: a group of tasks whose outputs arrive in completion order.
//! - [`LocalSet`]: `!Send` futures on the thread that drives the set.
//! - [`Builder`]: spawn with a name (shown in task dumps) or a
//!   [`Priority`] class; [`current_priority`]: the class of the task being
//!   polled.
//! - [`TaskDump`]: every live task of a runtime (`Handle::dump`).
//! - [`task_local!`](crate::task_local) / [`LocalKey`]: values scoped to
//!   a future, read by anything it calls while it is polled.
//! - [`id`] / [`try_id`]: the [`Id`] of the task being polled.
//!
//! This module is the public face of tasks; the task cell, its state word
//! and its waker are the engine's (`rt::task`).

mod builder;
mod join_set;
mod local;
mod ready_list;
mod task_local;
mod yield_now;

pub use crate::rt::task::{
    AbortHandle, Id, JoinError, JoinHandle, Priority, TaskDump, TaskInfo, TaskState, TaskWait, WaitKind,
};
pub use builder::Builder;
pub use join_set::JoinSet;
pub use local::{spawn_local, LocalSet};
pub use task_local::{AccessError, LocalKey, TaskLocalFuture};
pub use yield_now::yield_now;

pub use crate::rt::blocking::spawn_blocking;
pub use crate::runtime::spawn;

/// Runs blocking code `f` on the current worker thread without stalling the
/// tasks queued behind it: the worker first hands its queued tasks to
/// another worker (a spare one is let in if none is free), runs `f`, then
/// takes its worker role back and the calling task continues. Go does the
/// same around a blocking system call.
///
/// Outside a weft worker (on a `block_on` thread, a blocking-pool thread,
/// or a plain thread) `f` simply runs.
///
/// Prefer `spawn_blocking` for work that can move to another thread; use
/// this when the blocking code needs the task's borrowed state.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// let n = rt.block_on(rt.spawn(async {
///     weft::task::block_in_place(|| {
///         std::thread::sleep(std::time::Duration::from_millis(20));
///         7
///     })
/// }));
/// assert_eq!(n.unwrap(), 7);
/// ```
pub fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
    crate::rt::scheduler::block_in_place::block_in_place(f)
}

/// The [`Id`] of the task being polled on this thread.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// let handle = rt.spawn(async { weft::task::id() });
/// let expected = handle.id();
/// assert_eq!(rt.block_on(handle).unwrap(), expected);
/// ```
///
/// # Panics
/// Outside a task (on a plain thread, or in the future given to
/// `block_on`, which is not a task); [`try_id`] returns `None` there.
#[track_caller]
pub fn id() -> Id {
    match try_id() {
        Some(id) => id,
        None => panic!(
            "weft::task::id() called outside a task (block_on's own future is not a task); \
             use weft::task::try_id() where there may be none"
        ),
    }
}

/// The [`Id`] of the task being polled on this thread, or `None` outside
/// a task. Inside a `spawn_blocking` closure it is that closure's task.
///
/// ```
/// assert_eq!(weft::task::try_id(), None);
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// assert_eq!(rt.block_on(async { weft::task::try_id() }), None, "block_on's future is not a task");
/// assert!(rt.block_on(rt.spawn(async { weft::task::try_id() })).unwrap().is_some());
/// ```
pub fn try_id() -> Option<Id> {
    crate::rt::task::waker::polled_task_id()
}

/// The [`Priority`] class of the task being polled on this thread, or
/// `None` outside a task.
///
/// Tasks of a [`LocalSet`] and the task behind a `spawn_blocking` closure
/// are always `Normal` (classes order the runtime's workers' queues, which
/// neither uses).
///
/// ```
/// use weft::task::{self, Priority};
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// assert_eq!(rt.block_on(async { task::current_priority() }), None, "block_on's future is not a task");
/// let bg = task::Builder::new()
///     .priority(Priority::Background)
///     .spawn_on(async { task::current_priority() }, rt.handle())
///     .unwrap();
/// assert_eq!(rt.block_on(bg).unwrap(), Some(Priority::Background));
/// ```
pub fn current_priority() -> Option<Priority> {
    crate::rt::task::waker::polled_task_priority()
}
