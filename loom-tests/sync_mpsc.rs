//! `sync::mpsc` (src/sync/mpsc/): sends and the last sender's drop racing
//! the receiver going to sleep, the receiver's drop racing a send with
//! messages buffered, and (bounded) a full sender waiting for the
//! receiver to free a slot. A lost wake-up is a loom deadlock in
//! `block_on` (or a failed "woken" assertion).

use super::{flag_waker, model_min_preemptions, Counter, Outcomes, Output};
use crate::sync::mpsc;
use loom::thread;
use std::future::Future;
use std::task::{Context, Poll, Wake, Waker};

/// Drives `fut` on the current loom thread, parking (loom's park, so a
/// wake-up that never comes is a loom deadlock) while it is pending.
/// Also used by `sync_watch`.
pub(super) fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(loom::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}

/// One send on another thread vs the receiver's poll going to sleep.
#[test]
fn send_races_recv_going_to_sleep() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
        let sender = thread::spawn(move || tx.send(1).unwrap());
        let (waker, wakes, _) = flag_waker();
        let first = rx.poll_recv(&mut Context::from_waker(&waker));
        sender.join().unwrap();
        match first {
            Poll::Ready(v) => {
                seen.saw("ready at once");
                assert_eq!(v, Some(1));
            }
            Poll::Pending => {
                seen.saw("pending then woken");
                assert_eq!(wakes.get(), 1, "lost wake-up: the send did not wake the receiver");
                assert_eq!(rx.poll_recv(&mut Context::from_waker(&waker)), Poll::Ready(Some(1)));
            }
        }
        assert_eq!(rx.poll_recv(&mut Context::from_waker(&waker)), Poll::Ready(None));
    });
    outcomes.assert_all_seen(&["ready at once", "pending then woken"]);
}

/// Two senders on two threads, each sends once and drops, vs the receiver
/// draining: it gets both messages, then `None`, never `None` early.
#[test]
fn last_sender_drop_races_recv() {
    model_min_preemptions(4, || {
        let (tx1, mut rx) = mpsc::unbounded_channel::<usize>();
        let tx2 = tx1.clone();
        let t1 = thread::spawn(move || tx1.send(1).unwrap());
        let t2 = thread::spawn(move || tx2.send(2).unwrap());
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2], "None before the buffer was drained");
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

/// The receiver drops with one message buffered while a send races it:
/// each message is dropped exactly once (by the receiver's drain or by
/// the sender that got it back).
#[test]
fn receiver_drop_with_buffered_races_send() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let (created, dropped) = (Counter::default(), Counter::default());
        let (tx, rx) = mpsc::unbounded_channel::<Output>();
        tx.send(Output::new(0, &created, &dropped)).unwrap();
        let sender = {
            let (created, dropped, seen) = (created.clone(), dropped.clone(), seen.clone());
            thread::spawn(move || match tx.send(Output::new(1, &created, &dropped)) {
                Ok(()) => seen.saw("buffered, dropped by the receiver"),
                Err(e) => {
                    seen.saw("returned to the sender");
                    drop(e.0);
                }
            })
        };
        drop(rx);
        sender.join().unwrap();
        assert_eq!((created.get(), dropped.get()), (2, 2), "every message dropped exactly once");
    });
    outcomes.assert_all_seen(&["buffered, dropped by the receiver", "returned to the sender"]);
}

/// Bounded, capacity 1 and full: a sender on another thread waits for a
/// slot while the receiver takes the buffered message (freeing the slot)
/// and then waits for the sender's: the freed slot must wake the sender,
/// the send must wake the receiver, and the sender's drop ends the stream.
#[test]
fn full_sender_waits_while_recv_frees_a_slot() {
    model_min_preemptions(4, || {
        let (tx, mut rx) = mpsc::channel::<usize>(1);
        tx.try_send(1).unwrap();
        let sender = thread::spawn(move || {
            block_on(tx.send(2)).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), Some(2));
        assert_eq!(block_on(rx.recv()), None);
        sender.join().unwrap();
    });
}

/// Bounded and full: the receiver's drop (with the buffered message)
/// races a sender waiting for a slot: the sender wakes with its value
/// back, both messages are dropped exactly once.
#[test]
fn receiver_drop_wakes_a_full_sender() {
    model_min_preemptions(4, || {
        let (created, dropped) = (Counter::default(), Counter::default());
        let (tx, rx) = mpsc::channel::<Output>(1);
        tx.try_send(Output::new(0, &created, &dropped)).unwrap();
        let sender = {
            let (created, dropped) = (created.clone(), dropped.clone());
            thread::spawn(move || {
                let err = block_on(tx.send(Output::new(1, &created, &dropped))).unwrap_err();
                assert_eq!(err.0.value, 1);
            })
        };
        drop(rx);
        sender.join().unwrap();
        assert_eq!((created.get(), dropped.get()), (2, 2), "every message dropped exactly once");
    });
}

/// A permit reserved before `Receiver::close` is used on another thread
/// (sent through, or dropped unused) while the closed receiver drains and
/// goes to sleep waiting for it: a sent message is received exactly once,
/// `None` comes only after the permit is gone, and neither the send nor
/// the drop can be missed by the sleeping receiver (a lost wake-up is a
/// loom deadlock in `block_on`). The drop's wake rests on the semaphore's
/// close and the permit's release being RMWs of one word
/// (`Chan::slot_returned`).
#[test]
fn permit_used_after_close_races_recv() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(3, move || {
        for send in [true, false] {
            let (tx, mut rx) = mpsc::channel::<usize>(2);
            // A sender that outlives the drain: the end must come from the
            // permit, not from the last sender's drop.
            let keep = tx.clone();
            let permit = block_on(tx.reserve_owned()).expect("a free slot");
            let holder = thread::spawn(move || {
                if send {
                    drop(permit.send(7));
                } else {
                    drop(permit);
                }
            });
            rx.close();
            let mut got = Vec::new();
            while let Some(v) = block_on(rx.recv()) {
                got.push(v);
            }
            holder.join().unwrap();
            drop(keep);
            assert_eq!(got, if send { vec![7] } else { vec![] }, "lost or duplicated, or None too early");
            seen.saw(if send { "sent" } else { "dropped" });
        }
    });
    outcomes.assert_all_seen(&["sent", "dropped"]);
}

/// Bounded, capacity 1 and full: a send on another thread waits for a
/// slot (or gets one, or finds the channel closed) and is then dropped,
/// while the receiver takes the buffered message (handing the freed slot
/// to that waiting send), closes and drains until `None`; a second sender
/// stays alive. A slot handed to the send and given back by its drop must
/// wake the closed receiver (found in review: `Sender::acquire_slot`'s
/// guard); a send that completed is received exactly once.
#[test]
fn cancelled_send_after_slot_hand_off_races_closed_recv() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(3, move || {
        let (tx, mut rx) = mpsc::channel::<usize>(1);
        tx.try_send(1).expect("an empty channel of one slot");
        let keep = tx.clone();
        let sender = thread::spawn(move || {
            let (waker, _, _) = flag_waker();
            let mut send = Box::pin(tx.send(2));
            let sent = match send.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(result) => result.is_ok(),
                Poll::Pending => false,
            };
            // Dropped here, possibly holding a slot the receiver handed it.
            drop(send);
            sent
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        rx.close();
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        let sent = sender.join().unwrap();
        drop(keep);
        assert_eq!(got, if sent { vec![2] } else { vec![] }, "lost or duplicated, or None too early");
        seen.saw(if sent { "the send completed" } else { "the send was dropped first" });
    });
    outcomes.assert_all_seen(&["the send completed", "the send was dropped first"]);
}

/// A weak sender upgraded on another thread (and sending once) vs the
/// last strong sender's drop, vs the receiver draining until `None`: an
/// upgrade that wins delivers its message before the end; one that loses
/// gets `None` and the stream ends at once. Never a hang, never a message
/// after `None`.
#[test]
fn weak_upgrade_races_last_sender_drop() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(3, move || {
        let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
        let weak = tx.downgrade();
        let upgrader = thread::spawn(move || match weak.upgrade() {
            Some(tx) => {
                tx.send(7).unwrap();
                true
            }
            None => false,
        });
        drop(tx);
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        let upgraded = upgrader.join().unwrap();
        seen.saw(if upgraded { "upgrade won" } else { "upgrade lost" });
        assert_eq!(got, if upgraded { vec![7] } else { vec![] });
    });
    outcomes.assert_all_seen(&["upgrade won", "upgrade lost"]);
}
