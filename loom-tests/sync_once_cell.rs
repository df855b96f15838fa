//! `sync::OnceCell` (`src/sync/once_cell.rs`, docs/design/sync.md): two
//! initializers racing (exactly one init function runs, both get its
//! value), and an initializer cancelled while its init function is
//! pending, racing a second caller (the second one initializes; nobody
//! waits forever).
//!
//! Waiting uses `sync_semaphore::block_on` (a lost wake-up is loom's
//! "deadlock"). Counters are std atomics: bookkeeping, not protocol.

use super::sync_semaphore::block_on;
use super::{model_min_preemptions, Outcomes};
use crate::loom::sync::Arc;
use crate::sync::OnceCell;
use loom::thread;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// Two callers of `get_or_init` on two threads: one init function runs,
/// and both return its value.
#[test]
fn initializers_race_and_one_runs() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(3, move || {
        let cell = Arc::new(OnceCell::new());
        let runs = std::sync::Arc::new(AtomicUsize::new(0));
        let other = {
            let (cell, runs) = (cell.clone(), runs.clone());
            thread::spawn(move || {
                *block_on(cell.get_or_init(|| async move {
                    runs.fetch_add(1, SeqCst);
                    1
                }))
            })
        };
        let here = *block_on(cell.get_or_init(|| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, SeqCst);
                2
            }
        }));
        let there = other.join().unwrap();
        assert_eq!(runs.load(SeqCst), 1, "init functions run");
        assert_eq!(here, there, "both callers get the one value");
        seen.saw(if here == 1 { "other thread won" } else { "main thread won" });
    });
    outcomes.assert_all_seen(&["other thread won", "main thread won"]);
}

/// A caller whose init function never completes is dropped after one
/// poll, racing a second caller: the second caller initializes the cell
/// (its own value), whether the first held the permit, queued behind it,
/// or found the cell already set.
#[test]
fn a_cancelled_initializer_hands_over() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(3, move || {
        let cell: Arc<OnceCell<u32>> = Arc::new(OnceCell::new());
        let canceller = {
            let (cell, seen) = (cell.clone(), seen.clone());
            thread::spawn(move || {
                let mut init = Box::pin(cell.get_or_init(std::future::pending::<u32>));
                match super::poll_once(&mut init) {
                    std::task::Poll::Ready(v) => {
                        assert_eq!(*v, 2);
                        seen.saw("found the value");
                    }
                    std::task::Poll::Pending => seen.saw("cancelled while pending"),
                }
                drop(init);
            })
        };
        let value = *block_on(cell.get_or_init(|| async { 2 }));
        canceller.join().unwrap();
        assert_eq!(value, 2);
        assert_eq!(cell.get(), Some(&2));
    });
    outcomes.assert_all_seen(&["found the value", "cancelled while pending"]);
}
