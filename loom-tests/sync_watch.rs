//! `sync::watch` (src/sync/watch.rs): a send or the sender's drop racing
//! a receiver going to sleep in `changed` (the version re-check under the
//! waiters' lock), and `Sender::closed` vs the last receiver's drop.
//! A lost wake-up is a loom deadlock in `block_on`.

use super::model_min_preemptions;
use super::sync_mpsc::block_on;
use crate::sync::watch;
use loom::thread;

/// A send on another thread vs `changed()`: it resolves, and the value
/// read after it is the one sent.
#[test]
fn send_races_changed() {
    model_min_preemptions(4, || {
        let (tx, mut rx) = watch::channel(0usize);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx
        });
        block_on(rx.changed()).unwrap();
        assert_eq!(*rx.borrow_and_update(), 1);
        drop(sender.join().unwrap());
        assert!(block_on(rx.changed()).is_err());
    });
}

/// Two sends then the sender's drop vs a receiver looping on `changed`:
/// it ends (no lost wake-up at the close) having seen the last value.
#[test]
fn sends_and_sender_drop_race_a_changed_loop() {
    model_min_preemptions(4, || {
        let (tx, mut rx) = watch::channel(0usize);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let mut last = 0;
        while block_on(rx.changed()).is_ok() {
            let v = *rx.borrow_and_update();
            assert!(v > last);
            last = v;
        }
        assert_eq!(last, 2, "the final change was missed");
        sender.join().unwrap();
    });
}

/// `Sender::closed` vs the last receiver's drop on another thread.
#[test]
fn closed_races_last_receiver_drop() {
    model_min_preemptions(4, || {
        let (tx, rx) = watch::channel(());
        let rx2 = rx.clone();
        let dropper = thread::spawn(move || drop(rx2));
        drop(rx);
        block_on(tx.closed());
        dropper.join().unwrap();
        assert!(tx.is_closed());
    });
}
