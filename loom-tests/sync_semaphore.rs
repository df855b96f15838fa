//! The batch semaphore (`src/sync/batch_semaphore.rs`,
//! docs/design/sync.md): a release racing an acquirer that registers, an
//! acquire future dropped while permits are being handed to it, and close
//! racing an acquirer.
//!
//! The models are small, so they search to a preemption bound of 4
//! (`model_min_preemptions`), deeper than CI's 2; each takes under 3 s.
//!
//! Waiting uses [`block_on`] (a loom condvar behind a `Waker`), which
//! blocks the loom thread until the future's waker is called: a lost
//! wake-up shows as loom's "deadlock".
//! Permit conservation is checked at the end of each interleaving
//! (`available_permits` equals what was put in minus what is still held).

use super::{model_min_preemptions, Outcomes};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use crate::loom::sync::Arc;
use crate::loom::sync::{Condvar, Mutex};
use crate::sync::batch_semaphore::{AcquireError, Semaphore};
use loom::thread;
use std::future::Future;
use std::task::{Context, Poll, Wake, Waker};

/// A waker that sets a flag under a loom mutex and signals a loom condvar
/// (loom's own `future::block_on` needs a cargo feature weft does not
/// enable).
struct Signal {
    woken: Mutex<bool>,
    cv: Condvar,
}

impl Wake for Signal {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        *self.woken.lock() = true;
        self.cv.notify_one();
    }
}

/// Polls `fut` until it is ready, blocking the loom thread between polls
/// until the waker is called (a lost wake-up deadlocks the model).
pub(super) fn block_on<F: Future>(fut: F) -> F::Output {
    let signal = std::sync::Arc::new(Signal { woken: Mutex::new(false), cv: Condvar::new() });
    let waker = Waker::from(signal.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        let mut woken = signal.woken.lock();
        while !*woken {
            woken = signal.cv.wait(woken);
        }
        *woken = false;
    }
}

/// A release on another thread racing an acquire that finds no permit and
/// registers: the acquire completes (no lost wake-up) and sees the
/// releaser's earlier write (the permit hand-off publishes it), also when a
/// re-poll finds the permit before the wake arrives.
#[test]
fn release_races_acquire_registering() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let sem = Arc::new(Semaphore::new(0));
        let data = Arc::new(AtomicUsize::new(0));
        let releaser = {
            let (sem, data) = (sem.clone(), data.clone());
            thread::spawn(move || {
                data.store(1, Relaxed);
                sem.release(1);
            })
        };
        let mut acquire = Box::pin(sem.acquire(1));
        if super::poll_once(&mut acquire).is_ready() {
            seen.saw("ready at the first poll");
        } else if super::poll_once(&mut acquire).is_ready() {
            // Served between the polls, seen without waiting for the wake:
            // only the node state's Release/Acquire carries the write.
            seen.saw("served, seen by a second poll");
        } else {
            seen.saw("queued, then woken");
            assert_eq!(block_on(acquire), Ok(()));
        }
        assert_eq!(data.load(Relaxed), 1, "acquired without the releaser's write");
        releaser.join().unwrap();
        assert_eq!(sem.available_permits(), 0);
    });
    outcomes.assert_all_seen(&[
        "ready at the first poll",
        "served, seen by a second poll",
        "queued, then woken",
    ]);
}

/// Two acquirers (2 permits, then 1) and a release of 2; the first
/// acquire future is polled once and dropped, at any point of the hand-off
/// (queued, partly or fully assigned, or already complete). The second
/// acquirer completes, and every permit is back at the end.
#[test]
fn dropped_acquire_conserves_permits() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let sem = Arc::new(Semaphore::new(0));
        let dropper = {
            let (sem, seen) = (sem.clone(), seen.clone());
            thread::spawn(move || {
                let mut acquire = Box::pin(sem.acquire(2));
                if super::poll_once(&mut acquire).is_ready() {
                    seen.saw("dropper acquired");
                    sem.release(2);
                } else {
                    seen.saw("dropper cancelled");
                }
                drop(acquire);
            })
        };
        let waiter = {
            let sem = sem.clone();
            thread::spawn(move || {
                assert_eq!(block_on(sem.acquire(1)), Ok(()));
                sem.release(1);
            })
        };
        sem.release(2);
        dropper.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(sem.available_permits(), 2, "a permit was lost or duplicated");
        assert_eq!(sem.try_acquire(2), Ok(()), "WAITERS left set with an empty queue");
    });
    outcomes.assert_all_seen(&["dropper acquired", "dropper cancelled"]);
}

/// `close` racing an acquire of 2 on a semaphore with 1 permit: the
/// acquire either fails at once or is woken with the error (never hangs),
/// and the permit it may have been partly assigned comes back.
#[test]
fn close_races_acquire() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let sem = Arc::new(Semaphore::new(1));
        let closer = {
            let sem = sem.clone();
            thread::spawn(move || sem.close())
        };
        let mut acquire = Box::pin(sem.acquire(2));
        match super::poll_once(&mut acquire) {
            Poll::Ready(r) => {
                seen.saw("closed before the first poll");
                assert_eq!(r, Err(AcquireError));
            }
            Poll::Pending => {
                seen.saw("closed while queued");
                assert_eq!(block_on(acquire), Err(AcquireError));
            }
        }
        closer.join().unwrap();
        assert!(sem.is_closed());
        assert_eq!(sem.available_permits(), 1, "the partly assigned permit was lost");
    });
    outcomes.assert_all_seen(&["closed before the first poll", "closed while queued"]);
}
