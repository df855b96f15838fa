//! `sync::oneshot`: delivery, close detection in every order, the value
//! dropped exactly once whichever side goes last, awaiting outside weft,
//! and request/reply stress on a multi-worker runtime.
#![cfg(feature = "sync")]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use weft::sync::oneshot::{self, TryRecvError};

/// A tiny executor on `std::thread::park`: the channels need nothing but a
/// `Waker`.
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

/// A payload that counts its drops.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A waker counting its wakes.
#[derive(Default)]
struct CountWake(AtomicUsize);

impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn rt(workers: usize) -> weft::Runtime {
    weft::Runtime::builder().worker_threads(workers).build().unwrap()
}

#[test]
fn send_then_receive() {
    let (tx, rx) = oneshot::channel();
    tx.send(5u32).unwrap();
    assert_eq!(block_on(rx), Ok(5));
}

#[test]
fn receive_waits_for_a_send_from_another_thread() {
    let (tx, rx) = oneshot::channel();
    let t = std::thread::spawn(move || tx.send(String::from("x")).unwrap());
    assert_eq!(block_on(rx).unwrap(), "x");
    t.join().unwrap();
}

#[test]
fn pending_receiver_is_woken_by_send_and_by_sender_drop() {
    for send in [true, false] {
        let (tx, mut rx) = oneshot::channel::<u8>();
        let count = Arc::new(CountWake::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(pin!(&mut rx).poll(&mut cx).is_pending());
        if send {
            tx.send(1).unwrap();
        } else {
            drop(tx);
        }
        assert_eq!(count.0.load(SeqCst), 1, "exactly one wake (send = {send})");
        let got = block_on(&mut rx);
        if send {
            assert_eq!(got, Ok(1));
        } else {
            assert!(got.is_err());
        }
    }
}

#[test]
fn sender_dropped_without_sending_is_an_error() {
    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    assert!(block_on(rx).is_err());
}

#[test]
fn try_recv_empty_value_closed() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(9).unwrap();
    assert_eq!(rx.try_recv(), Ok(9));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn send_to_a_dropped_or_closed_receiver_returns_the_value() {
    let (tx, rx) = oneshot::channel();
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(3), Err(3));
    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(4), Err(4));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_value_sent_before_close_is_still_received() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn closed_resolves_when_the_receiver_goes() {
    let (mut tx, rx) = oneshot::channel::<()>();
    let count = Arc::new(CountWake::default());
    let waker = Waker::from(count.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(tx.poll_closed(&mut cx).is_pending());
    drop(rx);
    assert_eq!(count.0.load(SeqCst), 1);
    assert!(tx.poll_closed(&mut cx).is_ready());
    // Through the async fn and another thread.
    let (mut tx, mut rx) = oneshot::channel::<()>();
    let t = std::thread::spawn(move || rx.close());
    block_on(tx.closed());
    t.join().unwrap();
}

#[test]
fn re_polling_with_another_waker_wakes_only_the_latest() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    let first = Arc::new(CountWake::default());
    let second = Arc::new(CountWake::default());
    let (w1, w2) = (Waker::from(first.clone()), Waker::from(second.clone()));
    assert!(pin!(&mut rx).poll(&mut Context::from_waker(&w1)).is_pending());
    assert!(pin!(&mut rx).poll(&mut Context::from_waker(&w2)).is_pending());
    tx.send(1).unwrap();
    assert_eq!((first.0.load(SeqCst), second.0.load(SeqCst)), (0, 1));
}

/// The value is dropped exactly once in every order of send, receive,
/// close and drop.
#[test]
fn value_dropped_exactly_once_in_every_order() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mk = || Counted(drops.clone());
    let mut expected = 0;
    // 1. sent, received, then dropped by the receiver's owner.
    let (tx, rx) = oneshot::channel();
    tx.send(mk()).unwrap();
    drop(block_on(rx).unwrap());
    expected += 1;
    assert_eq!(drops.load(SeqCst), expected);
    // 2. sent, never received: receiver dropped (sender already gone).
    let (tx, rx) = oneshot::channel();
    tx.send(mk()).unwrap();
    drop(rx);
    expected += 1;
    assert_eq!(drops.load(SeqCst), expected);
    // 3. receiver dropped first: send returns it, the caller drops it.
    let (tx, rx) = oneshot::channel();
    drop(rx);
    let back = tx.send(mk()).unwrap_err();
    assert_eq!(drops.load(SeqCst), expected);
    drop(back);
    expected += 1;
    assert_eq!(drops.load(SeqCst), expected);
    // 4. sent, receiver closed (value kept), then receiver dropped.
    let (tx, mut rx) = oneshot::channel();
    tx.send(mk()).unwrap();
    rx.close();
    assert_eq!(drops.load(SeqCst), expected);
    drop(rx);
    expected += 1;
    assert_eq!(drops.load(SeqCst), expected);
    // 5. sender never sends: nothing to drop.
    let (tx, rx) = oneshot::channel::<Counted>();
    drop(tx);
    drop(rx);
    assert_eq!(drops.load(SeqCst), expected);
}

/// Request/reply: a server task answers requests carrying a oneshot;
/// every reply arrives once, every payload is dropped once.
#[test]
fn request_reply_stress_on_2_and_4_workers() {
    for workers in [2, 4] {
        let rt = rt(workers);
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let n = 2_000;
        rt.block_on(async move {
            let (req_tx, mut req_rx) =
                weft::sync::mpsc::unbounded_channel::<(u64, oneshot::Sender<(u64, Counted)>)>();
            let server = weft::spawn(async move {
                let mut served = 0;
                while let Some((i, reply)) = req_rx.recv().await {
                    let _ = reply.send((i * 2, Counted(d.clone())));
                    served += 1;
                }
                served
            });
            let clients: Vec<_> = (0..4u64)
                .map(|c| {
                    let req_tx = req_tx.clone();
                    weft::spawn(async move {
                        for k in 0..n / 4 {
                            let i = c * 1_000_000 + k;
                            let (tx, rx) = oneshot::channel();
                            req_tx.send((i, tx)).unwrap();
                            let (v, payload) = rx.await.unwrap();
                            assert_eq!(v, i * 2);
                            drop(payload);
                        }
                    })
                })
                .collect();
            drop(req_tx);
            for c in clients {
                c.await.unwrap();
            }
            assert_eq!(server.await.unwrap(), n);
        });
        assert_eq!(drops.load(SeqCst), n as usize, "every reply dropped exactly once ({workers} workers)");
    }
}

/// Racing send against receiver drop on two threads: the value is
/// either delivered-and-dropped by the receiver's side or returned; never
/// both, never neither.
#[test]
fn send_races_receiver_drop() {
    let drops = Arc::new(AtomicUsize::new(0));
    for _ in 0..2_000 {
        let (tx, rx) = oneshot::channel();
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let b = barrier.clone();
        let c = Counted(drops.clone());
        let t = std::thread::spawn(move || {
            b.wait();
            drop(rx);
        });
        barrier.wait();
        let _ = tx.send(c);
        t.join().unwrap();
    }
    assert_eq!(drops.load(SeqCst), 2_000);
}

/// Without the budget this test would hang, not fail: turn a hang into
/// a failure (a deadline far above the expected milliseconds).
fn watchdog(name: &'static str) {
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(30));
        eprintln!("{name}: still running after 30 s: the looping task never yielded");
        std::process::exit(101);
    });
}

/// A task looping over always-ready oneshots yields to a task it spawned
/// on its (only) worker: the neighbour can run only if the loop yields.
#[test]
fn receiving_takes_part_in_the_budget() {
    watchdog("receiving_takes_part_in_the_budget");
    let rt = rt(1);
    let rounds = rt.block_on(async {
        let hog = weft::spawn(async move {
            let flag = Arc::new(AtomicUsize::new(0));
            let f = flag.clone();
            let other = weft::spawn(async move { f.store(1, SeqCst) });
            let mut rounds = 0u64;
            while flag.load(SeqCst) == 0 {
                let (tx, rx) = oneshot::channel();
                tx.send(1u8).unwrap();
                rx.await.unwrap();
                rounds += 1;
            }
            other.await.unwrap();
            rounds
        });
        hog.await.unwrap()
    });
    assert!((1..=2 * 128).contains(&rounds), "the loop ran {rounds} ready receives before yielding");
}
