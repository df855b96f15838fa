//! `sync::broadcast`: every receiver sees every value, lagging receivers
//! get `Lagged(n)` and continue from the oldest kept, `Closed` only after
//! all senders drop and all values are read, cancel safety, values
//! dropped exactly once, and a multi-worker stress run.
#![cfg(feature = "sync")]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use weft::sync::broadcast::{self, error::RecvError, error::TryRecvError};

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

/// A clonable payload counting drops of every copy.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>, u32);

impl Clone for Counted {
    fn clone(&self) -> Self {
        Counted(self.0.clone(), self.1)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn every_receiver_sees_every_value_then_closed() {
    let (tx, mut rx1) = broadcast::channel(8);
    let mut rx2 = tx.subscribe();
    for i in 0..5 {
        assert_eq!(tx.send(i), Ok(2));
    }
    let tx2 = tx.clone();
    drop(tx);
    assert_eq!(rx1.try_recv(), Ok(0));
    drop(tx2);
    for rx in [&mut rx1, &mut rx2] {
        let mut got = Vec::new();
        loop {
            match block_on(rx.recv()) {
                Ok(v) => got.push(v),
                Err(e) => {
                    assert_eq!(e, RecvError::Closed);
                    break;
                }
            }
        }
        assert!(got == [1, 2, 3, 4] || got == [0, 1, 2, 3, 4]);
    }
}

#[test]
fn a_lagging_receiver_gets_lagged_then_the_oldest_kept() {
    let (tx, mut rx) = broadcast::channel(3);
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), 10);
    assert_eq!(block_on(rx.recv()), Err(RecvError::Lagged(7)));
    assert_eq!(rx.try_recv(), Ok(7));
    assert_eq!(rx.try_recv(), Ok(8));
    assert_eq!(rx.try_recv(), Ok(9));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn send_without_receivers_returns_the_value() {
    let (tx, rx) = broadcast::channel(2);
    drop(rx);
    assert_eq!(tx.receiver_count(), 0);
    assert_eq!(tx.send(5).unwrap_err().0, 5);
    let mut rx = tx.subscribe();
    assert_eq!(tx.send(6), Ok(1));
    assert_eq!(rx.try_recv(), Ok(6));
}

#[test]
fn pending_recv_is_woken_by_send_and_by_close_and_cancel_is_clean() {
    let (tx, mut rx) = broadcast::channel::<u8>(2);
    let count = Arc::new(CountWake::default());
    let w = Waker::from(count.clone());
    {
        let mut fut = Box::pin(rx.recv());
        assert!(fut.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
        tx.send(1).unwrap();
        assert_eq!(count.0.load(SeqCst), 1);
        // Dropped without being polled again: nothing consumed.
    }
    assert_eq!(rx.try_recv(), Ok(1));
    {
        let mut fut = Box::pin(rx.recv());
        assert!(fut.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
        drop(tx);
        assert_eq!(count.0.load(SeqCst), 2);
        assert_eq!(fut.as_mut().poll(&mut Context::from_waker(&w)), Poll::Ready(Err(RecvError::Closed)));
    }
    // A cancelled wait leaves no waker behind.
    let (tx, mut rx) = broadcast::channel::<u8>(2);
    {
        let mut fut = Box::pin(rx.recv());
        assert!(fut.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
    }
    drop(w);
    tx.send(1).unwrap();
    assert_eq!(count.0.load(SeqCst), 2);
    assert_eq!(Arc::strong_count(&count), 1);
}

#[test]
fn resubscribe_starts_at_the_end() {
    let (tx, mut rx) = broadcast::channel(4);
    tx.send(1).unwrap();
    let mut rx2 = rx.resubscribe();
    assert!(rx2.is_empty());
    tx.send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx2.try_recv(), Ok(2));
}

#[test]
fn every_copy_is_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let (tx, mut rx) = broadcast::channel(2);
        let mut rx2 = tx.subscribe();
        for i in 0..5 {
            tx.send(Counted(drops.clone(), i)).unwrap();
        }
        // 3 originals overwritten and dropped by the sends.
        assert_eq!(drops.load(SeqCst), 3);
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Lagged(3));
        let a = rx.try_recv().unwrap();
        assert_eq!(a.1, 3);
        drop(a);
        assert_eq!(drops.load(SeqCst), 4);
        drop(rx2.try_recv());
        drop((tx, rx, rx2));
    }
    // 5 originals + 1 clone read by rx (Lagged carries none) + 0 from rx2's Lagged error.
    assert_eq!(drops.load(SeqCst), 6);
}

#[test]
#[should_panic(expected = "broadcast channel requires capacity > 0")]
fn zero_capacity_panics_with_a_clear_message() {
    let _ = broadcast::channel::<u8>(0);
}

/// P senders on a runtime, R receivers: each receiver sees each sender's
/// values in order, no duplicates; with a ring large enough, nothing lags.
#[test]
fn stress_on_2_and_4_workers() {
    for workers in [2, 4] {
        let rt = weft::Runtime::builder().worker_threads(workers).build().unwrap();
        const P: usize = 3;
        const N: usize = 300;
        rt.block_on(async {
            let (tx, rx) = broadcast::channel::<(usize, usize)>(P * N);
            let receivers: Vec<_> = (0..3)
                .map(|_| {
                    let mut rx = rx.resubscribe();
                    weft::spawn(async move {
                        let mut next = [0usize; P];
                        loop {
                            match rx.recv().await {
                                Ok((p, i)) => {
                                    assert_eq!(i, next[p], "sender {p} out of order");
                                    next[p] += 1;
                                }
                                Err(RecvError::Closed) => return next,
                                Err(RecvError::Lagged(n)) => panic!("lagged by {n} with a ring of {}", P * N),
                            }
                        }
                    })
                })
                .collect();
            drop(rx);
            let senders: Vec<_> = (0..P)
                .map(|p| {
                    let tx = tx.clone();
                    weft::spawn(async move {
                        for i in 0..N {
                            tx.send((p, i)).unwrap();
                            if i % 50 == 0 {
                                weft::task::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            for s in senders {
                s.await.unwrap();
            }
            for r in receivers {
                assert_eq!(r.await.unwrap(), [N; P]);
            }
        });
    }
}

/// A small ring under load: receivers may lag, but what they see from
/// each sender is increasing, and the lag counts add up.
#[test]
fn stress_lagging_receivers_account_for_every_value() {
    let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    const N: usize = 5_000;
    rt.block_on(async {
        let (tx, rx) = broadcast::channel::<usize>(4);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let mut rx = rx.resubscribe();
                weft::spawn(async move {
                    let (mut seen, mut lagged, mut last) = (0u64, 0u64, None);
                    loop {
                        match rx.recv().await {
                            Ok(v) => {
                                assert!(last.is_none_or(|l| v > l), "went back to {v} after {last:?}");
                                last = Some(v);
                                seen += 1;
                            }
                            Err(RecvError::Lagged(n)) => lagged += n,
                            Err(RecvError::Closed) => return (seen, lagged),
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        for i in 0..N {
            tx.send(i).unwrap();
            if i % 16 == 0 {
                weft::task::yield_now().await;
            }
        }
        drop(tx);
        for r in receivers {
            let (seen, lagged) = r.await.unwrap();
            assert_eq!(seen + lagged, N as u64, "every value was read or counted as missed");
        }
    });
}
