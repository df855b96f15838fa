//! `sync::mpmc` (src/sync/mpmc/): the rendezvous hand-off (a send racing
//! a receive, either side arriving first), a send cancelled while a
//! receiver takes its value, a receive cancelled while a sender hands it
//! a value (the value passes on), and close racing waiting senders and
//! receivers. A lost wake-up is a loom deadlock in `block_on`; a lost or
//! duplicated value fails a count.

use super::sync_mpsc::block_on;
use super::{flag_waker, model_min_preemptions, Counter, Outcomes, Output};
use crate::sync::mpmc;
use loom::thread;
use std::future::Future;
use std::task::{Context, Poll};

/// Rendezvous: a send on another thread vs a receive here; the receive
/// gets the value, the send completes, whichever arrives first.
#[test]
fn rendezvous_send_races_recv() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let (tx, rx) = mpmc::channel::<usize>(0);
        let sender = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
        });
        let (waker, _, _) = flag_waker();
        let mut recv = Box::pin(rx.recv());
        match recv.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(v) => {
                seen.saw("the sender waited first");
                assert_eq!(v, Some(1));
            }
            Poll::Pending => {
                seen.saw("the receiver waited first");
                assert_eq!(block_on(recv), Some(1));
            }
        }
        sender.join().unwrap();
    });
    outcomes.assert_all_seen(&["the sender waited first", "the receiver waited first"]);
}

/// Rendezvous: a send polled once on another thread and then dropped,
/// vs the receiver taking whatever comes until the channel closes (the
/// sender thread drops its `Sender` after the future). The value is
/// received exactly when the send completed or was taken before the
/// drop, and is dropped exactly once either way.
#[test]
fn cancelled_rendezvous_send_races_recv() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let (created, dropped) = (Counter::default(), Counter::default());
        let (tx, rx) = mpmc::channel::<Output>(0);
        let sender = {
            let (created, dropped) = (created.clone(), dropped.clone());
            thread::spawn(move || {
                let (waker, _, _) = flag_waker();
                let mut send = Box::pin(tx.send(Output::new(7, &created, &dropped)));
                let completed =
                    matches!(send.as_mut().poll(&mut Context::from_waker(&waker)), Poll::Ready(Ok(())));
                drop(send);
                drop(tx);
                completed
            })
        };
        let got = block_on(rx.recv());
        let completed = sender.join().unwrap();
        assert!(block_on(rx.recv()).is_none(), "one value at most");
        match &got {
            Some(v) => {
                assert_eq!(v.value, 7);
                seen.saw(if completed { "taken, send completed" } else { "taken, send dropped after" });
            }
            None => {
                assert!(!completed, "a completed send was not received");
                seen.saw("dropped undelivered");
            }
        }
        drop(got);
        assert_eq!((created.get(), dropped.get()), (1, 1), "the value dropped exactly once");
    });
    outcomes.assert_all_seen(&["taken, send completed", "dropped undelivered"]);
}

/// Rendezvous, two receivers: one on another thread polls once and drops
/// its future (possibly holding the value a sender handed it), the other
/// receives here. The value reaches this receiver unless the first one
/// returned it, exactly once.
#[test]
fn cancelled_recv_holding_a_value_passes_it_on() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let (tx, rx) = mpmc::channel::<usize>(0);
        let rx2 = rx.clone();
        let dropper = {
            let seen = seen.clone();
            thread::spawn(move || {
                let (waker, _, _) = flag_waker();
                let mut recv = Box::pin(rx2.recv());
                let got = match recv.as_mut().poll(&mut Context::from_waker(&waker)) {
                    Poll::Ready(v) => v,
                    Poll::Pending => {
                        if recv.holds_message() {
                            seen.saw("handed to the cancelled recv, passed on");
                        }
                        None
                    }
                };
                drop(recv);
                got
            })
        };
        let sender = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
        });
        let mine = block_on(rx.recv());
        let theirs = dropper.join().unwrap();
        sender.join().unwrap();
        match (mine, theirs) {
            (Some(1), None) => seen.saw("received here"),
            (None, Some(1)) => seen.saw("received by the other at once"),
            other => panic!("lost or duplicated: {other:?}"),
        }
    });
    outcomes.assert_all_seen(&["received here", "handed to the cancelled recv, passed on"]);
}

/// Capacity 1: a sender sends two values (the second waits) and closes,
/// vs a receiver draining until `None`: both values arrive, in order,
/// then the end; never `None` early, never a lost wake-up.
#[test]
fn close_after_sends_races_drain() {
    model_min_preemptions(4, || {
        let (tx, rx) = mpmc::channel::<usize>(1);
        let sender = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
            block_on(tx.send(2)).unwrap();
            tx.close();
        });
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        sender.join().unwrap();
        assert_eq!(got, [1, 2], "None before the buffer was drained");
    });
}

/// Rendezvous: a waiting send on one thread and a close on another, vs
/// the receiver: the value is received exactly when the send returned
/// `Ok`, else it comes back in the error; the receiver ends with `None`.
#[test]
fn close_races_waiting_send_and_recv() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let (created, dropped) = (Counter::default(), Counter::default());
        let (tx, rx) = mpmc::channel::<Output>(0);
        let closer = {
            let rx = rx.clone();
            thread::spawn(move || {
                rx.close();
            })
        };
        let sender = {
            let (created, dropped) = (created.clone(), dropped.clone());
            thread::spawn(move || match block_on(tx.send(Output::new(3, &created, &dropped))) {
                Ok(()) => true,
                Err(e) => {
                    assert_eq!(e.0.value, 3);
                    false
                }
            })
        };
        let got = block_on(rx.recv());
        let sent = sender.join().unwrap();
        closer.join().unwrap();
        assert_eq!(got.is_some(), sent, "received exactly when the send succeeded");
        if got.is_some() {
            assert!(block_on(rx.recv()).is_none());
        }
        seen.saw(if sent { "delivered before the close" } else { "returned by the close" });
        drop(got);
        assert_eq!((created.get(), dropped.get()), (1, 1), "the value dropped exactly once");
    });
    outcomes.assert_all_seen(&["delivered before the close", "returned by the close"]);
}

/// Rendezvous, two receivers: one on another thread is polled once as a
/// stream (`poll_recv`, its receive kept in the `Receiver`) and then
/// dropped, possibly holding the value a sender handed it; the other
/// receives here. As for a cancelled `recv`: the value reaches this
/// receiver unless the stream returned it, exactly once.
#[test]
fn dropped_stream_holding_a_value_passes_it_on() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let (tx, rx) = mpmc::channel::<usize>(0);
        let mut stream = rx.clone();
        let dropper = {
            let seen = seen.clone();
            thread::spawn(move || {
                let (waker, _, _) = flag_waker();
                let got = match stream.poll_recv(&mut Context::from_waker(&waker)) {
                    Poll::Ready(v) => v,
                    Poll::Pending => {
                        if stream.holds_message() {
                            seen.saw("handed to the stream, passed on");
                        }
                        None
                    }
                };
                drop(stream);
                got
            })
        };
        let sender = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
        });
        let mine = block_on(rx.recv());
        let theirs = dropper.join().unwrap();
        sender.join().unwrap();
        match (mine, theirs) {
            (Some(1), None) => seen.saw("received here"),
            (None, Some(1)) => seen.saw("received by the stream at once"),
            other => panic!("lost or duplicated: {other:?}"),
        }
    });
    outcomes.assert_all_seen(&["received here", "handed to the stream, passed on"]);
}

/// Rendezvous, one receiver polled once as a stream and then dropped (the
/// last receiver, so the drop closes the channel), vs a send on another
/// thread: the send completes exactly when the value was handed to the
/// stream or buffered by its drop, else it gets the value back; never a
/// lost wake-up, and the value is dropped exactly once.
#[test]
fn last_stream_dropped_while_a_send_races_it() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let (created, dropped) = (Counter::default(), Counter::default());
        let (tx, mut rx) = mpmc::channel::<Output>(0);
        let sender = {
            let (created, dropped) = (created.clone(), dropped.clone());
            thread::spawn(move || block_on(tx.send(Output::new(4, &created, &dropped))).is_ok())
        };
        let (waker, _, _) = flag_waker();
        let got = match rx.poll_recv(&mut Context::from_waker(&waker)) {
            Poll::Ready(v) => v,
            Poll::Pending => {
                if rx.holds_message() {
                    seen.saw("handed to the stream, dropped with it");
                }
                None
            }
        };
        drop(rx);
        let sent = sender.join().unwrap();
        if got.is_some() {
            assert!(sent, "a received value came from a completed send");
        }
        if !sent {
            seen.saw("returned to the sender");
        }
        drop(got);
        assert_eq!((created.get(), dropped.get()), (1, 1), "the value dropped exactly once");
    });
    outcomes.assert_all_seen(&["handed to the stream, dropped with it", "returned to the sender"]);
}
