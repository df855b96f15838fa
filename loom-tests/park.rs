//! The worker parker (`src/rt/scheduler/park.rs`): a token made available by
//! `unpark` is never lost, whether it arrives before `park`, while the
//! parker takes its lock, or while it waits; and `park` returning carries
//! the unparker's earlier writes (the token's Release/Acquire pairing).
//! A lost token shows as a loom deadlock (the parked thread never wakes).

use super::model;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use crate::loom::sync::Arc;
use crate::rt::scheduler::park::Parker;
use loom::thread;

/// One `unpark` on another thread racing one `park`.
#[test]
fn unpark_races_park() {
    model(|| {
        let parker = Arc::new(Parker::new());
        let data = Arc::new(AtomicUsize::new(0));
        let unparker = {
            let (parker, data) = (parker.clone(), data.clone());
            thread::spawn(move || {
                data.store(1, Relaxed);
                parker.unpark();
            })
        };
        parker.park();
        assert_eq!(data.load(Relaxed), 1, "park returned without the unparker's write");
        unparker.join().unwrap();
    });
}

/// Two rounds, handshaken through a second parker: after a park that went
/// through the slow path (PARKED, condvar) the state is back to EMPTY, so
/// the next `park` blocks until the next `unpark` and does not return on a
/// stale token or miss the new one.
#[test]
fn park_unpark_two_rounds() {
    model(|| {
        let main = Arc::new(Parker::new());
        let other = Arc::new(Parker::new());
        let data = Arc::new(AtomicUsize::new(0));
        let th = {
            let (main, other, data) = (main.clone(), other.clone(), data.clone());
            thread::spawn(move || {
                data.store(1, Relaxed);
                main.unpark();
                other.park();
                data.store(2, Relaxed);
                main.unpark();
            })
        };
        main.park();
        assert!(data.load(Relaxed) >= 1);
        other.unpark();
        main.park();
        assert_eq!(data.load(Relaxed), 2, "second park returned on the first token");
        th.join().unwrap();
    });
}

/// Two unparkers racing one park: the tokens coalesce into one, the park
/// returns, and the parker is left usable (a later unpark/park pair works).
#[test]
fn two_unparks_race_park() {
    model(|| {
        let parker = Arc::new(Parker::new());
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let parker = parker.clone();
                thread::spawn(move || parker.unpark())
            })
            .collect();
        parker.park();
        for t in threads {
            t.join().unwrap();
        }
        parker.unpark();
        parker.park();
    });
}
