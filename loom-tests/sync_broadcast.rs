//! `sync::broadcast` (src/sync/broadcast.rs): sends and the last sender's
//! drop racing a receiver going to sleep (registration under the tail
//! lock), with a one-slot ring so the receiver may also lag. A lost
//! wake-up is a loom deadlock in `block_on`.

use super::sync_mpsc::block_on;
use super::{model_min_preemptions, Outcomes};
use crate::sync::broadcast::{self, error::RecvError};
use loom::thread;

/// Capacity 1: a sender sends 1 and 2 and drops, vs the receiver looping
/// on `recv`. Every value is received or counted as lagged, the last one
/// is always received, and `Closed` ends the loop.
#[test]
fn sends_and_close_race_recv_with_lag() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let (tx, mut rx) = broadcast::channel::<usize>(1);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let (mut got, mut lagged) = (Vec::new(), 0);
        loop {
            match block_on(rx.recv()) {
                Ok(v) => got.push(v),
                Err(RecvError::Lagged(n)) => lagged += n,
                Err(RecvError::Closed) => break,
            }
        }
        sender.join().unwrap();
        assert_eq!(got.last(), Some(&2), "the last value was missed");
        assert_eq!(got.len() as u64 + lagged, 2);
        seen.saw(if lagged == 0 { "both received" } else { "lagged" });
    });
    outcomes.assert_all_seen(&["both received", "lagged"]);
}
