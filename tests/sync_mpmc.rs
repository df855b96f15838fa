//! `sync::mpmc`: bounded and rendezvous hand-off, close from either side
//! and by the last handle, `try_send`/`try_recv`, cancel safety of `send`
//! and `recv` (no message lost or duplicated, every value dropped exactly
//! once), FIFO waiters, awaiting outside weft, the cooperative budget, and
//! N producers x M consumers stress on 2- and 4-worker runtimes.
#![cfg(feature = "sync")]

#[path = "common/thread_block_on.rs"]
mod thread_block_on;

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use thread_block_on::{block_on, poll_with, CountWaker};
use weft::sync::mpmc::{self, TryRecvError, TrySendError};

/// A message that counts its drops.
#[derive(Debug)]
struct Msg {
    id: usize,
    drops: Arc<AtomicUsize>,
}

impl Drop for Msg {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

fn msg(id: usize, drops: &Arc<AtomicUsize>) -> Msg {
    Msg { id, drops: drops.clone() }
}

// ---- bounded basics ----

#[test]
fn bounded_buffers_up_to_capacity_then_reports_full() {
    let (tx, rx) = mpmc::channel(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(rx.try_recv(), Ok(1));
    tx.try_send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn any_capacity_is_accepted_without_allocating_it_up_front() {
    let (tx, rx) = mpmc::channel::<u8>(usize::MAX);
    assert_eq!(tx.capacity(), usize::MAX);
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn a_full_sender_waits_and_its_value_moves_into_the_freed_slot() {
    let (tx, rx) = mpmc::channel(1);
    tx.try_send(1).unwrap();
    let (waker, wakes) = CountWaker::new();
    let mut send = pin!(tx.send(2));
    assert!(poll_with(send.as_mut(), &waker).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(wakes.count(), 1, "the freed slot woke the waiting sender");
    assert_eq!(poll_with(send.as_mut(), &waker), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn waiting_senders_are_served_in_fifo_order() {
    let (tx, rx) = mpmc::channel(1);
    tx.try_send(0).unwrap();
    let (waker, _) = CountWaker::new();
    let mut a = pin!(tx.send(1));
    let mut b = pin!(tx.send(2));
    assert!(poll_with(a.as_mut(), &waker).is_pending());
    assert!(poll_with(b.as_mut(), &waker).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(poll_with(a.as_mut(), &waker), Poll::Ready(Ok(())));
    assert_eq!(poll_with(b.as_mut(), &waker), Poll::Ready(Ok(())));
}

#[test]
fn waiting_receivers_are_served_in_fifo_order() {
    let (tx, rx) = mpmc::channel(4);
    let rx2 = rx.clone();
    let (waker, _) = CountWaker::new();
    let mut a = pin!(rx.recv());
    let mut b = pin!(rx2.recv());
    assert!(poll_with(a.as_mut(), &waker).is_pending());
    assert!(poll_with(b.as_mut(), &waker).is_pending());
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(poll_with(b.as_mut(), &waker), Poll::Ready(Some(2)));
    assert_eq!(poll_with(a.as_mut(), &waker), Poll::Ready(Some(1)));
}

// ---- rendezvous ----

#[test]
fn rendezvous_send_completes_only_when_a_receiver_takes_the_value() {
    let (tx, rx) = mpmc::channel(0);
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)), "nobody receives");
    let (waker, wakes) = CountWaker::new();
    let mut send = pin!(tx.send(2));
    assert!(poll_with(send.as_mut(), &waker).is_pending());
    assert!(poll_with(send.as_mut(), &waker).is_pending(), "still not taken");
    assert!(tx.is_empty(), "a rendezvous channel buffers nothing");
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(wakes.count(), 1);
    assert_eq!(poll_with(send.as_mut(), &waker), Poll::Ready(Ok(())));
}

#[test]
fn rendezvous_try_send_succeeds_when_a_receiver_waits() {
    let (tx, rx) = mpmc::channel(0);
    let (waker, wakes) = CountWaker::new();
    let mut recv = pin!(rx.recv());
    assert!(poll_with(recv.as_mut(), &waker).is_pending());
    tx.try_send(7).unwrap();
    assert_eq!(wakes.count(), 1);
    assert_eq!(tx.try_send(8), Err(TrySendError::Full(8)), "the one waiting receiver is served");
    assert_eq!(poll_with(recv.as_mut(), &waker), Poll::Ready(Some(7)));
}

#[test]
fn rendezvous_across_threads_delivers_everything_once() {
    let (tx, rx) = mpmc::channel::<usize>(0);
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                while let Some(v) = block_on(rx.recv()) {
                    got.push(v);
                }
                got
            })
        })
        .collect();
    drop(rx);
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    block_on(tx.send(p * 1000 + i)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    for p in producers {
        p.join().unwrap();
    }
    let mut all: Vec<usize> = consumers.into_iter().flat_map(|c| c.join().unwrap()).collect();
    all.sort_unstable();
    let want: Vec<usize> = (0..2).flat_map(|p| (0..500).map(move |i| p * 1000 + i)).collect();
    assert_eq!(all, want);
}

// ---- cancel safety ----

#[test]
fn a_cancelled_rendezvous_send_not_yet_taken_delivers_nothing() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpmc::channel(0);
    let (waker, _) = CountWaker::new();
    {
        let mut send = pin!(tx.send(msg(1, &drops)));
        assert!(poll_with(send.as_mut(), &waker).is_pending());
    }
    assert_eq!(drops.load(SeqCst), 1, "the value went with its future");
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
}

#[test]
fn a_cancelled_send_whose_value_was_taken_counts_as_sent() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpmc::channel(0);
    let (waker, _) = CountWaker::new();
    {
        let mut send = pin!(tx.send(msg(1, &drops)));
        assert!(poll_with(send.as_mut(), &waker).is_pending());
        let got = rx.try_recv().unwrap();
        assert_eq!(got.id, 1);
        assert_eq!(drops.load(SeqCst), 0);
    }
    assert_eq!(drops.load(SeqCst), 1, "dropped once, by the receiver");
}

#[test]
fn a_cancelled_recv_holding_a_message_passes_it_to_the_next_receiver() {
    let (tx, rx) = mpmc::channel(0);
    let rx2 = rx.clone();
    let (waker, wakes) = CountWaker::new();
    let mut second = pin!(rx2.recv());
    {
        let mut first = pin!(rx.recv());
        assert!(poll_with(first.as_mut(), &waker).is_pending());
        assert!(poll_with(second.as_mut(), &waker).is_pending());
        tx.try_send(5).unwrap(); // handed to `first`, the oldest
        assert_eq!(wakes.count(), 1);
    }
    assert_eq!(wakes.count(), 2, "the pass-on woke the next receiver");
    assert_eq!(poll_with(second.as_mut(), &waker), Poll::Ready(Some(5)));
}

#[test]
fn a_cancelled_recv_holding_a_message_puts_it_back_when_nobody_waits() {
    let (tx, rx) = mpmc::channel(0);
    let (waker, _) = CountWaker::new();
    {
        let mut recv = pin!(rx.recv());
        assert!(poll_with(recv.as_mut(), &waker).is_pending());
        tx.try_send(5).unwrap();
    }
    assert_eq!(tx.len(), 1, "back in the buffer, past the rendezvous capacity");
    assert_eq!(tx.try_send(6), Err(TrySendError::Full(6)));
    assert_eq!(rx.try_recv(), Ok(5));
}

// ---- close ----

#[test]
fn close_from_either_side_lets_every_receiver_drain_then_end() {
    for close_from_sender in [true, false] {
        let (tx, rx) = mpmc::channel(4);
        let rx2 = rx.clone();
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        let closed = if close_from_sender { tx.close() } else { rx2.close() };
        assert!(closed);
        assert!(tx.is_closed() && rx.is_closed());
        assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
        assert_eq!(block_on(tx.send(4)).unwrap_err().0, 4);
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(block_on(rx2.recv()), Some(2));
        assert_eq!(block_on(rx.recv()), None);
        assert_eq!(block_on(rx2.recv()), None);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }
}

#[test]
fn close_wakes_every_waiting_receiver_and_returns_waiting_values() {
    let (tx, rx) = mpmc::channel::<u32>(0);
    let rx2 = rx.clone();
    let (waker, wakes) = CountWaker::new();
    let mut a = pin!(rx.recv());
    let mut b = pin!(rx2.recv());
    assert!(poll_with(a.as_mut(), &waker).is_pending());
    assert!(poll_with(b.as_mut(), &waker).is_pending());
    tx.close();
    assert_eq!(wakes.count(), 2);
    assert_eq!(poll_with(a.as_mut(), &waker), Poll::Ready(None));
    assert_eq!(poll_with(b.as_mut(), &waker), Poll::Ready(None));

    let (tx, rx) = mpmc::channel::<u32>(0);
    let mut send = pin!(tx.send(9));
    assert!(poll_with(send.as_mut(), &waker).is_pending());
    rx.close();
    match poll_with(send.as_mut(), &waker) {
        Poll::Ready(Err(e)) => assert_eq!(e.0, 9),
        other => panic!("a send waiting at close fails with its value, got {other:?}"),
    }
}

#[test]
fn after_close_no_receiver_ends_while_a_handed_message_may_come_back() {
    let (tx, rx) = mpmc::channel(0);
    let rx2 = rx.clone();
    let (waker, wakes) = CountWaker::new();
    let mut second = pin!(rx2.recv());
    let before = {
        let mut first = pin!(rx.recv());
        assert!(poll_with(first.as_mut(), &waker).is_pending());
        tx.try_send(5).unwrap(); // handed to `first`
        drop(tx); // closes
        assert!(
            poll_with(second.as_mut(), &waker).is_pending(),
            "not the end: the message handed to `first` may come back"
        );
        wakes.count()
    }; // `first` is dropped here, holding the message
    assert_eq!(wakes.count(), before + 1, "the given-back message woke `second`");
    assert_eq!(poll_with(second.as_mut(), &waker), Poll::Ready(Some(5)));
    assert_eq!(block_on(rx2.recv()), None);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn after_close_the_last_handed_message_returned_wakes_waiting_receivers() {
    let (tx, rx) = mpmc::channel(0);
    let rx2 = rx.clone();
    let (waker, wakes) = CountWaker::new();
    let mut first = pin!(rx.recv());
    let mut second = pin!(rx2.recv());
    assert!(poll_with(first.as_mut(), &waker).is_pending());
    tx.try_send(5).unwrap();
    tx.close();
    assert!(poll_with(second.as_mut(), &waker).is_pending());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "a handed message is outstanding");
    let before = wakes.count();
    assert_eq!(poll_with(first.as_mut(), &waker), Poll::Ready(Some(5)));
    assert_eq!(wakes.count(), before + 1, "`second` woken to see the end");
    assert_eq!(poll_with(second.as_mut(), &waker), Poll::Ready(None));
}

#[test]
fn the_last_sender_drop_closes_and_the_last_receiver_drop_drops_the_buffer() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpmc::channel(4);
    let tx2 = tx.clone();
    tx.try_send(msg(0, &drops)).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "a sender is still alive");
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(block_on(rx.recv()).map(|m| m.id), Some(0));
    assert!(block_on(rx.recv()).is_none());

    let (tx, rx) = mpmc::channel(4);
    let rx2 = rx.clone();
    tx.try_send(msg(1, &drops)).unwrap();
    tx.try_send(msg(2, &drops)).unwrap();
    drop(rx);
    assert!(!tx.is_closed(), "a receiver is still alive");
    drop(rx2);
    assert_eq!(drops.load(SeqCst), 3, "the buffer was dropped with the last receiver");
    match tx.try_send(msg(3, &drops)) {
        Err(TrySendError::Closed(m)) => assert_eq!(m.id, 3),
        other => panic!("closed after the last receiver, got {other:?}"),
    }
    assert_eq!(drops.load(SeqCst), 4);
}

#[test]
fn a_value_whose_drop_uses_the_channel_does_not_deadlock() {
    // The buffered value holds the last sender when the last receiver
    // goes: its drop closes the channel again, which takes the lock.
    struct Holder(#[allow(dead_code)] mpmc::Sender<Holder>);
    let (tx, rx) = mpmc::channel::<Holder>(1);
    tx.try_send(Holder(tx.clone())).unwrap();
    drop(tx);
    drop(rx); // returns: the buffer is dropped outside the lock
}

// ---- budget ----

fn watchdog(name: &'static str) {
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(30));
        eprintln!("{name}: still running after 30 s: the looping task never yielded");
        std::process::exit(101);
    });
}

#[test]
fn sending_and_receiving_take_part_in_the_budget() {
    watchdog("sending_and_receiving_take_part_in_the_budget");
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    let rounds = rt.block_on(async {
        weft::spawn(async {
            let flag = Arc::new(AtomicUsize::new(0));
            let f = flag.clone();
            let other = weft::spawn(async move { f.store(1, SeqCst) });
            let (tx, rx) = mpmc::channel(4);
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

// ---- stress ----

/// `producers` x `per_producer` messages through a channel of `cap`
/// into `consumers` consumers, on `workers` workers; some sends and
/// receives are cancelled half-way (polled once under a zero-length
/// `select`-like race, then dropped) and retried. Every message is
/// received exactly once and dropped exactly once.
fn stress(workers: usize, cap: usize, producers: usize, consumers: usize, per_producer: usize) {
    let rt = weft::Runtime::builder().worker_threads(workers).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let d = drops.clone();
    let s = seen.clone();
    rt.block_on(async move {
        let (tx, rx) = mpmc::channel::<Msg>(cap);
        let mut handles = Vec::new();
        for c in 0..consumers {
            let rx = rx.clone();
            let seen = s.clone();
            handles.push(weft::spawn(async move {
                let mut n = 0usize;
                loop {
                    // Every fifth receive is first polled once and
                    // dropped: a message handed to it must not be lost.
                    if (n + c) % 5 == 0 {
                        let mut once = pin!(rx.recv());
                        let got = std::future::poll_fn(|cx| Poll::Ready(once.as_mut().poll(cx))).await;
                        if let Poll::Ready(m) = got {
                            match m {
                                Some(m) => {
                                    assert!(seen.lock().unwrap().insert(m.id), "message {} twice", m.id);
                                    n += 1;
                                    continue;
                                }
                                None => break,
                            }
                        }
                    }
                    match rx.recv().await {
                        Some(m) => {
                            assert!(seen.lock().unwrap().insert(m.id), "message {} twice", m.id);
                            n += 1;
                        }
                        None => break,
                    }
                }
                n
            }));
        }
        drop(rx);
        let mut senders = Vec::new();
        for p in 0..producers {
            let tx = tx.clone();
            let d = d.clone();
            senders.push(weft::spawn(async move {
                for i in 0..per_producer {
                    tx.send(msg(p * per_producer + i, &d)).await.unwrap();
                    if i % 61 == 0 {
                        weft::task::yield_now().await;
                    }
                }
            }));
        }
        drop(tx);
        for s in senders {
            s.await.unwrap();
        }
        let mut total = 0;
        for h in handles {
            total += h.await.unwrap();
        }
        assert_eq!(total, producers * per_producer);
    });
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), producers * per_producer, "every message received exactly once");
    assert_eq!(drops.load(SeqCst), producers * per_producer, "every message dropped exactly once");
}

#[test]
fn stress_rendezvous_2_workers_4x4() {
    stress(2, 0, 4, 4, 5_000);
}

#[test]
fn stress_bounded_4_workers_4x4() {
    stress(4, 16, 4, 4, 20_000);
}

#[test]
fn stress_capacity_1_2_workers_3x5() {
    stress(2, 1, 3, 5, 10_000);
}

/// Sends cancelled at random points (a timeout-like race with a
/// `yield_now`) on a rendezvous channel: each value is either received
/// once or dropped undelivered once, never both, never twice.
#[test]
fn cancelled_rendezvous_sends_deliver_or_drop_each_value_once() {
    let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let (d, r) = (drops.clone(), received.clone());
    let sent_ok = rt.block_on(async move {
        let (tx, rx) = mpmc::channel::<Msg>(0);
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (rx, r) = (rx.clone(), r.clone());
                weft::spawn(async move {
                    while let Some(m) = rx.recv().await {
                        drop(m);
                        r.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        drop(rx);
        let mut ok = 0usize;
        for i in 0..5_000 {
            let mut send = pin!(tx.send(msg(i, &d)));
            let mut polls = 0;
            let done = std::future::poll_fn(|cx| {
                polls += 1;
                match send.as_mut().poll(cx) {
                    Poll::Ready(r) => Poll::Ready(Some(r.is_ok())),
                    Poll::Pending if polls > i % 3 => Poll::Ready(None),
                    Poll::Pending => {
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                }
            })
            .await;
            if done == Some(true) {
                ok += 1;
            }
        }
        drop(tx);
        for c in consumers {
            c.await.unwrap();
        }
        ok
    });
    assert_eq!(drops.load(SeqCst), 5_000, "every value dropped exactly once");
    assert!(received.load(SeqCst) >= sent_ok, "a completed send was received");
}

// ---- Stream ----

/// Polls a receiver once as a `Stream` with `waker`.
fn poll_next_with<T>(rx: &mut mpmc::Receiver<T>, waker: &std::task::Waker) -> Poll<Option<T>> {
    use weft::stream::Stream;
    std::pin::Pin::new(rx).poll_next(&mut std::task::Context::from_waker(waker))
}

#[test]
fn streams_are_consumers_served_in_fifo_order_then_each_ends_after_close() {
    let (tx, mut a) = mpmc::channel(0);
    let mut b = a.clone();
    let (waker, wakes) = CountWaker::new();
    assert!(poll_next_with(&mut a, &waker).is_pending());
    assert!(poll_next_with(&mut b, &waker).is_pending());
    // Both streams wait, so both rendezvous sends find a receiver.
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(wakes.count(), 2);
    assert_eq!(poll_next_with(&mut a, &waker), Poll::Ready(Some(1)), "the oldest waiter first");
    assert_eq!(poll_next_with(&mut b, &waker), Poll::Ready(Some(2)));
    assert!(poll_next_with(&mut a, &waker).is_pending());
    tx.close();
    assert_eq!(poll_next_with(&mut a, &waker), Poll::Ready(None));
    assert_eq!(poll_next_with(&mut b, &waker), Poll::Ready(None));
    assert_eq!(poll_next_with(&mut b, &waker), Poll::Ready(None), "and stays ended");
}

#[test]
fn a_stream_keeps_a_message_handed_to_it_across_a_dropped_next() {
    use futures::StreamExt;
    let (tx, mut rx) = mpmc::channel(0);
    let (waker, _) = CountWaker::new();
    {
        let mut next = pin!(rx.next());
        assert!(poll_with(next.as_mut(), &waker).is_pending());
    }
    // The stream still waits, as a `select!` loop that dropped `next()`
    // leaves it: the send is handed to it.
    tx.try_send(5).unwrap();
    assert_eq!(tx.len(), 0);
    assert_eq!(poll_with(pin!(rx.next()), &waker), Poll::Ready(Some(5)));
}

#[test]
fn a_dropped_stream_passes_its_handed_message_to_the_next_receiver() {
    let (tx, rx) = mpmc::channel(0);
    let mut stream = rx.clone();
    let (waker, wakes) = CountWaker::new();
    assert!(poll_next_with(&mut stream, &waker).is_pending());
    let mut other = pin!(rx.recv());
    assert!(poll_with(other.as_mut(), &waker).is_pending());
    tx.try_send(5).unwrap(); // handed to the stream, the oldest waiter
    assert_eq!(wakes.count(), 1);
    drop(stream);
    assert_eq!(wakes.count(), 2, "the pass-on woke the next receiver");
    assert_eq!(poll_with(other.as_mut(), &waker), Poll::Ready(Some(5)));
}

#[test]
fn a_dropped_stream_puts_its_handed_message_back_and_the_last_drop_drops_it_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpmc::channel(0);
    let mut stream = rx.clone();
    let (waker, _) = CountWaker::new();
    assert!(poll_next_with(&mut stream, &waker).is_pending());
    tx.try_send(msg(7, &drops)).unwrap();
    drop(stream);
    assert_eq!(tx.len(), 1, "back at the buffer's head");
    assert_eq!(drops.load(SeqCst), 0);
    let mut last = rx;
    assert!(matches!(poll_next_with(&mut last, &waker), Poll::Ready(Some(Msg { id: 7, .. }))));
    assert_eq!(drops.load(SeqCst), 1);

    // A handed message still in the last receiver when it goes.
    assert!(poll_next_with(&mut last, &waker).is_pending());
    tx.try_send(msg(8, &drops)).unwrap();
    drop(last);
    assert_eq!(drops.load(SeqCst), 2, "dropped once, with the last receiver");
    assert!(tx.is_closed());
}

#[test]
fn streaming_takes_part_in_the_budget() {
    use futures::StreamExt;
    watchdog("streaming_takes_part_in_the_budget");
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    let rounds = rt.block_on(async {
        weft::spawn(async {
            let flag = Arc::new(AtomicUsize::new(0));
            let f = flag.clone();
            let other = weft::spawn(async move { f.store(1, SeqCst) });
            let (tx, mut rx) = mpmc::channel(4);
            let mut rounds = 0u64;
            while flag.load(SeqCst) == 0 {
                tx.try_send(rounds).unwrap();
                assert_eq!(rx.next().await, Some(rounds));
                rounds += 1;
            }
            other.await.unwrap();
            rounds
        })
        .await
        .unwrap()
    });
    // At most a budget (128) of ready items, then the forced yield lets
    // `other` run; the item awaited across the yield counts one more.
    assert!((1..=129).contains(&rounds), "{rounds} stream items before yielding");
}
