//! The connection tasks of one [`serve`](super::serve) call: how many are
//! alive, and the two signals that end them (drain, then cancel).
//!
//! Every task the server starts (a connection, or an HTTP/2 stream hyper
//! spawns through [`TrackedExecutor`]) holds a [`Guard`] that counts it
//! alive until its future has been dropped, so "no task alive" means every
//! handler future is gone. Cancelling makes each task drop its future at
//! its next poll; the signal wakes them all.

use crate::sync::{Notified, Notify};
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

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
    ///
    /// Every connection task polls two of these (drain and cancel) on
    /// each of its polls, from whichever worker runs it. Only a poll with
    /// a new waker touches the `Notify` (whose lock every connection of
    /// the server shares); the others read the flag and nothing else, so
    /// the lock's cache line does not move between workers per poll.
    pub(super) fn wait(&self) -> SignalWait<'_> {
        SignalWait { signal: self, notified: Box::pin(self.notify.notified()), registered: None }
    }
}

/// The future of [`Signal::wait`].
pub(super) struct SignalWait<'a> {
    signal: &'a Signal,
    /// Listed in the `Notify` once `registered` is set. Boxed to keep this
    /// future `Unpin`: one allocation per wait, not per poll.
    notified: Pin<Box<Notified<'a>>>,
    /// The waker the `Notify` holds for us (an equivalent one: `will_wake`).
    registered: Option<Waker>,
}

impl Future for SignalWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            if this.signal.is_set() {
                return Poll::Ready(());
            }
            // Still listed with an equivalent waker: `fire` sets the flag
            // before it wakes the list, so either the check above saw it
            // or the wake is still to come.
            if this.registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                return Poll::Pending;
            }
            if this.notified.as_mut().poll(cx).is_ready() {
                // Woken by `fire`'s `notify_waiters`, which comes after
                // its flag store: the check at the top of the loop sees
                // the flag. (A fresh `Notified` keeps the loop sound if
                // it did not.)
                this.notified.set(this.signal.notify.notified());
                this.registered = None;
                continue;
            }
            this.registered = Some(cx.waker().clone());
            // Listed before this check: a `fire` it misses wakes us.
            return if this.signal.is_set() { Poll::Ready(()) } else { Poll::Pending };
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct CountWake(AtomicUsize);

    impl Wake for CountWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<CountWake>, Waker) {
        let count = Arc::new(CountWake(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn fire_wakes_the_latest_waker_of_a_pending_wait() {
        let signal = Signal::default();
        let mut wait = signal.wait();
        let (first, w1) = waker();
        let (second, w2) = waker();
        assert!(Pin::new(&mut wait).poll(&mut Context::from_waker(&w1)).is_pending());
        // Same waker again: still pending, still listed.
        assert!(Pin::new(&mut wait).poll(&mut Context::from_waker(&w1)).is_pending());
        // The task moved to another waker: that one is woken, not the first.
        assert!(Pin::new(&mut wait).poll(&mut Context::from_waker(&w2)).is_pending());
        signal.fire();
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert!(Pin::new(&mut wait).poll(&mut Context::from_waker(&w2)).is_ready());
    }

    #[test]
    fn a_wait_made_after_fire_is_ready_at_once() {
        let signal = Signal::default();
        signal.fire();
        let (_, w) = waker();
        assert!(Pin::new(&mut signal.wait()).poll(&mut Context::from_waker(&w)).is_ready());
    }
}
