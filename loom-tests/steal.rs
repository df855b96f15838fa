//! Work stealing against the owner's pop, on the mocked (mutex) queue with
//! `LOCAL_QUEUE_CAPACITY` = 4: a task spawns children into its worker's
//! runnext slot and local queue (a displaced runnext task is pushed back
//! and `notify_parked_local` may wake the other worker), the owner pops
//! them after its task returns `Pending`, the other worker steals half of
//! the queue. Every child runs exactly once and every future is dropped
//! exactly once.

use super::{model, Counter, DropCount, Outcomes};
use crate::loom::sync::{Arc, Mutex};
use crate::Runtime;
use loom::thread;

fn children_run_once(children: usize) {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let rt = Runtime::builder().worker_threads(2).build().expect("loom runtime");
        let runs: Vec<Counter> = (0..children).map(|_| Counter::default()).collect();
        let drops: Vec<Counter> = (0..children).map(|_| Counter::default()).collect();
        // (spawning worker thread, running worker thread) of each child.
        let threads = Arc::new(Mutex::new(Vec::new()));
        let parent = {
            let (runs, drops, threads) = (runs.clone(), drops.clone(), threads.clone());
            rt.spawn(async move {
                let joins: Vec<_> = runs
                    .into_iter()
                    .zip(drops)
                    .enumerate()
                    .map(|(i, (run, dropped))| {
                        let guard = DropCount(dropped);
                        let spawned_on = thread::current().id();
                        let threads = threads.clone();
                        crate::spawn(async move {
                            let _guard = guard;
                            run.incr();
                            threads.lock().push((spawned_on, thread::current().id()));
                            i
                        })
                    })
                    .collect();
                let mut sum = 0;
                for j in joins {
                    sum += j.await.expect("child ran");
                }
                sum
            })
        };
        let sum = rt.block_on(parent).expect("parent ran");
        assert_eq!(sum, (0..children).sum::<usize>());
        drop(rt);
        for (i, (run, dropped)) in runs.iter().zip(&drops).enumerate() {
            assert_eq!(run.get(), 1, "child {i} ran {} times", run.get());
            assert_eq!(dropped.get(), 1, "child {i}'s future dropped {} times", dropped.get());
        }
        let stolen = threads.lock().iter().any(|(spawned, ran)| spawned != ran);
        seen.saw(if stolen { "a child was stolen" } else { "the owner ran every child" });
    });
    outcomes.assert_all_seen(&["a child was stolen", "the owner ran every child"]);
}

/// Two children: the first is displaced from runnext into the local queue
/// (stealable), the second stays in runnext (not stealable).
#[test]
fn steal_races_pop() {
    children_run_once(2);
}

/// The runnext slot (`scheduler/runnext.rs`) between its owner and the
/// monitor: the owner puts two tasks in a row (the second displaces the
/// first, which the owner queues behind) and then takes; the monitor takes
/// at any point. Every task must come out exactly once, on one side or the
/// other, and be dropped exactly once.
#[test]
fn monitor_takes_runnext_from_a_running_owner() {
    use crate::rt::scheduler::runnext::Runnext;
    use crate::rt::task::{new_task, Notified, RawTask, Schedule, Task};
    use std::panic::Location;

    #[derive(Clone)]
    struct Nop;
    impl Schedule for Nop {
        fn schedule(&self, task: Notified) {
            drop(task);
        }
        fn release(&self, _: RawTask) -> Option<Task> {
            None
        }
    }

    // Tiny: search deeper than CI's bound.
    super::model_min_preemptions(4, || {
        let drops = [Counter::default(), Counter::default()];
        let mut notified = Vec::new();
        let mut ids = Vec::new();
        for d in &drops {
            let guard = DropCount(d.clone());
            let (task, n, join) = new_task(async move { drop(guard) }, Nop, Location::caller());
            ids.push(task.id());
            // The list's and the handle's references go; the Notified keeps
            // the task alive.
            drop(task);
            drop(join);
            notified.push(n);
        }
        let slot = Arc::new(Runnext::new());
        let thief = {
            let slot = slot.clone();
            thread::spawn(move || slot.steal().map(|t| t.0.id()))
        };
        let second = notified.pop().expect("two tasks");
        let first = notified.pop().expect("two tasks");
        let mut owner_got = Vec::new();
        assert!(slot.replace(first).is_none(), "the slot starts empty");
        if let Some(prev) = slot.replace(second) {
            owner_got.push(prev.0.id());
        }
        if let Some(t) = slot.take() {
            owner_got.push(t.0.id());
        }
        let stolen = thief.join().expect("thief");
        let mut all: Vec<_> = owner_got.into_iter().chain(stolen).collect();
        all.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(all, want, "every task comes out of the slot exactly once");
        assert!(slot.is_empty());
        for (i, d) in drops.iter().enumerate() {
            assert_eq!(d.get(), 1, "task {i}'s future dropped {} times", d.get());
        }
    });
}
