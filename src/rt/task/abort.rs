//! `AbortHandle`: cancel a task without owning its output.

use super::raw::RawTask;
use super::state::TransitionToNotifiedByRef;
use super::Id;
use std::fmt;

/// Cancels a spawned task without the right to await its output.
///
/// Get one from [`JoinHandle::abort_handle`](super::JoinHandle::abort_handle)
/// or from [`JoinSet::spawn`](crate::task::JoinSet::spawn). It can be cloned and
/// sent to other threads; it keeps the task's allocation (not its future)
/// alive until it is dropped.
pub struct AbortHandle {
    /// Owns one task reference, also counted in the state word's
    /// abort-handle count (taken in `new`, given back in `drop`).
    raw: RawTask,
}

impl AbortHandle {
    /// A new handle owning one more reference to `raw`, counted apart as
    /// an abort handle's too (leak detection tells these references from
    /// wakers'). The caller holds a reference already, so the count cannot
    /// be zero.
    pub(crate) fn new(raw: RawTask) -> AbortHandle {
        raw.state().abort_handle_inc();
        AbortHandle { raw }
    }

    /// Cancels the task, as [`JoinHandle::abort`](super::JoinHandle::abort)
    /// does: its future is dropped by whoever runs it next (at once if it
    /// is idle, after the current poll if it is running), and its joiner
    /// gets a `JoinError` whose `is_cancelled()` is true. A task that
    /// already completed keeps its output.
    pub fn abort(&self) {
        abort_task(self.raw);
    }

    /// True once the task has finished (output, panic or cancellation).
    pub fn is_finished(&self) -> bool {
        self.raw.state().load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.header().id()
    }
}

/// The one abort path, shared by `JoinHandle` and `AbortHandle`: mark the
/// task CANCELLED and, if it was idle and unqueued, schedule it so that its
/// scheduler drops the future (on its own thread, for a local task).
pub(crate) fn abort_task(raw: RawTask) {
    match raw.state().transition_to_notified_and_cancel() {
        // SAFETY: the transition added the reference that becomes Notified.
        TransitionToNotifiedByRef::Submit => unsafe { raw.schedule() },
        TransitionToNotifiedByRef::DoNothing => {}
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        AbortHandle::new(self.raw)
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        if self.raw.state().abort_handle_dec() {
            // SAFETY: the count reached zero, so no other handle exists.
            unsafe { self.raw.dealloc() }
        }
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle").field("id", &self.id()).field("state", self.raw.state()).finish()
    }
}
