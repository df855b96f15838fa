//! Tasks: one heap allocation per spawned future, driven by an atomic state
//! word and a hand-written waker.
//!
//! # Layout
//! A task is one `Cell` (see `raw.rs`): the `Header` (state word, vtable,
//! owned-list links, id, spawn location, name, poll statistics for task
//! dumps), the `Core` (the scheduler handle and
//! the stage: the future, then its output), and the `Trailer` (the join
//! waker). Untyped code holds a `RawTask` (a pointer to the header) and calls
//! the typed code through the vtable.
//!
//! # Handles and references
//! Every handle owns one reference in the state word's count:
//! - `Task`: the owned-tasks list's reference (one per listed task; see
//!   "List membership").
//! - `Notified`: a task that is scheduled; it sits in a run queue. At most
//!   one exists per task (the NOTIFIED bit).
//! - `JoinHandle<T>`: the user's handle to the output.
//! - `Waker`s: one reference each.
//!
//! A task starts with three (list, JoinHandle, first Notified).
//!
//! # Who may touch what, when
//! - The **stage** belongs to whoever holds RUNNING (a worker polling or
//!   cancelling it, or shutdown). After COMPLETE it belongs to the
//!   `JoinHandle`, or, if JOIN_INTEREST was already clear, to the completing
//!   thread, which drops the output at once.
//! - The **join waker** belongs to the `JoinHandle` while JOIN_WAKER is clear
//!   and to the task side while it is set; the handle can only take it back
//!   (clear the bit) before COMPLETE.
//! - The **links** belong to the owned list and are touched only under the
//!   list shard's lock.
//!
//! # List membership
//! A task is listed from spawn until it completes, or, if its
//! `JoinHandle` still exists at completion (JOIN_INTEREST set in the
//! completing transition), until that handle reads the output or is
//! dropped: such a task stays listed (its state word says COMPLETE), so dumps show
//! it as complete-but-unjoined. Whoever unlinks it (the completer in the
//! first case; the handle, via `Schedule::release`, or shutdown's drain in
//! the second) takes the list's reference. See docs/design/task.md.
//!
//! The transition table and the argument for it are in
//! `docs/design/task.md`.

mod abort;
pub(crate) mod cell_cache;
pub(crate) mod dump;
mod error;
mod harness;
mod id;
mod join;
pub(crate) mod list;
mod meta;
mod priority;
mod raw;
pub(crate) mod state;
#[cfg(feature = "tracing")]
mod traced;
pub(crate) mod wait;
pub(crate) mod waker;

pub use abort::AbortHandle;
pub use dump::{TaskDump, TaskInfo, TaskState, TaskWait};
pub use error::JoinError;
pub use id::Id;
pub use join::JoinHandle;
pub use priority::Priority;
pub use wait::WaitKind;

pub(crate) use raw::{Header, Meta, RawTask, STAMP_SHIFT, WAIT_STAMP_MASK};

use std::fmt;
use std::future::Future;
use std::mem;

/// What a task needs from the scheduler that runs it.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// Queue a woken task (may go to the current worker's runnext slot).
    fn schedule(&self, task: Notified);

    /// Queue a task that woke itself during its own poll (or yielded): it
    /// goes to the back of a queue so that other tasks run first.
    fn yield_now(&self, task: Notified) {
        self.schedule(task);
    }

    /// Remove a task from the owned list, returning the list's reference
    /// if it was still there. Called when a task completes without a
    /// `JoinHandle`, and by the `JoinHandle` once it has read the output or
    /// is dropped after completion (a no-op returning `None` if the task
    /// already left the list).
    fn release(&self, task: RawTask) -> Option<Task>;

    /// Where this scheduler's task cells are recycled (`cell_cache`);
    /// `None`: straight from and to the global allocator. Must return the
    /// same choice (`Some` or `None`) for the life of the scheduler: a
    /// cell is freed the way it was allocated.
    fn cell_depot(&self) -> Option<&cell_cache::CellDepot> {
        None
    }

    /// A task's future finished (or was cancelled) and the task is about
    /// to be marked COMPLETE; called exactly once per task, before
    /// `transition_to_complete`, on the completing thread. The scheduler
    /// counts completions here for `num_alive_tasks`: whoever sees
    /// COMPLETE afterwards (a joiner) also sees the count. Default: nothing.
    fn task_completing(&self) {}

    /// A task completed while its `JoinHandle` still exists. A scheduler
    /// that lists complete-but-unjoined tasks (for task dumps) leaves it
    /// listed until the handle calls `release` and returns
    /// [`Completed::Kept`] without touching the list (the task's state
    /// word says COMPLETE; that is what dumps read); the default leaves the
    /// list at once, as `release` does.
    fn complete_joinable(&self, task: RawTask) -> Completed {
        match self.release(task) {
            Some(task) => Completed::Released(task),
            None => Completed::NotListed,
        }
    }
}

/// What the owned list did with a task that completed while its
/// `JoinHandle` still exists; tells the completing thread how many
/// references to drop.
#[must_use]
#[derive(Debug)]
pub(crate) enum Completed {
    /// The list keeps the task (and its reference) until the `JoinHandle`
    /// releases it or shutdown drains it: drop only the running reference.
    Kept,
    /// The task left the list: drop the list's reference with the running one.
    Released(Task),
    /// The task was no longer listed (the `JoinHandle` or shutdown took the
    /// list's reference): drop only the running reference.
    NotListed,
}

/// The owned list's reference to a task.
pub(crate) struct Task {
    raw: RawTask,
}

impl Task {
    pub(crate) fn from_raw(raw: RawTask) -> Task {
        Task { raw }
    }

    pub(crate) fn raw(&self) -> RawTask {
        self.raw
    }

    pub(crate) fn id(&self) -> Id {
        self.raw.header().id()
    }

    /// Cancel the task as part of shutdown, giving up this reference.
    pub(crate) fn shutdown(self) {
        let raw = self.raw;
        mem::forget(self);
        // SAFETY: we give up the reference `self` owned.
        unsafe { raw.shutdown() };
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task").field("id", &self.id()).field("state", self.raw.state()).finish()
    }
}

/// A scheduled task: what run queues hold. Dropping it (for example when a
/// queue is drained at shutdown) just gives up the reference.
#[derive(Debug)]
pub(crate) struct Notified(pub(crate) Task);

impl Notified {
    /// Gives up the handle without dropping its reference (for a slot that
    /// stores the pointer; `from_raw` takes it back).
    pub(crate) fn into_raw(self) -> std::ptr::NonNull<raw::Header> {
        let ptr = self.0.raw.header_ptr();
        mem::forget(self);
        ptr
    }

    /// # Safety
    /// `ptr` came from `into_raw` and is taken back exactly once.
    pub(crate) unsafe fn from_raw(ptr: std::ptr::NonNull<raw::Header>) -> Notified {
        Notified(Task::from_raw(RawTask::from_raw(ptr)))
    }

    /// Polls the task (or cancels it, if it was aborted), consuming the
    /// reference. The harness stamps the task's statistics with the
    /// worker's cached clock inside a worker's poll, else reads the clock
    /// (src/rt/clock.rs).
    pub(crate) fn run(self) {
        let raw = self.0.raw;
        mem::forget(self);
        // SAFETY: we give up the Notified reference, as `poll` requires.
        unsafe { raw.poll() }
    }
}

/// Allocates a task. Returns the list's reference, the first `Notified`,
/// and the `JoinHandle`; the caller binds the first two to its owned list.
/// (The runtime spawns through `new_task_with`; the blocking pool and the
/// task models use this.)
pub(crate) fn new_task<F, S>(
    future: F,
    scheduler: S,
    spawned_at: &'static std::panic::Location<'static>,
) -> (Task, Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    new_task_with(
        future,
        scheduler,
        Meta { spawned_at, name: None, priority: crate::rt::task::Priority::Normal },
    )
}

/// `new_task` with a name (or other metadata).
pub(crate) fn new_task_with<F, S>(
    future: F,
    scheduler: S,
    meta: Meta,
) -> (Task, Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let id = Id::next();
    #[cfg(feature = "tracing")]
    let future = traced::Traced::new(future, id, &meta);
    let raw = RawTask::new(future, scheduler, id, meta);
    (Task { raw }, Notified(Task { raw }), JoinHandle::new(raw))
}

/// `new_task_with` for a future that need not be `Send` (a `LocalSet`'s).
///
/// # Safety
/// The future must only be polled and dropped on the calling thread:
/// - `scheduler` runs every `Notified` of the task (`Notified::run`) on this
///   thread only (other threads may hand it `Notified`s and drop them);
/// - the owned list that gets the returned `Task` cancels it (`Task::shutdown`)
///   on this thread, before the list's owner leaves it, and no other code
///   calls `shutdown` on the task;
/// - the `JoinHandle` may leave the thread only if `F::Output: Send` (its
///   auto traits ensure that).
pub(crate) unsafe fn new_local_task<F, S>(
    future: F,
    scheduler: S,
    meta: Meta,
) -> (Task, Notified, JoinHandle<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    let id = Id::next();
    #[cfg(feature = "tracing")]
    let future = traced::Traced::new(future, id, &meta);
    let raw = RawTask::new(future, scheduler, id, meta);
    (Task { raw }, Notified(Task { raw }), JoinHandle::new(raw))
}

#[cfg(all(test, not(loom)))]
mod tests;
