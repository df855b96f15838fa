//! `sync::mpsc`, bounded and unbounded: close semantics in every order,
//! back-pressure, `try_send`/`try_recv`/`recv_many`/`reserve`, every
//! message dropped exactly once, awaiting outside weft, the cooperative
//! budget, and producer/consumer stress on 2- and 4-worker runtimes.
#![cfg(feature = "sync")]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use weft::sync::mpsc::{self, error::TryRecvError, error::TrySendError};

/// A tiny executor on `std::thread::park`.
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

fn counting_waker() -> (Arc<CountWake>, Waker) {
    let c = Arc::new(CountWake::default());
    (c.clone(), Waker::from(c))
}

/// A message that counts its drops.
#[derive(Debug)]
struct Msg {
    producer: usize,
    seq: usize,
    drops: Arc<AtomicUsize>,
}

impl Drop for Msg {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

// ---- close semantics ----

#[test]
fn receiver_sees_none_only_after_all_senders_drop_and_buffer_drains() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    tx2.send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    drop(tx2);
    assert_eq!(block_on(rx.recv()), Some(2));
    assert_eq!(block_on(rx.recv()), None);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));

    let (tx, mut rx) = mpsc::channel(4);
    block_on(tx.send(1)).unwrap();
    block_on(tx.send(2)).unwrap();
    drop(tx);
    assert_eq!(block_on(rx.recv()), Some(1));
    assert_eq!(block_on(rx.recv()), Some(2));
    assert_eq!(block_on(rx.recv()), None);
}

#[test]
fn pending_receiver_is_woken_by_send_and_by_last_sender_drop() {
    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let (count, w) = counting_waker();
    assert!(rx.poll_recv(&mut Context::from_waker(&w)).is_pending());
    tx.send(1).unwrap();
    assert_eq!(count.0.load(SeqCst), 1);
    assert_eq!(rx.poll_recv(&mut Context::from_waker(&w)), Poll::Ready(Some(1)));
    assert!(rx.poll_recv(&mut Context::from_waker(&w)).is_pending());
    let tx2 = tx.clone();
    drop(tx);
    assert_eq!(count.0.load(SeqCst), 1, "not the last sender");
    drop(tx2);
    assert_eq!(count.0.load(SeqCst), 2);
    assert_eq!(rx.poll_recv(&mut Context::from_waker(&w)), Poll::Ready(None));
}

#[test]
fn senders_get_the_value_back_once_the_receiver_is_gone() {
    let (tx, rx) = mpsc::unbounded_channel();
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(7).unwrap_err().0, 7);

    let (tx, mut rx) = mpsc::channel(2);
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(block_on(tx.send(8)).unwrap_err().0, 8);
    assert_eq!(tx.try_send(9), Err(TrySendError::Closed(9)));
    assert!(block_on(tx.reserve()).is_err());
}

#[test]
fn close_lets_the_receiver_drain_what_was_sent() {
    let (tx, mut rx) = mpsc::channel(4);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    rx.close();
    assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    assert_eq!(block_on(rx.recv()), Some(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(block_on(rx.recv()), None, "closed and drained, though a sender lives");
    drop(tx);
}

#[test]
fn a_permit_reserved_before_close_still_delivers() {
    let (tx, mut rx) = mpsc::channel(4);
    tx.try_send(1).unwrap();
    let permit = tx.try_reserve().unwrap();
    let owned = block_on(tx.clone().reserve_owned()).unwrap();
    rx.close();
    assert_eq!(tx.try_send(9), Err(TrySendError::Closed(9)), "no new slot after close");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "two reservations are outstanding");

    // The receiver waits for them; a permit's send wakes it and delivers.
    let (count, w) = counting_waker();
    let mut cx = Context::from_waker(&w);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Pending);
    permit.send(2);
    assert_eq!(count.0.load(SeqCst), 1, "the send woke the receiver");
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(2)));

    // The last reservation is given back unused: that too wakes the
    // receiver, which now sees the end although a sender lives.
    assert_eq!(rx.poll_recv(&mut cx), Poll::Pending);
    let tx2 = owned.release();
    assert_eq!(count.0.load(SeqCst), 2, "the returned slot woke the receiver");
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    drop((tx, tx2));
}

#[test]
fn a_dropped_permit_after_close_ends_the_stream() {
    let (tx, mut rx) = mpsc::channel::<u32>(2);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    let (count, w) = counting_waker();
    let mut cx = Context::from_waker(&w);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Pending);
    drop(permit);
    assert_eq!(count.0.load(SeqCst), 1);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
}

#[test]
fn a_send_cancelled_after_being_handed_a_slot_wakes_the_closed_receiver() {
    // Found in review: the slot the receiver hands to a waiting send goes
    // back to the semaphore when that send is dropped before it runs
    // again (select!, timeout, abort); a closed receiver waiting for that
    // slot must be woken, or it never sees the end while a sender lives.
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.try_send(1).unwrap();
    let (_, w0) = counting_waker();
    let mut send = Box::pin(tx.send(2));
    assert!(send.as_mut().poll(&mut Context::from_waker(&w0)).is_pending());
    assert_eq!(rx.try_recv(), Ok(1), "frees the slot, handed to the waiting send");
    rx.close();
    let (count, w) = counting_waker();
    let mut cx = Context::from_waker(&w);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Pending, "the send holds a slot");
    drop(send);
    assert_eq!(count.0.load(SeqCst), 1, "the returned slot woke the receiver");
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
    drop(tx);
}

#[test]
fn reserved_sends_after_close_arrive_across_threads() {
    // Producers on other threads each reserve, then the receiver closes,
    // then they send: every reserved message arrives exactly once, then
    // the stream ends while the senders are still alive.
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::channel(8);
    let permits_taken = Arc::new(std::sync::Barrier::new(5));
    let closed = Arc::new(std::sync::Barrier::new(5));
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let (tx, drops) = (tx.clone(), drops.clone());
            let (permits_taken, closed) = (permits_taken.clone(), closed.clone());
            std::thread::spawn(move || {
                let permit = tx.try_reserve().expect("8 slots for 4 producers");
                permits_taken.wait();
                closed.wait();
                permit.send(Msg { producer: p, seq: 0, drops });
                tx
            })
        })
        .collect();
    permits_taken.wait();
    rx.close();
    closed.wait();
    let mut seen = vec![0; 4];
    while let Some(m) = block_on(rx.recv()) {
        seen[m.producer] += 1;
        assert_eq!(m.seq, 0);
    }
    assert_eq!(seen, vec![1; 4], "each reserved message exactly once");
    let senders: Vec<_> = producers.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(drops.load(SeqCst), 4);
    drop(senders);
}

#[test]
fn closed_future_resolves_when_the_receiver_goes() {
    let (tx, rx) = mpsc::channel::<()>(1);
    let (count, w) = counting_waker();
    {
        let mut fut = pin!(tx.closed());
        assert!(poll_once(fut.as_mut(), &w).is_pending());
        drop(rx);
        assert_eq!(count.0.load(SeqCst), 1);
        assert!(poll_once(fut.as_mut(), &w).is_ready());
    }
    // A cancelled `closed()` leaves no waker behind.
    let (tx, rx) = mpsc::unbounded_channel::<()>();
    let (count, w) = counting_waker();
    {
        let mut fut = Box::pin(tx.closed());
        assert!(poll_once(fut.as_mut(), &w).is_pending());
    }
    drop(w);
    drop(rx);
    assert_eq!(count.0.load(SeqCst), 0);
    assert_eq!(Arc::strong_count(&count), 1, "the cancelled future's waker was dropped");
}

// ---- bounded: back-pressure, try_send, reserve ----

#[test]
fn a_full_sender_waits_and_proceeds_when_one_message_is_received() {
    let (tx, mut rx) = mpsc::channel(2);
    block_on(tx.send(1)).unwrap();
    block_on(tx.send(2)).unwrap();
    assert_eq!(tx.capacity(), 0);
    let (count, w) = counting_waker();
    let mut send = Box::pin(tx.send(3));
    assert!(poll_once(send.as_mut(), &w).is_pending(), "full: the sender waits");
    assert!(poll_once(send.as_mut(), &w).is_pending());
    assert_eq!(count.0.load(SeqCst), 0);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(count.0.load(SeqCst), 1, "woken exactly when a slot freed");
    assert!(poll_once(send.as_mut(), &w).is_ready());
    assert_eq!(block_on(rx.recv()), Some(2));
    assert_eq!(block_on(rx.recv()), Some(3));
}

#[test]
fn waiting_senders_are_served_in_fifo_order() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let mut sends: Vec<_> = (1..=3).map(|i| Box::pin(tx.send(i))).collect();
    let wakes: Vec<_> = (0..3).map(|_| counting_waker()).collect();
    for (s, (_, w)) in sends.iter_mut().zip(&wakes) {
        assert!(poll_once(s.as_mut(), w).is_pending());
    }
    for i in 0..3 {
        assert_eq!(rx.try_recv(), Ok(i));
        assert_eq!(wakes[i].0 .0.load(SeqCst), 1, "sender {} woken in turn", i + 1);
        assert!(poll_once(sends[i].as_mut(), &wakes[i].1).is_ready());
        for (later, _) in &wakes[i + 1..] {
            assert_eq!(later.0.load(SeqCst), 0);
        }
    }
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn a_waiting_sender_wakes_with_its_value_when_the_receiver_drops() {
    let drops = Arc::new(AtomicUsize::new(0));
    let msg = |seq| Msg { producer: 0, seq, drops: drops.clone() };
    let (tx, rx) = mpsc::channel(1);
    tx.try_send(msg(0)).unwrap();
    let (count, w) = counting_waker();
    let mut send = Box::pin(tx.send(msg(1)));
    assert!(poll_once(send.as_mut(), &w).is_pending());
    drop(rx);
    assert_eq!(count.0.load(SeqCst), 1);
    assert_eq!(drops.load(SeqCst), 1, "the buffered message dropped with the receiver");
    match poll_once(send.as_mut(), &w) {
        Poll::Ready(Err(e)) => assert_eq!(e.0.seq, 1),
        other => panic!("expected the value back, got {:?}", other.map(|r| r.is_ok())),
    }
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn try_send_full_and_closed_return_the_value() {
    let (tx, rx) = mpsc::channel(1);
    assert_eq!(tx.max_capacity(), 1);
    tx.try_send("a").unwrap();
    assert_eq!(tx.try_send("b"), Err(TrySendError::Full("b")));
    drop(rx);
    assert_eq!(tx.try_send("c"), Err(TrySendError::Closed("c")));
    assert_eq!(TrySendError::Full(1).into_inner(), 1);
}

#[test]
fn reserve_then_send_and_dropped_permits_free_the_slot() {
    let (tx, mut rx) = mpsc::channel(1);
    let permit = block_on(tx.reserve()).unwrap();
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
    drop(permit);
    assert_eq!(tx.capacity(), 1, "an unused permit gives its slot back");
    let permit = tx.try_reserve().unwrap();
    permit.send(5);
    assert_eq!(rx.try_recv(), Ok(5));
    let owned = block_on(tx.clone().reserve_owned()).unwrap();
    let tx2 = owned.send(6);
    assert!(tx2.same_channel(&tx));
    assert_eq!(rx.try_recv(), Ok(6));
    let owned = block_on(tx2.reserve_owned()).unwrap();
    let _tx3 = owned.release();
    assert_eq!(tx.capacity(), 1);
}

#[test]
fn a_cancelled_send_loses_no_capacity() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let (_c, w) = counting_waker();
    {
        let mut send = Box::pin(tx.send(1));
        assert!(poll_once(send.as_mut(), &w).is_pending());
        assert_eq!(rx.try_recv(), Ok(0)); // the slot is handed to the waiting send
    } // ... which is dropped before it runs
    assert_eq!(tx.capacity(), 1, "the handed-over slot came back");
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
#[should_panic(expected = "mpsc bounded channel requires buffer > 0")]
fn zero_capacity_panics_with_a_clear_message() {
    let _ = mpsc::channel::<u8>(0);
}

// ---- recv_many, len, cancel safety ----

#[test]
fn recv_many_takes_up_to_the_limit() {
    for bounded in [false, true] {
        let mut buf = Vec::new();
        if bounded {
            let (tx, mut rx) = mpsc::channel(8);
            for i in 0..5 {
                tx.try_send(i).unwrap();
            }
            assert_eq!(rx.len(), 5);
            assert_eq!(block_on(rx.recv_many(&mut buf, 0)), 0);
            assert_eq!(block_on(rx.recv_many(&mut buf, 2)), 2);
            assert_eq!(tx.capacity(), 5, "two slots freed");
            assert_eq!(block_on(rx.recv_many(&mut buf, 10)), 3);
            drop(tx);
            assert_eq!(block_on(rx.recv_many(&mut buf, 10)), 0);
            assert!(rx.is_empty());
        } else {
            let (tx, mut rx) = mpsc::unbounded_channel();
            for i in 0..5 {
                tx.send(i).unwrap();
            }
            assert_eq!(block_on(rx.recv_many(&mut buf, 2)), 2);
            assert_eq!(block_on(rx.recv_many(&mut buf, 10)), 3);
            drop(tx);
            assert_eq!(block_on(rx.recv_many(&mut buf, 10)), 0);
        }
        assert_eq!(buf, [0, 1, 2, 3, 4]);
    }
}

#[test]
fn a_dropped_recv_future_loses_no_message() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_c, w) = counting_waker();
    {
        let mut fut = Box::pin(rx.recv());
        assert!(poll_once(fut.as_mut(), &w).is_pending());
        tx.send(1).unwrap();
        // Dropped after the send, before being polled again.
    }
    assert_eq!(rx.try_recv(), Ok(1));
}

// ---- every message dropped exactly once, in every close order ----

#[test]
fn messages_dropped_exactly_once_in_every_close_order() {
    let drops = Arc::new(AtomicUsize::new(0));
    let msg = |seq| Msg { producer: 0, seq, drops: drops.clone() };
    // Receiver dropped with messages buffered (some already in its batch).
    let (tx, mut rx) = mpsc::channel(8);
    for i in 0..4 {
        tx.try_send(msg(i)).unwrap();
    }
    drop(rx.try_recv().unwrap()); // moves all four into the local batch
    tx.try_send(msg(4)).unwrap(); // and one more in the shared queue
    assert_eq!(drops.load(SeqCst), 1);
    drop(rx);
    assert_eq!(drops.load(SeqCst), 5);
    let back = tx.try_send(msg(5)).unwrap_err().into_inner();
    drop(back);
    drop(tx);
    assert_eq!(drops.load(SeqCst), 6);
    // Senders dropped first, receiver dropped without reading.
    drops.store(0, SeqCst);
    let (tx, rx) = mpsc::unbounded_channel();
    for i in 0..3 {
        tx.send(msg(i)).unwrap();
    }
    drop(tx);
    assert_eq!(drops.load(SeqCst), 0);
    drop(rx);
    assert_eq!(drops.load(SeqCst), 3);
    // A permit sending after the receiver dropped drops its value.
    drops.store(0, SeqCst);
    let (tx, rx) = mpsc::channel(1);
    let permit = tx.try_reserve().unwrap();
    drop(rx);
    permit.send(msg(0));
    assert_eq!(drops.load(SeqCst), 1);
}

// ---- cooperative budget ----

fn watchdog(name: &'static str) {
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(30));
        eprintln!("{name}: still running after 30 s: the looping task never yielded");
        std::process::exit(101);
    });
}

/// A task receiving from an always-full channel yields to a task it
/// spawned on its only worker (without the budget it would never yield).
#[test]
fn receiving_and_sending_take_part_in_the_budget() {
    watchdog("receiving_and_sending_take_part_in_the_budget");
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    let rounds = rt.block_on(async {
        weft::spawn(async {
            let flag = Arc::new(AtomicUsize::new(0));
            let f = flag.clone();
            let other = weft::spawn(async move { f.store(1, SeqCst) });
            let (tx, mut rx) = mpsc::channel(4);
            let mut rounds = 0u64;
            while flag.load(SeqCst) == 0 {
                tx.send(rounds).await.unwrap();
                assert_eq!(rx.recv().await, Some(rounds));
                rounds += 1;
            }
            other.await.unwrap();
            rounds
        })
        .await
        .unwrap()
    });
    assert!((1..=128).contains(&rounds), "{rounds} ready send+recv rounds before yielding");
}

/// A task sending into a channel that always has room (the send's fast
/// path) yields to a task it spawned on its only worker.
#[test]
fn sending_with_room_takes_part_in_the_budget() {
    watchdog("sending_with_room_takes_part_in_the_budget");
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    let sends = rt.block_on(async {
        weft::spawn(async {
            let flag = Arc::new(AtomicUsize::new(0));
            let f = flag.clone();
            let other = weft::spawn(async move { f.store(1, SeqCst) });
            let (tx, _rx) = mpsc::channel(1_000);
            let mut sends = 0u64;
            while flag.load(SeqCst) == 0 {
                tx.send(sends).await.unwrap();
                sends += 1;
            }
            other.await.unwrap();
            sends
        })
        .await
        .unwrap()
    });
    // 128 sends spend the budget; the 129th yields and completes once the
    // other task has run.
    assert!((1..=129).contains(&sends), "{sends} ready sends before yielding");
}

// ---- stress ----

/// P producers x M messages on a runtime with `workers` workers: the
/// receiver gets every (producer, seq) exactly once and in per-producer
/// order; every message is dropped exactly once.
fn stress(workers: usize, bounded: Option<usize>, producers: usize, per_producer: usize) {
    let rt = weft::Runtime::builder().worker_threads(workers).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    rt.block_on(async move {
        enum Tx {
            B(mpsc::Sender<Msg>),
            U(mpsc::UnboundedSender<Msg>),
        }
        enum Rx {
            B(mpsc::Receiver<Msg>),
            U(mpsc::UnboundedReceiver<Msg>),
        }
        let (tx, mut rx) = match bounded {
            Some(cap) => {
                let (t, r) = mpsc::channel(cap);
                (Tx::B(t), Rx::B(r))
            }
            None => {
                let (t, r) = mpsc::unbounded_channel();
                (Tx::U(t), Rx::U(r))
            }
        };
        let mut handles = Vec::new();
        for p in 0..producers {
            let tx = match &tx {
                Tx::B(t) => Tx::B(t.clone()),
                Tx::U(t) => Tx::U(t.clone()),
            };
            let d = d.clone();
            handles.push(weft::spawn(async move {
                for seq in 0..per_producer {
                    let m = Msg { producer: p, seq, drops: d.clone() };
                    match &tx {
                        Tx::B(t) => t.send(m).await.unwrap(),
                        Tx::U(t) => t.send(m).unwrap(),
                    }
                    if seq % 97 == 0 {
                        weft::task::yield_now().await;
                    }
                }
            }));
        }
        drop(tx);
        let mut next = vec![0usize; producers];
        let mut batch = Vec::new();
        loop {
            let n = match &mut rx {
                Rx::B(r) if next[0] % 2 == 0 => r.recv_many(&mut batch, 16).await,
                Rx::B(r) => r.recv().await.map(|m| batch.push(m)).map_or(0, |_| 1),
                Rx::U(r) => r.recv().await.map(|m| batch.push(m)).map_or(0, |_| 1),
            };
            if n == 0 {
                break;
            }
            for m in batch.drain(..) {
                assert_eq!(m.seq, next[m.producer], "producer {} out of order or duplicated", m.producer);
                next[m.producer] += 1;
            }
        }
        assert!(next.iter().all(|&n| n == per_producer), "missing messages: {next:?}");
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(drops.load(SeqCst), producers * per_producer, "every message dropped exactly once");
}

#[test]
fn stress_bounded_2_workers() {
    stress(2, Some(16), 5, 2_000);
}

/// The contended bench's shape: more producers than workers keep the
/// channel full, so most sends wait for a slot and are handed one.
#[test]
fn stress_bounded_8_producers_capacity_128() {
    stress(2, Some(128), 8, 5_000);
}

#[test]
fn stress_bounded_4_workers_capacity_1() {
    stress(4, Some(1), 4, 1_000);
}

#[test]
fn stress_unbounded_2_workers() {
    stress(2, None, 5, 2_000);
}

#[test]
fn stress_unbounded_4_workers() {
    stress(4, None, 8, 1_000);
}

/// Receiver dropped in the middle of a bounded stress run: waiting senders
/// get their value back, every message is dropped exactly once.
#[test]
fn stress_receiver_drop_mid_stream() {
    let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(AtomicUsize::new(0));
    let (d, c) = (drops.clone(), created.clone());
    rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel(8);
        let handles: Vec<_> = (0..4)
            .map(|p| {
                let (tx, d, c) = (tx.clone(), d.clone(), c.clone());
                weft::spawn(async move {
                    for seq in 0.. {
                        c.fetch_add(1, SeqCst);
                        if tx.send(Msg { producer: p, seq, drops: d.clone() }).await.is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        for _ in 0..500 {
            rx.recv().await.unwrap();
        }
        drop(rx);
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(drops.load(SeqCst), created.load(SeqCst));
}

// ---- weak senders ----

#[test]
fn a_weak_sender_does_not_keep_the_channel_open() {
    let (tx, mut rx) = mpsc::channel::<u8>(4);
    let weak = tx.downgrade();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
    let tx2 = weak.upgrade().expect("a sender is alive");
    assert_eq!(weak.strong_count(), 2);
    tx2.try_send(1).unwrap();
    drop((tx, tx2));
    assert!(weak.upgrade().is_none(), "upgrade after the last sender is gone");
    assert_eq!(block_on(rx.recv()), Some(1));
    assert_eq!(block_on(rx.recv()), None, "the weak sender does not keep it open");
    drop(weak);

    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let weak = tx.downgrade();
    let weak2 = weak.clone();
    assert_eq!(tx.weak_count(), 2);
    weak2.upgrade().unwrap().send(2).unwrap();
    drop(tx);
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn upgrades_racing_the_last_drop_never_reopen_the_channel() {
    for _ in 0..200 {
        let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
        let weak = tx.downgrade();
        let upgrader = std::thread::spawn(move || {
            if let Some(tx) = weak.upgrade() {
                tx.send(1).unwrap();
                true
            } else {
                false
            }
        });
        drop(tx);
        let upgraded = upgrader.join().unwrap();
        // Either the upgrade won (its message arrives, then the end) or it
        // lost (the end at once): never a hang, never a lost message.
        let got = block_on(rx.recv());
        assert_eq!(got.is_some(), upgraded);
        assert_eq!(block_on(rx.recv()), None);
    }
}
