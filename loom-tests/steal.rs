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
