//! `weft::sync::Semaphore`: FIFO order, partial assignment, close, permits
//! conserved on cancellation, owned permits, the cooperative budget, and a
//! stress run on multi-worker runtimes.
#![cfg(feature = "sync")]

#[path = "common/thread_block_on.rs"]
mod tbo;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use tbo::{block_on, poll_with, CountWaker};
use weft::sync::{AcquireError, Semaphore, TryAcquireError};

fn runtime(workers: usize) -> weft::Runtime {
    weft::Runtime::builder().worker_threads(workers).build().expect("runtime")
}

#[test]
fn works_outside_any_runtime() {
    let sem = Semaphore::new(2);
    block_on(async {
        let a = sem.acquire().await.unwrap();
        let b = sem.acquire_many(1).await.unwrap();
        assert_eq!(sem.available_permits(), 0);
        assert_eq!(a.num_permits() + b.num_permits(), 2);
    });
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn a_release_from_another_thread_wakes_the_waiter() {
    let sem = Arc::new(Semaphore::new(0));
    let t = {
        let sem = sem.clone();
        std::thread::spawn(move || sem.add_permits(1))
    };
    block_on(async { sem.acquire().await.unwrap().forget() });
    t.join().unwrap();
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn waiters_are_served_in_fifo_order_with_partial_assignment() {
    let sem = Semaphore::new(0);
    let (w, _) = CountWaker::new();
    let mut big = pin!(sem.acquire_many(3));
    let mut small = pin!(sem.acquire());
    assert!(poll_with(big.as_mut(), &w).is_pending());
    assert!(poll_with(small.as_mut(), &w).is_pending());
    sem.add_permits(2);
    // The head took both; the small waiter behind it does not jump it, and
    // neither does try_acquire.
    assert!(poll_with(small.as_mut(), &w).is_pending());
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    assert_eq!(sem.available_permits(), 0);
    sem.add_permits(2);
    let Poll::Ready(Ok(p)) = poll_with(big.as_mut(), &w) else { panic!("big not served") };
    assert_eq!(p.num_permits(), 3);
    let Poll::Ready(Ok(q)) = poll_with(small.as_mut(), &w) else { panic!("small not served") };
    drop((p, q));
    assert_eq!(sem.available_permits(), 4);
}

#[test]
fn permits_are_not_lost_when_an_acquire_is_dropped_at_each_stage() {
    let sem = Semaphore::new(1);
    let (w, _) = CountWaker::new();
    // Queued and partly assigned (holds 1 of 3), then dropped.
    {
        let mut a = pin!(sem.acquire_many(3));
        assert!(poll_with(a.as_mut(), &w).is_pending());
        assert_eq!(sem.available_permits(), 0);
    }
    assert_eq!(sem.available_permits(), 1);
    // Fully assigned but never polled again, then dropped.
    {
        let mut a = pin!(sem.acquire_many(2));
        assert!(poll_with(a.as_mut(), &w).is_pending());
        sem.add_permits(1);
        assert_eq!(sem.available_permits(), 0);
    }
    assert_eq!(sem.available_permits(), 2);
    // Dropped while queued behind another: the head is not disturbed and
    // gets what the dropped one would have got.
    let (wh, head_wakes) = CountWaker::new();
    let mut head = pin!(sem.acquire_many(4));
    assert!(poll_with(head.as_mut(), &wh).is_pending());
    {
        let mut behind = pin!(sem.acquire());
        assert!(poll_with(behind.as_mut(), &w).is_pending());
    }
    sem.add_permits(2);
    assert_eq!(head_wakes.count(), 1);
    let Poll::Ready(Ok(p)) = poll_with(head.as_mut(), &wh) else { panic!("head not served") };
    drop(p);
    assert_eq!(sem.available_permits(), 4);
}

#[test]
fn close_fails_waiters_and_new_acquires() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let (w, wakes) = CountWaker::new();
    let mut a = pin!(sem.acquire());
    assert!(poll_with(a.as_mut(), &w).is_pending());
    sem.close();
    assert!(sem.is_closed());
    assert_eq!(wakes.count(), 1);
    assert!(matches!(poll_with(a.as_mut(), &w), Poll::Ready(Err(AcquireError { .. }))));
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    let err = block_on(sem.acquire()).unwrap_err();
    assert_eq!(err.to_string(), "semaphore closed");
    drop(held);
    assert_eq!(sem.available_permits(), 1, "a held permit still returns after close");
}

#[test]
fn owned_permits_move_into_tasks() {
    let rt = runtime(2);
    let sem = Arc::new(Semaphore::new(1));
    rt.block_on(async {
        let permit = sem.clone().acquire_owned().await.unwrap();
        assert!(sem.clone().try_acquire_owned().is_err());
        let t = weft::spawn(async move {
            assert_eq!(permit.num_permits(), 1);
            drop(permit);
        });
        t.await.unwrap();
        let many = sem.clone().acquire_many_owned(1).await.unwrap();
        assert_eq!(many.semaphore().available_permits(), 0);
        many.forget();
        assert_eq!(sem.available_permits(), 0);
        sem.add_permits(2);
        assert_eq!(sem.clone().try_acquire_many_owned(2).unwrap().num_permits(), 2);
    });
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn forget_permits_and_max_permits() {
    static SEM: Semaphore = Semaphore::new(5);
    assert_eq!(SEM.forget_permits(2), 2);
    assert_eq!(SEM.available_permits(), 3);
    let r = std::panic::catch_unwind(|| Semaphore::new(Semaphore::MAX_PERMITS + 1));
    let msg = r.map(|_| ()).unwrap_err();
    let msg = msg.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("MAX_PERMITS"), "{msg}");
}

/// Never more than `PERMITS` holders at once (counted with an atomic), and
/// every task's every iteration completes once.
fn stress(workers: usize) {
    const TASKS: usize = 16;
    const ITERS: usize = 500;
    const PERMITS: usize = 3;
    let rt = runtime(workers);
    let sem = Arc::new(Semaphore::new(PERMITS));
    let inside = Arc::new(AtomicUsize::new(0));
    let max_inside = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let (sem, inside, max_inside, done) =
                    (sem.clone(), inside.clone(), max_inside.clone(), done.clone());
                weft::spawn(async move {
                    for j in 0..ITERS {
                        // Mix single and double acquires (partial assignment).
                        let n = if (i + j) % 5 == 0 { 2 } else { 1 };
                        let permit = sem.acquire_many(n).await.unwrap();
                        let now = inside.fetch_add(n as usize, SeqCst) + n as usize;
                        max_inside.fetch_max(now, SeqCst);
                        assert!(now <= PERMITS, "{now} permits held at once");
                        if j % 7 == 0 {
                            weft::task::yield_now().await;
                        }
                        inside.fetch_sub(n as usize, SeqCst);
                        drop(permit);
                        done.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(done.load(SeqCst), TASKS * ITERS);
    assert!(max_inside.load(SeqCst) <= PERMITS);
    assert_eq!(sem.available_permits(), PERMITS);
}

#[test]
fn stress_2_workers() {
    stress(2);
}

#[test]
fn stress_4_workers() {
    stress(4);
}

/// An acquire loop over an always-available semaphore takes part in the
/// cooperative budget: inside one poll of a weft task, acquires complete
/// until the task's budget (128 operations) is spent, then one returns
/// `Pending` (and wakes the task, which goes to the back of the queue).
/// Without the budget the loop below would reach its 10,000 iterations.
#[test]
fn an_acquire_loop_yields_when_the_budget_is_spent() {
    let rt = runtime(1);
    let sem = Arc::new(Semaphore::new(1));
    let ready_in_one_poll = rt.block_on({
        let sem = sem.clone();
        async move {
            weft::spawn(async move {
                let mut first_poll = true;
                let n = std::future::poll_fn(|cx| {
                    if !first_poll {
                        // Re-polled after yielding: the wake was issued.
                        return Poll::Ready(None);
                    }
                    first_poll = false;
                    for i in 0..10_000usize {
                        let mut acquire = pin!(sem.acquire());
                        match acquire.as_mut().poll(cx) {
                            Poll::Ready(permit) => drop(permit.unwrap()),
                            Poll::Pending => return Poll::Ready(Some(i)),
                        }
                    }
                    Poll::Ready(None)
                })
                .await;
                // The semaphore still works after the forced yield.
                drop(sem.acquire().await.unwrap());
                n
            })
            .await
            .unwrap()
        }
    });
    let n = ready_in_one_poll.expect("10,000 acquires completed in one poll: no budget");
    assert!((1..=128).contains(&n), "{n} acquires before yielding");
    assert_eq!(sem.available_permits(), 1);
}
