//! `JoinSet`'s notified list (src/task/ready_list.rs): entry wakers fired by
//! completing tasks on other threads, racing `join_next` registering its
//! waker, and racing the set being dropped.
//!
//! Tasks are real tasks (the harness, the state word, the join waker) on a
//! toy scheduler whose queue the model's threads run by hand. Each model
//! ends by checking that every output was returned or dropped exactly once,
//! every future dropped exactly once, and (through loom's leak checker on
//! the loom `Arc`s of the list and its entries) that nothing was leaked: an
//! entry stuck on a dropped set's stack would keep the list alive.

use super::{flag_waker, model, Counter, DropCount, Outcomes, Output};
use crate::loom::sync::{Arc, Mutex};
use crate::rt::task::{new_task, Notified, RawTask, Schedule, Task};
use crate::task::JoinSet;
use loom::thread;
use std::collections::VecDeque;
use std::panic::Location;
use std::task::{Context, Poll};

/// Queues `Notified`s; the owned list is a vector of list references.
#[derive(Clone)]
struct Toy(Arc<ToyInner>);

struct ToyInner {
    queue: Mutex<VecDeque<Notified>>,
    owned: Mutex<Vec<Task>>,
}

impl Toy {
    fn new() -> Toy {
        Toy(Arc::new(ToyInner { queue: Mutex::new(VecDeque::new()), owned: Mutex::new(Vec::new()) }))
    }

    /// Spawns a task that finishes at its first poll with a counted output,
    /// into `set`.
    fn spawn_into(&self, set: &mut JoinSet<Output>, value: usize, counters: &Counters) {
        let created = counters.outputs_created.clone();
        let dropped = counters.outputs_dropped.clone();
        let guard = DropCount(counters.futures_dropped.clone());
        let future = async move {
            let _guard = guard;
            Output::new(value, &created, &dropped)
        };
        let (task, notified, join) = new_task(future, self.clone(), Location::caller());
        self.0.owned.lock().push(task);
        self.0.queue.lock().push_back(notified);
        let _abort = set.insert(join);
    }

    /// Pops and runs one queued task (outside the queue lock).
    fn run_one(&self) {
        let task = self.0.queue.lock().pop_front();
        if let Some(task) = task {
            task.run();
        }
    }

    fn assert_freed(self) {
        assert!(self.0.queue.lock().is_empty(), "a Notified was left in the queue");
        assert!(self.0.owned.lock().is_empty(), "a task is still listed");
        assert_eq!(Arc::strong_count(&self.0), 1, "a task's allocation was not freed");
    }
}

impl Schedule for Toy {
    fn schedule(&self, task: Notified) {
        self.0.queue.lock().push_back(task);
    }

    fn release(&self, task: RawTask) -> Option<Task> {
        let mut owned = self.0.owned.lock();
        let at = owned.iter().position(|t| t.raw() == task)?;
        Some(owned.swap_remove(at))
    }
}

#[derive(Default)]
struct Counters {
    outputs_created: Counter,
    outputs_dropped: Counter,
    futures_dropped: Counter,
}

impl Counters {
    fn assert_all_dropped_once(&self, tasks: usize) {
        assert_eq!(self.futures_dropped.get(), tasks, "every future dropped exactly once");
        assert_eq!(
            self.outputs_dropped.get(),
            self.outputs_created.get(),
            "every output dropped exactly once"
        );
    }
}

/// Polls `join_next` until it returns (a result or `None`) with a counting
/// waker; a `Pending` must have been followed by a wake (no lost wake-up)
/// before the next poll, which the caller arranges by joining the threads
/// that complete the tasks.
fn poll_next(set: &mut JoinSet<Output>, waker: &std::task::Waker) -> Poll<Option<usize>> {
    let mut cx = Context::from_waker(waker);
    set.poll_join_next(&mut cx).map(|res| res.map(|r| r.expect("the task finished").value))
}

/// One task completes on another thread while the owner's `join_next`
/// polls the entry (registering the entry's waker with the task), takes
/// the stack and registers its own waker. If that poll returned `Pending`,
/// the completion must have woken the owner, and the next poll must return
/// the result.
#[test]
fn completion_races_join_next_registration() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let toy = Toy::new();
        let counters = Counters::default();
        let mut set = JoinSet::new();
        toy.spawn_into(&mut set, 7, &counters);
        let runner = toy.clone();
        let th = thread::spawn(move || runner.run_one());
        let (waker, wakes, _) = flag_waker();
        let first = poll_next(&mut set, &waker);
        th.join().unwrap();
        match first {
            Poll::Ready(v) => {
                seen.saw("ready at once");
                assert_eq!(v, Some(7));
            }
            Poll::Pending => {
                seen.saw("pending, then woken");
                assert_eq!(wakes.get(), 1, "the completion did not wake join_next (lost wake-up)");
                assert_eq!(poll_next(&mut set, &waker), Poll::Ready(Some(7)));
            }
        }
        assert_eq!(poll_next(&mut set, &waker), Poll::Ready(None));
        drop(set);
        counters.assert_all_dropped_once(1);
        assert_eq!(counters.outputs_created.get(), 1);
        toy.assert_freed();
    });
    outcomes.assert_all_seen(&["ready at once", "pending, then woken"]);
}

/// Two tasks whose entries are registered complete on two threads while
/// the owner is in `join_next`: only the push that makes the stack
/// non-empty wakes the owner; the owner must still get both results
/// (the second push rides on the first one's wake).
#[test]
fn two_completions_race_join_next() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let toy = Toy::new();
        let counters = Counters::default();
        let mut set = JoinSet::new();
        toy.spawn_into(&mut set, 1, &counters);
        toy.spawn_into(&mut set, 2, &counters);
        let (waker, _, _) = flag_waker();
        // Register both entries' wakers (neither task has run).
        assert_eq!(poll_next(&mut set, &waker), Poll::Pending);
        let mut threads: Option<Vec<_>> = Some(
            (0..2)
                .map(|_| {
                    let runner = toy.clone();
                    thread::spawn(move || runner.run_one())
                })
                .collect(),
        );
        let mut got = Vec::new();
        loop {
            // A fresh waker per poll: only a wake after this poll's
            // registration counts.
            let (waker, wakes, _) = flag_waker();
            match poll_next(&mut set, &waker) {
                Poll::Ready(Some(v)) => got.push(v),
                Poll::Ready(None) => break,
                Poll::Pending => {
                    let ths = threads.take().expect("Pending after both tasks finished: a result is stuck");
                    ths.into_iter().for_each(|th| th.join().unwrap());
                    assert!(wakes.get() >= 1, "a completion was lost: nobody woke join_next");
                    seen.saw("waited");
                }
            }
        }
        if let Some(ths) = threads.take() {
            ths.into_iter().for_each(|th| th.join().unwrap());
            seen.saw("no wait");
        }
        got.sort();
        assert_eq!(got, vec![1, 2]);
        drop(set);
        counters.assert_all_dropped_once(2);
        toy.assert_freed();
    });
    outcomes.assert_all_seen(&["waited", "no wait"]);
}

/// A registered task completes on another thread while the owner drops the
/// set (abort all, drop the handles, close the list). The output is dropped
/// exactly once by whichever side ends up owning it, the future once, and
/// no entry is left on the closed stack (loom's leak check would report
/// the list and entry `Arc`s).
#[test]
fn completion_races_set_drop() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let toy = Toy::new();
        let counters = Counters::default();
        let mut set = JoinSet::new();
        toy.spawn_into(&mut set, 3, &counters);
        let (waker, _, _) = flag_waker();
        assert_eq!(poll_next(&mut set, &waker), Poll::Pending);
        let runner = toy.clone();
        let th = thread::spawn(move || runner.run_one());
        drop(set);
        th.join().unwrap();
        // The abort may have re-queued the task (if it had not run yet, the
        // queue holds one Notified which now cancels it).
        toy.run_one();
        seen.saw(if counters.outputs_created.get() == 1 { "completed" } else { "cancelled" });
        counters.assert_all_dropped_once(1);
        toy.assert_freed();
    });
    outcomes.assert_all_seen(&["completed", "cancelled"]);
}
