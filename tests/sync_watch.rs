//! `sync::watch`: latest-value semantics, change detection that never
//! misses a change, close in both directions, cancel safety, awaiting
//! outside weft, and a stress run on a multi-worker runtime.
#![cfg(feature = "sync")]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use weft::sync::watch;

fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[derive(Default)]
struct CountWake(AtomicUsize);

impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn receivers_see_the_latest_value() {
    let (tx, mut rx) = watch::channel(0);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert!(rx.has_changed().unwrap());
    block_on(rx.changed()).unwrap();
    assert_eq!(*rx.borrow(), 2, "intermediate values are skipped");
    assert!(!rx.has_changed().unwrap());
}

#[test]
fn changed_waits_for_a_send_from_another_thread() {
    let (tx, mut rx) = watch::channel(String::new());
    let t = std::thread::spawn(move || {
        tx.send(String::from("new")).unwrap();
        tx
    });
    block_on(rx.changed()).unwrap();
    assert_eq!(*rx.borrow_and_update(), "new");
    drop(t.join().unwrap());
    assert!(block_on(rx.changed()).is_err(), "sender gone, nothing new");
}

#[test]
fn a_change_before_the_sender_drops_is_still_reported() {
    let (tx, mut rx) = watch::channel(1);
    tx.send(2).unwrap();
    drop(tx);
    assert_eq!(rx.has_changed(), Ok(true));
    assert!(block_on(rx.changed()).is_ok());
    assert_eq!(*rx.borrow(), 2);
    assert!(rx.has_changed().is_err());
    assert!(block_on(rx.changed()).is_err());
}

#[test]
fn every_waiting_receiver_is_woken_once_per_send() {
    let (tx, rx) = watch::channel(0);
    let counts: Vec<_> = (0..3).map(|_| Arc::new(CountWake::default())).collect();
    let mut rxs: Vec<_> = (0..3).map(|_| rx.clone()).collect();
    {
        let mut futs: Vec<_> = rxs.iter_mut().map(|r| Box::pin(r.changed())).collect();
        for (f, c) in futs.iter_mut().zip(&counts) {
            let w = Waker::from(c.clone());
            assert!(f.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
        }
        tx.send(1).unwrap();
        for c in &counts {
            assert_eq!(c.0.load(SeqCst), 1);
        }
        for f in futs.iter_mut() {
            assert!(f.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_ready());
        }
    }
    for r in &rxs {
        assert!(!r.has_changed().unwrap());
    }
}

#[test]
fn a_dropped_changed_future_leaves_no_waker_and_marks_nothing() {
    let (tx, mut rx) = watch::channel(0);
    let count = Arc::new(CountWake::default());
    {
        let mut fut = Box::pin(rx.changed());
        let w = Waker::from(count.clone());
        assert!(fut.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
    }
    tx.send(1).unwrap();
    assert_eq!(count.0.load(SeqCst), 0, "the cancelled wait was removed");
    assert!(rx.has_changed().unwrap(), "the change is still unseen");
    assert_eq!(Arc::strong_count(&count), 1, "its waker was dropped");
}

#[test]
fn send_fails_without_receivers_send_replace_does_not() {
    let (tx, rx) = watch::channel(1);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(2).unwrap_err().0, 2);
    assert_eq!(*tx.borrow(), 1);
    assert_eq!(tx.send_replace(3), 1);
    assert_eq!(*tx.borrow(), 3);
    let rx = tx.subscribe();
    assert_eq!(tx.receiver_count(), 1);
    assert!(!rx.has_changed().unwrap(), "a new subscriber has seen the current value");
}

#[test]
fn send_modify_and_clone_keep_seen_state() {
    let (tx, mut rx) = watch::channel(vec![0]);
    tx.send_modify(|v| v.push(1));
    let rx2 = rx.clone();
    assert!(rx2.has_changed().unwrap(), "a clone inherits what its origin has seen");
    rx.mark_unchanged();
    assert!(!rx.has_changed().unwrap());
    assert_eq!(*rx.borrow(), [0, 1]);
    assert!(rx.same_channel(&rx2));
}

#[test]
fn closed_resolves_when_the_last_receiver_goes() {
    let (tx, rx) = watch::channel(());
    let rx2 = rx.clone();
    let count = Arc::new(CountWake::default());
    let w = Waker::from(count.clone());
    let mut fut = Box::pin(tx.closed());
    assert!(fut.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
    drop(rx);
    assert_eq!(count.0.load(SeqCst), 0);
    drop(rx2);
    assert_eq!(count.0.load(SeqCst), 1);
    assert!(fut.as_mut().poll(&mut Context::from_waker(&w)).is_ready());
}

/// A writer publishes 1..=N; readers on other workers must see a
/// non-decreasing sequence ending at N, never miss the final change, and
/// finish when the sender goes.
#[test]
fn stress_readers_never_miss_the_last_change() {
    for workers in [2, 4] {
        let rt = weft::Runtime::builder().worker_threads(workers).build().unwrap();
        const N: u64 = 5_000;
        rt.block_on(async {
            let (tx, rx) = watch::channel(0u64);
            let readers: Vec<_> = (0..4)
                .map(|_| {
                    let mut rx = rx.clone();
                    weft::spawn(async move {
                        let mut last = 0;
                        let mut wakes = 0u64;
                        while rx.changed().await.is_ok() {
                            let v = *rx.borrow_and_update();
                            assert!(v >= last, "went back from {last} to {v}");
                            last = v;
                            wakes += 1;
                        }
                        (last, wakes)
                    })
                })
                .collect();
            drop(rx);
            let writer = weft::spawn(async move {
                for i in 1..=N {
                    tx.send(i).unwrap();
                    if i % 64 == 0 {
                        weft::task::yield_now().await;
                    }
                }
            });
            writer.await.unwrap();
            for r in readers {
                let (last, wakes) = r.await.unwrap();
                assert_eq!(last, N, "a reader missed the final value");
                assert!(wakes >= 1);
            }
        });
    }
}

// ---- wait_for ----

#[test]
fn wait_for_checks_the_current_value_first() {
    let (_tx, mut rx) = watch::channel(5);
    assert_eq!(*block_on(rx.wait_for(|v| *v == 5)).unwrap(), 5);
}

#[test]
fn wait_for_waits_for_a_value_that_satisfies_the_predicate() {
    let (tx, mut rx) = watch::channel(0u32);
    let t = std::thread::spawn(move || {
        for i in 1..=100 {
            tx.send(i).unwrap();
        }
        tx
    });
    let got = *block_on(rx.wait_for(|v| *v >= 100)).unwrap();
    assert_eq!(got, 100);
    assert!(!rx.has_changed().unwrap_or(false), "the returned value is marked seen");
    drop(t.join().unwrap());
}

#[test]
fn wait_for_sees_the_last_value_of_a_closed_channel_then_fails() {
    let (tx, mut rx) = watch::channel(0);
    tx.send(3).unwrap();
    drop(tx);
    assert_eq!(*block_on(rx.wait_for(|v| *v == 3)).unwrap(), 3, "the last value still counts");
    assert!(block_on(rx.wait_for(|v| *v == 4)).is_err(), "nothing more will come");
}
