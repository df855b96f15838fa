//! Unit tests of the batch semaphore, driven by hand with counting wakers.

use super::*;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Wake;

#[derive(Default)]
struct CountWaker(StdAtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn waker() -> (Waker, Arc<CountWaker>) {
    let c = Arc::new(CountWaker::default());
    (Waker::from(c.clone()), c)
}

fn poll(fut: &mut Pin<Box<Acquire<'_>>>, w: &Waker) -> Poll<Result<(), AcquireError>> {
    fut.as_mut().poll(&mut Context::from_waker(w))
}

#[test]
fn uncontended_acquire_and_release() {
    let sem = Semaphore::new(3);
    let (w, _) = waker();
    let mut a = Box::pin(sem.acquire(2));
    assert_eq!(poll(&mut a, &w), Poll::Ready(Ok(())));
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(sem.try_acquire(2), Err(TryAcquireError::NoPermits));
    sem.release(2);
    assert_eq!(sem.try_acquire(3), Ok(()));
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(sem.try_acquire(0), Ok(()));
}

#[test]
fn head_is_served_first_and_partially() {
    let sem = Semaphore::new(1);
    let (wa, ca) = waker();
    let (wb, cb) = waker();
    let mut a = Box::pin(sem.acquire(3));
    let mut b = Box::pin(sem.acquire(1));
    assert!(poll(&mut a, &wa).is_pending()); // took 1, needs 2
    assert!(poll(&mut b, &wb).is_pending());
    assert_eq!(sem.available_permits(), 0);
    sem.release(1); // to a: needs 1
    assert_eq!(sem.try_acquire(1), Err(TryAcquireError::NoPermits));
    assert_eq!((ca.0.load(SeqCst), cb.0.load(SeqCst)), (0, 0));
    sem.release(2); // 1 to a (done), 1 to b (done)
    assert_eq!((ca.0.load(SeqCst), cb.0.load(SeqCst)), (1, 1));
    assert_eq!(poll(&mut b, &wb), Poll::Ready(Ok(())));
    assert_eq!(poll(&mut a, &wa), Poll::Ready(Ok(())));
    assert_eq!(sem.available_permits(), 0);
    sem.release(4);
    assert_eq!(sem.available_permits(), 4);
}

#[test]
fn try_acquire_fails_while_a_waiter_queues() {
    let sem = Semaphore::new(0);
    let (w, _) = waker();
    let mut a = Box::pin(sem.acquire(5));
    assert!(poll(&mut a, &w).is_pending());
    sem.release(3);
    assert_eq!(sem.try_acquire(1), Err(TryAcquireError::NoPermits));
    drop(a);
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(sem.try_acquire(1), Ok(()));
}

#[test]
fn dropping_a_partly_assigned_waiter_passes_permits_on() {
    let sem = Semaphore::new(2);
    let (w, _) = waker();
    let (wb, cb) = waker();
    let mut a = Box::pin(sem.acquire(4));
    let mut b = Box::pin(sem.acquire(2));
    assert!(poll(&mut a, &w).is_pending()); // holds 2
    assert!(poll(&mut b, &wb).is_pending());
    drop(a);
    assert_eq!(cb.0.load(SeqCst), 1);
    assert_eq!(poll(&mut b, &wb), Poll::Ready(Ok(())));
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn dropping_a_served_but_unpolled_waiter_gives_everything_back() {
    let sem = Semaphore::new(0);
    let (w, c) = waker();
    let mut a = Box::pin(sem.acquire(2));
    assert!(poll(&mut a, &w).is_pending());
    sem.release(3);
    assert_eq!(c.0.load(SeqCst), 1);
    assert_eq!(sem.available_permits(), 1);
    drop(a);
    assert_eq!(sem.available_permits(), 3);
    // WAITERS was cleared: the fast path works again.
    assert_eq!(sem.try_acquire(3), Ok(()));
}

#[test]
fn repoll_with_another_waker_updates_it() {
    let sem = Semaphore::new(0);
    let (w1, c1) = waker();
    let (w2, c2) = waker();
    let mut a = Box::pin(sem.acquire(1));
    assert!(poll(&mut a, &w1).is_pending());
    assert!(poll(&mut a, &w2).is_pending());
    sem.release(1);
    assert_eq!((c1.0.load(SeqCst), c2.0.load(SeqCst)), (0, 1));
}

#[test]
fn close_fails_waiters_and_later_acquires_and_keeps_their_permits() {
    let sem = Semaphore::new(1);
    let (w, c) = waker();
    let mut a = Box::pin(sem.acquire(2));
    assert!(poll(&mut a, &w).is_pending()); // holds 1
    sem.close();
    assert!(sem.is_closed());
    assert_eq!(c.0.load(SeqCst), 1);
    assert_eq!(poll(&mut a, &w), Poll::Ready(Err(AcquireError)));
    assert_eq!(sem.available_permits(), 1, "the closed-out waiter gave back its permit");
    assert_eq!(sem.try_acquire(1), Err(TryAcquireError::Closed));
    let mut b = Box::pin(sem.acquire(1));
    assert_eq!(poll(&mut b, &w), Poll::Ready(Err(AcquireError)));
    sem.release(1);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn many_waiters_are_woken_in_batches() {
    let sem = Semaphore::new(0);
    let (w, c) = waker();
    let mut futs: Vec<_> = (0..100).map(|_| Box::pin(sem.acquire(1))).collect();
    for f in &mut futs {
        assert!(poll(f, &w).is_pending());
    }
    sem.release(100);
    assert_eq!(c.0.load(SeqCst), 100);
    for f in &mut futs {
        assert_eq!(poll(f, &w), Poll::Ready(Ok(())));
    }
    let mut futs: Vec<_> = (0..70).map(|_| Box::pin(sem.acquire(1))).collect();
    for f in &mut futs {
        assert!(poll(f, &w).is_pending());
    }
    sem.close();
    assert_eq!(c.0.load(SeqCst), 170);
}

#[test]
fn forget_permits_takes_at_most_what_is_there() {
    let sem = Semaphore::new(5);
    assert_eq!(sem.forget_permits(3), 3);
    assert_eq!(sem.forget_permits(3), 2);
    assert_eq!(sem.available_permits(), 0);
}

#[test]
#[should_panic(expected = "semaphore permits overflowed")]
fn release_past_max_permits_panics_with_a_message() {
    let sem = Semaphore::new(MAX_PERMITS);
    sem.release(1);
}
