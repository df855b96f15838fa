//! The thread-safe half of a `LocalSet`: the remote run queue (wakes from
//! other threads), the waker of whoever polls the set, and the owned list.
//!
//! # The remote-wake protocol
//! One mutex guards the remote queue, the poller's waker and the `closed`
//! flag ([`Remote`]). A wake from another thread pushes its `Notified` and
//! takes the waker under the lock, then wakes it after unlocking. The
//! poller, going idle, stores its waker under the same lock only after
//! seeing the remote queue empty under it ([`LocalSetShared::park`]). So either
//! the push comes first (the poller sees it and does not go idle) or the
//! registration does (the pusher takes the waker): no wake-up is lost
//! (docs/design/joinset.md, "LocalSet"; loom-tests/localset.rs).
//!
//! After `close` (the set is being dropped) pushes are refused: the
//! `Notified` is dropped on the pushing thread, which only gives up a
//! reference (the task's future is already gone: the set cancelled every
//! task on its own thread before closing).

use super::context;
use crate::loom::sync::{Arc, Mutex};
use crate::rt::task::list::OwnedTasks;
use crate::rt::task::{Notified, RawTask, Schedule, Task};
use std::collections::VecDeque;
use std::mem;
use std::task::Waker;

/// Guarded by `LocalSetShared::remote`.
pub(crate) struct Remote {
    /// Tasks woken from other threads (or from this thread outside the
    /// set's polls), oldest first.
    queue: VecDeque<Notified>,
    /// The waker of the last poll of the set that found no work.
    waker: Option<Waker>,
    /// The set is gone: drop pushes.
    closed: bool,
}

pub(crate) struct LocalSetShared {
    remote: Mutex<Remote>,
    /// Every task of the set until it completes (one shard: the set's tasks
    /// complete on one thread).
    pub(crate) owned: OwnedTasks,
}

/// What [`LocalSetShared::park`] found.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Park {
    /// The remote queue was empty: the waker is registered.
    Parked,
    /// Work arrived; poll again instead of parking.
    Work,
}

impl LocalSetShared {
    /// The set's owned list (for runtime task dumps).
    pub(crate) fn owned(&self) -> &OwnedTasks {
        &self.owned
    }

    pub(crate) fn new() -> Arc<LocalSetShared> {
        Arc::new(LocalSetShared {
            remote: Mutex::new(Remote { queue: VecDeque::new(), waker: None, closed: false }),
            owned: OwnedTasks::new(1),
        })
    }

    /// Pushes a task from another thread (or from outside the set's polls)
    /// and wakes the set's poller.
    pub(crate) fn push_remote(&self, task: Notified) {
        let waker = {
            let mut remote = self.remote.lock();
            if remote.closed {
                drop(remote);
                drop(task); // only a reference: the future is gone already
                return;
            }
            remote.queue.push_back(task);
            remote.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes the set's poller without queueing anything (a spawn from the
    /// owner thread outside the set's polls).
    pub(crate) fn wake_poller(&self) {
        let waker = self.remote.lock().waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Moves every remotely woken task to the back of `local`.
    pub(crate) fn take_remote(&self, local: &mut VecDeque<Notified>) {
        let mut remote = self.remote.lock();
        if local.is_empty() {
            mem::swap(&mut remote.queue, local);
        } else {
            local.extend(remote.queue.drain(..));
        }
    }

    /// The poller found no work: register `waker` unless remote work came
    /// in meanwhile (looked at under the same lock).
    pub(crate) fn park(&self, waker: &Waker) -> Park {
        let mut remote = self.remote.lock();
        if !remote.queue.is_empty() {
            return Park::Work;
        }
        match &remote.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => remote.waker = Some(waker.clone()),
        }
        Park::Parked
    }

    /// The set is dropped: refuse pushes; returns what was queued.
    pub(crate) fn close(&self) -> (VecDeque<Notified>, Option<Waker>) {
        let mut remote = self.remote.lock();
        remote.closed = true;
        (mem::take(&mut remote.queue), remote.waker.take())
    }
}

/// A local task's scheduler: a wake on the set's own thread, inside one of
/// its polls, goes to the local queue; any other wake to the remote queue.
#[derive(Clone)]
pub(crate) struct LocalScheduler(pub(crate) Arc<LocalSetShared>);

impl Schedule for LocalScheduler {
    fn schedule(&self, task: Notified) {
        if let Err(task) = context::push_if_current(&self.0, task) {
            self.0.push_remote(task);
        }
    }

    fn release(&self, task: RawTask) -> Option<Task> {
        self.0.owned.remove(task)
    }
}
