//! `sync::Barrier`: nobody passes before all `n` arrived, exactly one
//! leader per generation, reusable across generations.
#![cfg(feature = "sync")]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use weft::sync::Barrier;

#[test]
fn each_generation_releases_all_n_after_the_last_arrival_with_one_leader() {
    const N: usize = 5;
    const GENERATIONS: usize = 20;
    let rt = weft::Runtime::builder().worker_threads(3).build().unwrap();
    let barrier = Arc::new(Barrier::new(N));
    let arrived = Arc::new(AtomicUsize::new(0));
    let leaders = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let (barrier, arrived, leaders) = (barrier.clone(), arrived.clone(), leaders.clone());
            rt.spawn(async move {
                for generation in 1..=GENERATIONS {
                    arrived.fetch_add(1, SeqCst);
                    if barrier.wait().await.is_leader() {
                        leaders.fetch_add(1, SeqCst);
                    }
                    // Everyone of this generation arrived before anyone left.
                    let seen = arrived.load(SeqCst);
                    assert!(seen >= generation * N, "left generation {generation} after {seen} arrivals");
                    weft::task::yield_now().await;
                }
            })
        })
        .collect();
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(leaders.load(SeqCst), GENERATIONS, "one leader per generation");
}

#[test]
fn waiters_stay_pending_until_the_last_arrives() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let barrier = Barrier::new(3);
    let mut cx = Context::from_waker(Waker::noop());
    let mut first = Box::pin(barrier.wait());
    let mut second = Box::pin(barrier.wait());
    assert!(first.as_mut().poll(&mut cx).is_pending(), "one of three arrived");
    assert!(second.as_mut().poll(&mut cx).is_pending(), "two of three arrived");
    assert!(first.as_mut().poll(&mut cx).is_pending(), "a re-poll is not an arrival");
    let mut third = Box::pin(barrier.wait());
    let Poll::Ready(last) = third.as_mut().poll(&mut cx) else { panic!("the third arrival waits") };
    assert!(last.is_leader(), "the arrival that completes the generation leads");
    for waiter in [&mut first, &mut second] {
        let Poll::Ready(r) = waiter.as_mut().poll(&mut cx) else { panic!("not released") };
        assert!(!r.is_leader());
    }
    // The next generation starts empty.
    let mut again = Box::pin(barrier.wait());
    assert!(again.as_mut().poll(&mut cx).is_pending());
}

#[test]
fn a_barrier_of_zero_or_one_never_waits() {
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    for n in [0, 1] {
        let b = Barrier::new(n);
        assert_eq!(b.n(), 1);
        assert!(rt.block_on(b.wait()).is_leader());
    }
}
