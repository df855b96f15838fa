//! The scheduler handle a task keeps (its `Schedule`): a counted reference
//! to the runtime that is one of several, so that spawning and freeing
//! tasks does not bounce one reference count between every core.
//!
//! A task holds its runtime alive (a waker or a `JoinHandle` may outlive
//! the runtime, and a wake must still find the shared state). With the
//! shared state's own `Arc` in every task, each spawn and each task free
//! is an RMW on the one count line of the runtime, from whichever worker
//! does it: in a workload where both workers spawn and complete tasks,
//! that line moves between cores on almost every task. A task instead
//! holds a `TaskHandle`: a reference to an *anchor*, a padded `Handle`
//! behind an `Arc` of its own. Each worker thread has its own anchor
//! (`WorkerContext::anchor`), so a task spawned on a worker and freed
//! there touches only that worker's count; spawns from any other thread
//! share the runtime's remote anchor, which the `Runtime` holds and the
//! shared state can reach through a `Weak` (one upgrade, one RMW, as the
//! plain `Arc` clone was). Every anchor holds one reference to the shared
//! state, so it lives as long as any anchor does; the anchors hold no
//! cycle (the shared state holds only the `Weak`).

use super::Handle;
use crate::rt::task::{self, Notified, RawTask, Schedule, Task};
use crossbeam_utils::CachePadded;
use std::sync::{Arc, Weak};

/// A task's counted reference to its runtime, through an anchor. `std`'s
/// `Arc` also under loom: the count is not part of any modelled protocol,
/// and the handle inside is loom's.
pub(crate) struct TaskHandle(Arc<CachePadded<Handle>>);

impl TaskHandle {
    /// A new anchor for `handle` (a worker thread's, or the remote one).
    pub(crate) fn new(handle: Handle) -> TaskHandle {
        TaskHandle(Arc::new(CachePadded::new(handle)))
    }

    /// The anchor as a `Weak`, for the shared state to find the remote
    /// anchor by.
    pub(crate) fn downgrade(&self) -> Weak<CachePadded<Handle>> {
        Arc::downgrade(&self.0)
    }

    /// The anchor behind `weak`, if it is still alive.
    pub(crate) fn upgrade(weak: &Weak<CachePadded<Handle>>) -> Option<TaskHandle> {
        weak.upgrade().map(TaskHandle)
    }

    /// The runtime's handle.
    #[inline]
    pub(crate) fn handle(&self) -> &Handle {
        &self.0
    }
}

impl Clone for TaskHandle {
    #[inline]
    fn clone(&self) -> TaskHandle {
        TaskHandle(Arc::clone(&self.0))
    }
}

impl Schedule for TaskHandle {
    #[inline]
    fn schedule(&self, task: Notified) {
        self.handle().schedule(task);
    }

    #[inline]
    fn yield_now(&self, task: Notified) {
        self.handle().yield_now(task);
    }

    #[inline]
    fn release(&self, task: RawTask) -> Option<Task> {
        self.handle().release(task)
    }

    #[inline]
    fn cell_depot(&self) -> Option<&task::cell_cache::CellDepot> {
        self.handle().cell_depot()
    }

    #[inline]
    fn task_completing(&self) {
        self.handle().task_completing();
    }

    #[inline]
    fn complete_joinable(&self, task: RawTask) -> task::Completed {
        self.handle().complete_joinable(task)
    }
}
