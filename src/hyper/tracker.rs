//! The connection tasks of one [`serve`](super::serve) call: how many are
//! alive, and the two signals that end them (drain, then cancel).
//!
//! Every task the server starts (a connection, or an HTTP/2 stream hyper
//! spawns through [`TrackedExecutor`]) holds a [`Guard`] that counts it
//! alive until its future has been dropped, so "no task alive" means every
//! handler future is gone. Cancelling makes each task drop its future at
//! its next poll; the signal wakes them all.

use crate::sync::Notify;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;

/// A flag that is set once and can be waited for.
#[derive(Debug, Default)]
pub(super) struct Signal {
    set: AtomicBool,
    notify: Notify,
}

impl Signal {
    pub(super) fn fire(&self) {
        // Release: pairs with the Acquire load in `wait`.
        self.set.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    pub(super) fn is_set(&self) -> bool {
        // Acquire: pairs with the Release store in `fire`.
        self.set.load(Ordering::Acquire)
    }

    /// Completes once the signal has fired.
    pub(super) async fn wait(&self) {
        loop {
            let mut notified = pin!(self.notify.notified());
            // Registered before the check: a `fire` that the check misses
            // runs its `notify_waiters` after this waiter is listed (both
            // take the Notify's lock), so it wakes it.
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// The shared state of one server.
#[derive(Debug, Default)]
pub(super) struct Tracker {
    live: AtomicUsize,
    /// Notified each time `live` drops to zero.
    idle: Notify,
    /// Stop taking new requests; finish the ones in flight.
    pub(super) drain: Signal,
    /// Drop every task's future now.
    pub(super) cancel: Signal,
}

/// Counts one task alive until dropped.
#[derive(Debug)]
pub(super) struct Guard(Arc<Tracker>);

impl Drop for Guard {
    fn drop(&mut self) {
        // AcqRel: the Release half publishes this task's drops to the
        // Acquire load in `all_done`; the Acquire half orders this after
        // the other tasks' decrements.
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Tracker {
    fn guard(self: &Arc<Self>) -> Guard {
        // Relaxed: the caller is the server's own future, which awaits
        // `all_done` later in program order, or a tracked task, whose own
        // decrement (Release, same counter) comes after this one; either
        // way `all_done` cannot read zero while this task is uncounted.
        self.live.fetch_add(1, Ordering::Relaxed);
        Guard(self.clone())
    }

    /// Spawns `fut` as a weft task that counts as alive until its future
    /// is dropped, and that drops it early once `cancel` fires.
    pub(super) fn spawn<F>(self: &Arc<Self>, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let guard = self.guard();
        let task = async move {
            // Declared first, so dropped last: after `fut` below.
            let guard = guard;
            let mut fut = pin!(fut);
            let mut cancelled = pin!(guard.0.cancel.wait());
            poll_fn(|cx| {
                if cancelled.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                fut.as_mut().poll(cx)
            })
            .await;
        };
        // Detached: the guard, not the JoinHandle, tracks it.
        drop(crate::runtime::spawn(task));
    }

    /// Completes when no tracked task is alive.
    pub(super) async fn all_done(&self) {
        loop {
            let mut notified = pin!(self.idle.notified());
            // Registered before the check, as in `Signal::wait`.
            notified.as_mut().enable();
            // Acquire: pairs with the AcqRel decrement in `Guard::drop`.
            if self.live.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// hyper's executor inside a server: HTTP/2 streams become tracked tasks,
/// so the shutdown deadline cancels their handlers too.
#[derive(Debug, Clone)]
pub(super) struct TrackedExecutor(pub(super) Arc<Tracker>);

impl<F> hyper::rt::Executor<F> for TrackedExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        self.0.spawn(async move {
            fut.await;
        });
    }
}
