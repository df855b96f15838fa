//! The leak check of task dumps (`Snapshot::is_leaked_if_listed`, one load
//! of the state word while the task is listed) racing the one stored
//! waker of an idle task and its handles (docs/design/dump.md, "Leaks").
//!
//! What the models check: the check never reports a task that is woken or
//! polled afterwards, and never a task of which a waker exists (however
//! the `JoinHandle` and `AbortHandle`s come and go around it); at rest it
//! reports exactly the task whose last waker was dropped unwoken. Small
//! enough to search with twenty preemptions in well under a second.

use super::super::{model_min_preemptions, Outcomes};
use super::{expect_ready, Probe, Toy};
use crate::loom::sync::atomic::Ordering::Relaxed;
use loom::thread;

/// The dump's read: the state word of the listed task, under the list's
/// lock (the toy's one-slot list), so the list's reference is in it.
fn reported_leaked(toy: &Toy) -> bool {
    let owned = toy.0.owned.lock();
    owned.as_ref().is_some_and(|t| t.raw().state().load().is_leaked_if_listed())
}

/// What the waker thread does with the waker that poll 1 stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    WakeByVal,
    WakeByRefThenDrop,
    /// Clone it, drop the original, wake through the clone.
    CloneThenWake,
    /// Drop it unwoken: the task is leaked from then on.
    Drop,
}

/// Poll 1 stores a waker; one thread finishes with that waker (`fate`)
/// and then runs whatever it queued (poll 2, which sees the flag and
/// completes), while the main thread runs the leak check.
fn leak_check_races_waker(fate: Fate) {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(20, move || {
        let toy = Toy::new();
        let probe = Probe::new();
        let mut join = toy.spawn(probe.future(None));
        assert!(toy.run_one());
        assert!(!reported_leaked(&toy), "poll 1 stored a waker");
        let waker = probe.take_waker();

        let waker_thread = {
            let (toy, flag) = (toy.clone(), probe.flag.clone());
            thread::spawn(move || {
                if fate != Fate::Drop {
                    flag.store(true, Relaxed);
                }
                match fate {
                    Fate::WakeByVal => waker.wake(),
                    Fate::WakeByRefThenDrop => {
                        waker.wake_by_ref();
                        drop(waker);
                    }
                    Fate::CloneThenWake => {
                        let clone = waker.clone();
                        drop(waker);
                        clone.wake();
                    }
                    Fate::Drop => drop(waker),
                }
                toy.drain();
            })
        };
        let reported = reported_leaked(&toy);
        waker_thread.join().unwrap();
        toy.drain();

        if reported {
            assert_eq!(fate, Fate::Drop, "reported leaked, yet it was woken");
        }
        if fate == Fate::Drop {
            assert_eq!(probe.polls.get(), 1, "a task whose only waker was dropped was polled again");
            assert!(reported_leaked(&toy), "at rest, a task with no waker is reported");
            seen.saw(if reported { "reported" } else { "not yet" });
            // Shutdown still cancels it.
            toy.take_owned().expect("listed").shutdown();
            assert!(expect_ready(&mut join).unwrap_err().is_cancelled());
        } else {
            assert_eq!(probe.polls.get(), 2, "the wake was lost");
            let out = expect_ready(&mut join).expect("completed");
            assert_eq!(out.value, 2);
        }
        drop(join);
        probe.assert_dropped_once();
        toy.assert_freed();
    });
    if fate == Fate::Drop {
        outcomes.assert_all_seen(&["not yet", "reported"]);
    }
}

#[test]
fn leak_check_races_wake_by_val() {
    leak_check_races_waker(Fate::WakeByVal);
}

#[test]
fn leak_check_races_wake_by_ref() {
    leak_check_races_waker(Fate::WakeByRefThenDrop);
}

#[test]
fn leak_check_races_waker_clone_and_wake() {
    leak_check_races_waker(Fate::CloneThenWake);
}

#[test]
fn leak_check_races_waker_drop() {
    leak_check_races_waker(Fate::Drop);
}

/// A waker stays stored while one thread drops the `JoinHandle` (which
/// clears JOIN_INTEREST before it gives its reference up) and another
/// clones and drops an `AbortHandle`: whatever the interleaving, the
/// check must not mistake the waker's reference for a handle's. Once the
/// stored waker is dropped, the task is reported.
#[test]
fn leak_check_counts_handles_that_race_it() {
    model_min_preemptions(20, || {
        let toy = Toy::new();
        let probe = Probe::new();
        let join = toy.spawn(probe.future(None));
        assert!(toy.run_one());
        let abort = join.abort_handle();

        let join_thread = thread::spawn(move || drop(join));
        let abort_thread = thread::spawn(move || {
            let clone = abort.clone();
            drop(abort);
            drop(clone);
        });
        assert!(!reported_leaked(&toy), "a waker exists");
        join_thread.join().unwrap();
        abort_thread.join().unwrap();
        assert!(!reported_leaked(&toy), "a waker exists");

        probe.clear_slot();
        assert!(reported_leaked(&toy), "the only waker is gone");
        toy.take_owned().expect("listed").shutdown();
        assert_eq!(probe.polls.get(), 1);
        probe.assert_dropped_once();
        toy.assert_freed();
    });
}
