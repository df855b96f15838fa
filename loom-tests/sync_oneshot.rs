//! `sync::oneshot` (src/sync/oneshot.rs): the state word's hand-offs of the
//! value slot and the two waker slots.
//!
//! Each model checks that the value is delivered or dropped exactly once
//! (`Output` counts creations and drops) and that a pending poll is woken
//! (a lost wake-up fails the "woken" assertion: the model polls, and if it
//! was pending, requires a wake once the other thread is done).

use super::{flag_waker, model_min_preemptions, Counter, Outcomes, Output};
use crate::sync::oneshot;
use loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// `send` on another thread vs the receiver's first poll: either the poll
/// sees the value, or it registered its waker and the send wakes it.
#[test]
fn send_races_recv_poll() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let (created, dropped) = (Counter::default(), Counter::default());
        let (tx, mut rx) = oneshot::channel::<Output>();
        let sender = {
            let (created, dropped) = (created.clone(), dropped.clone());
            thread::spawn(move || {
                let _ = tx.send(Output::new(7, &created, &dropped));
            })
        };
        let (waker, wakes, _) = flag_waker();
        let first = Pin::new(&mut rx).poll(&mut Context::from_waker(&waker));
        sender.join().unwrap();
        let value = match first {
            Poll::Ready(v) => {
                seen.saw("ready at once");
                v
            }
            Poll::Pending => {
                assert_eq!(wakes.get(), 1, "lost wake-up: pending poll never woken by send");
                seen.saw("pending then woken");
                match Pin::new(&mut rx).poll(&mut Context::from_waker(&waker)) {
                    Poll::Ready(v) => v,
                    Poll::Pending => panic!("woken but still pending"),
                }
            }
        };
        assert_eq!(value.expect("value sent").value, 7);
        drop(rx);
        assert_eq!((created.get(), dropped.get()), (1, 1), "value dropped exactly once");
    });
    outcomes.assert_all_seen(&["ready at once", "pending then woken"]);
}

/// The sender dropped without sending vs a poll with one waker, then a
/// re-poll with another (the waker-replacement CAS): the latest waker is
/// woken, the receiver ends with an error.
#[test]
fn sender_drop_races_repoll_with_new_waker() {
    model_min_preemptions(4, || {
        let (tx, mut rx) = oneshot::channel::<usize>();
        let dropper = thread::spawn(move || drop(tx));
        let (w1, _wakes1, _) = flag_waker();
        let (w2, wakes2, _) = flag_waker();
        let mut result = Pin::new(&mut rx).poll(&mut Context::from_waker(&w1));
        if result.is_pending() {
            result = Pin::new(&mut rx).poll(&mut Context::from_waker(&w2));
        }
        dropper.join().unwrap();
        if result.is_pending() {
            assert_eq!(wakes2.get(), 1, "lost wake-up: the latest waker was not woken");
            result = Pin::new(&mut rx).poll(&mut Context::from_waker(&w2));
        }
        match result {
            Poll::Ready(r) => assert!(r.is_err()),
            Poll::Pending => panic!("sender gone but receiver pending"),
        }
    });
}

/// `send` vs the receiver's drop: the value is either returned to the
/// sender or dropped by the receiver's side, exactly once.
#[test]
fn send_races_receiver_drop() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let (created, dropped) = (Counter::default(), Counter::default());
        let (tx, rx) = oneshot::channel::<Output>();
        let sender = {
            let (created, dropped, seen) = (created.clone(), dropped.clone(), seen.clone());
            thread::spawn(move || match tx.send(Output::new(1, &created, &dropped)) {
                Ok(()) => seen.saw("delivered"),
                Err(v) => {
                    seen.saw("returned");
                    drop(v);
                }
            })
        };
        drop(rx);
        sender.join().unwrap();
        assert_eq!((created.get(), dropped.get()), (1, 1), "value dropped exactly once");
    });
    outcomes.assert_all_seen(&["delivered", "returned"]);
}

/// `Sender::closed` polled on one thread vs the receiver's drop: the
/// closed future is woken or sees the close at once.
#[test]
fn closed_races_receiver_drop() {
    model_min_preemptions(4, || {
        let (mut tx, rx) = oneshot::channel::<usize>();
        let dropper = thread::spawn(move || drop(rx));
        let (waker, wakes, _) = flag_waker();
        let first = tx.poll_closed(&mut Context::from_waker(&waker));
        dropper.join().unwrap();
        if first.is_pending() {
            assert_eq!(wakes.get(), 1, "lost wake-up: closed() not woken by the receiver's drop");
            assert!(tx.poll_closed(&mut Context::from_waker(&waker)).is_ready());
        }
        assert!(tx.is_closed());
    });
}
