//! Spawning: storms of tiny tasks from outside and inside the runtime, deep
//! spawn chains, fan-out trees, spawning from `block_on`, `Handle::current`
//! inside tasks, and `weft::spawn` outside a runtime.
//!
//! Every storm counts each task with its own flag (an `AtomicU8` per task),
//! so a test fails if any task ran twice or never, not only if the total is
//! off.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use weft::{Handle, Runtime};

mod common;
use common::panic_message;

const MILLION: usize = 1_000_000;
/// Failure deadline for waiting on a storm (never reached when things work).
const DEADLINE: Duration = Duration::from_secs(120);

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Per-task run flags and a countdown that signals when every task ran.
struct Tally {
    ran: Box<[AtomicU8]>,
    remaining: AtomicUsize,
    done: Mutex<bool>,
    cv: Condvar,
}

impl Tally {
    fn new(n: usize) -> Arc<Tally> {
        Arc::new(Tally {
            ran: (0..n).map(|_| AtomicU8::new(0)).collect(),
            remaining: AtomicUsize::new(n),
            done: Mutex::new(false),
            cv: Condvar::new(),
        })
    }

    /// Task `i` ran.
    fn hit(&self, i: usize) {
        // Relaxed: the flag is only read after `wait`, which the AcqRel
        // countdown and the mutex order after every hit.
        self.ran[i].fetch_add(1, Ordering::Relaxed);
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.done.lock().unwrap() = true;
            self.cv.notify_all();
        }
    }

    /// Waits until as many hits as tasks arrived (or the deadline passed).
    #[track_caller]
    fn wait(&self) {
        let done = self.done.lock().unwrap();
        let (done, timeout) = self.cv.wait_timeout_while(done, DEADLINE, |d| !*d).unwrap();
        assert!(
            *done && !timeout.timed_out(),
            "tasks did not all run within {DEADLINE:?}: {} of {} missing",
            self.remaining.load(Ordering::SeqCst),
            self.ran.len()
        );
    }

    /// Every task ran exactly once.
    #[track_caller]
    fn assert_each_ran_once(&self) {
        let never: Vec<usize> =
            (0..self.ran.len()).filter(|&i| self.ran[i].load(Ordering::SeqCst) == 0).collect();
        let twice: Vec<usize> =
            (0..self.ran.len()).filter(|&i| self.ran[i].load(Ordering::SeqCst) > 1).collect();
        assert!(
            never.is_empty() && twice.is_empty(),
            "{} tasks never ran (first: {:?}), {} ran more than once (first: {:?})",
            never.len(),
            never.first(),
            twice.len(),
            twice.first()
        );
        assert_eq!(self.remaining.load(Ordering::SeqCst), 0);
    }
}

fn runtime(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).thread_name("spawn-test-worker").build().unwrap()
}

// ----- storms ------------------------------------------------------------------------

/// `n` tasks spawned through cloned handles from `threads` OS threads, all
/// detached; returns once every task ran, after the runtime is dropped (so a
/// late second run would also be seen).
fn storm_from_outside(rt: Runtime, threads: usize, n: usize) {
    let tally = Tally::new(n);
    let start = Arc::new(Barrier::new(threads));
    let spawners: Vec<_> = (0..threads)
        .map(|t| {
            let handle = rt.handle().clone();
            let tally = tally.clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                for i in (t..n).step_by(threads) {
                    let tally = tally.clone();
                    drop(handle.spawn(async move { tally.hit(i) }));
                }
            })
        })
        .collect();
    for s in spawners {
        s.join().unwrap();
    }
    tally.wait();
    let spawned = rt.metrics().spawned_tasks_count();
    drop(rt);
    tally.assert_each_ran_once();
    assert_eq!(spawned, n as u64, "spawned_tasks_count counts every spawn");
    assert_eq!(Arc::strong_count(&tally), 1, "every task's future was dropped");
}

/// `parents` tasks, each spawning `per_parent` children with `weft::spawn`
/// from inside the runtime.
fn storm_from_inside(rt: Runtime, parents: usize, per_parent: usize) {
    let n = parents * per_parent;
    let tally = Tally::new(n);
    let t = tally.clone();
    rt.spawn(async move {
        for p in 0..parents {
            let tally = t.clone();
            weft::spawn(async move {
                for c in 0..per_parent {
                    let tally = tally.clone();
                    weft::spawn(async move { tally.hit(p * per_parent + c) });
                    if c % 100 == 99 {
                        weft::task::yield_now().await;
                    }
                }
            });
        }
    });
    tally.wait();
    drop(rt);
    tally.assert_each_ran_once();
    assert_eq!(Arc::strong_count(&tally), 1, "every task's future was dropped");
}

#[test]
fn million_tasks_from_four_outside_threads_each_run_once() {
    storm_from_outside(runtime(2), 4, MILLION);
}

#[test]
fn million_tasks_from_inside_tasks_each_run_once() {
    storm_from_inside(runtime(2), 1_000, 1_000);
}

#[test]
fn eight_workers_on_two_cores_million_tasks_from_four_outside_threads() {
    storm_from_outside(runtime(8), 4, MILLION);
}

#[test]
fn eight_workers_on_two_cores_million_tasks_from_inside_tasks() {
    storm_from_inside(runtime(8), 1_000, 1_000);
}

#[test]
fn default_runtime_storm_from_outside_and_inside_at_once() {
    // Both kinds of spawn into one runtime at the same time.
    let rt = Runtime::new().unwrap();
    let n = 100_000;
    let tally = Tally::new(2 * n);
    let outside = {
        let handle = rt.handle().clone();
        let tally = tally.clone();
        thread::spawn(move || {
            for i in 0..n {
                let tally = tally.clone();
                drop(handle.spawn(async move { tally.hit(i) }));
            }
        })
    };
    let t = tally.clone();
    rt.spawn(async move {
        for i in n..2 * n {
            let tally = t.clone();
            weft::spawn(async move { tally.hit(i) });
        }
    });
    outside.join().unwrap();
    tally.wait();
    drop(rt);
    tally.assert_each_ran_once();
}

// ----- chains and trees ------------------------------------------------------------------

const CHAIN_DEPTH: usize = 10_000;

#[test]
fn deep_spawn_chain_without_awaiting_runs_each_link_once_in_order() {
    struct Chain {
        tally: Arc<Tally>,
        /// Depth of the last link that ran; each link checks its parent's.
        last: AtomicUsize,
        out_of_order: AtomicUsize,
    }
    fn link(chain: Arc<Chain>, depth: usize) {
        weft::spawn(async move {
            if chain.last.swap(depth, Ordering::SeqCst) != depth.wrapping_sub(1) {
                chain.out_of_order.fetch_add(1, Ordering::SeqCst);
            }
            if depth + 1 < CHAIN_DEPTH {
                link(chain.clone(), depth + 1);
            }
            chain.tally.hit(depth);
        });
    }
    let rt = runtime(2);
    let chain = Arc::new(Chain {
        tally: Tally::new(CHAIN_DEPTH),
        last: AtomicUsize::new(usize::MAX),
        out_of_order: AtomicUsize::new(0),
    });
    let c = chain.clone();
    rt.block_on(async move { link(c, 0) });
    chain.tally.wait();
    drop(rt);
    chain.tally.assert_each_ran_once();
    assert_eq!(chain.out_of_order.load(Ordering::SeqCst), 0, "a link ran before its parent");
    assert_eq!(chain.last.load(Ordering::SeqCst), CHAIN_DEPTH - 1);
}

#[test]
fn deep_spawn_chain_awaiting_each_link_returns_through_every_handle() {
    fn link(tally: Arc<Tally>, depth: usize) -> BoxFuture<usize> {
        Box::pin(async move {
            tally.hit(depth);
            if depth + 1 == CHAIN_DEPTH {
                return 1;
            }
            let below = weft::spawn(link(tally, depth + 1)).await.expect("link failed");
            below + 1
        })
    }
    let rt = runtime(2);
    let tally = Tally::new(CHAIN_DEPTH);
    let links = rt.block_on(rt.spawn(link(tally.clone(), 0))).unwrap();
    assert_eq!(links, CHAIN_DEPTH, "every link's output reached the root");
    drop(rt);
    tally.assert_each_ran_once();
    assert_eq!(Arc::strong_count(&tally), 1);
}

#[test]
fn deep_spawn_chain_awaiting_on_one_worker() {
    fn link(depth: usize) -> BoxFuture<usize> {
        Box::pin(async move {
            if depth == 0 {
                return 0;
            }
            weft::spawn(link(depth - 1)).await.unwrap() + 1
        })
    }
    let rt = runtime(1);
    assert_eq!(rt.block_on(async { weft::spawn(link(CHAIN_DEPTH)).await.unwrap() }), CHAIN_DEPTH);
}

/// Node `i` of a complete `FANOUT`-ary tree has children `i*FANOUT+1 ..= i*FANOUT+FANOUT`.
const FANOUT: usize = 10;
const TREE_DEPTH: u32 = 4;
const TREE_NODES: usize = (FANOUT.pow(TREE_DEPTH + 1) - 1) / (FANOUT - 1);
const TREE_LEAVES: usize = FANOUT.pow(TREE_DEPTH);

#[test]
fn fan_out_tree_awaiting_children_counts_every_leaf() {
    fn node(tally: Arc<Tally>, index: usize, depth: u32) -> BoxFuture<usize> {
        Box::pin(async move {
            tally.hit(index);
            if depth == 0 {
                return 1;
            }
            let children: Vec<_> = (1..=FANOUT)
                .map(|k| weft::spawn(node(tally.clone(), index * FANOUT + k, depth - 1)))
                .collect();
            let mut leaves = 0;
            for child in children {
                leaves += child.await.expect("child failed");
            }
            leaves
        })
    }
    let rt = runtime(2);
    let tally = Tally::new(TREE_NODES);
    let leaves = rt.block_on(rt.spawn(node(tally.clone(), 0, TREE_DEPTH))).unwrap();
    assert_eq!(leaves, TREE_LEAVES);
    drop(rt);
    tally.assert_each_ran_once();
}

#[test]
fn fan_out_tree_detached_runs_every_node_once() {
    fn node(tally: Arc<Tally>, index: usize, depth: u32) {
        weft::spawn(async move {
            if depth > 0 {
                for k in 1..=FANOUT {
                    node(tally.clone(), index * FANOUT + k, depth - 1);
                }
            }
            tally.hit(index);
        });
    }
    let rt = runtime(3);
    let tally = Tally::new(TREE_NODES);
    let t = tally.clone();
    rt.block_on(async move { node(t, 0, TREE_DEPTH) });
    tally.wait();
    drop(rt);
    tally.assert_each_ran_once();
}

// ----- where spawn works, and where it does not ----------------------------------------------

#[test]
fn spawn_from_inside_block_on_runs_on_a_worker() {
    let rt = runtime(2);
    let caller = thread::current().id();
    let (out, name, id) = rt.block_on(async {
        weft::spawn(async { (21 * 2, thread::current().name().map(String::from), thread::current().id()) })
            .await
            .unwrap()
    });
    assert_eq!(out, 42);
    assert_eq!(name.as_deref(), Some("spawn-test-worker"), "the task ran on a worker thread");
    assert_ne!(id, caller, "the task did not run on the block_on thread");
}

#[test]
fn spawn_inside_block_on_many_and_join_all() {
    let rt = runtime(2);
    let sum: u64 = rt.block_on(async {
        let handles: Vec<_> = (0..1_000u64).map(|i| weft::spawn(async move { i })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, 999 * 1_000 / 2);
}

#[test]
fn handle_current_inside_tasks_is_the_task_runtime() {
    let one = runtime(1);
    let three = runtime(3);
    let seen_one = one.block_on(one.spawn(async { Handle::current().metrics().num_workers() })).unwrap();
    let seen_three =
        three.block_on(three.spawn(async { Handle::current().metrics().num_workers() })).unwrap();
    assert_eq!((seen_one, seen_three), (1, 3));

    // Spawning through Handle::current() from a task lands on the same runtime.
    let before = three.metrics().spawned_tasks_count();
    let inner = three.spawn(async {
        let handle = Handle::current();
        let jobs: Vec<_> = (0..10).map(|i| handle.spawn(async move { i * 2 })).collect();
        let mut sum = 0;
        for j in jobs {
            sum += j.await.unwrap();
        }
        sum
    });
    assert_eq!(three.block_on(inner).unwrap(), 90);
    assert_eq!(three.metrics().spawned_tasks_count() - before, 11, "the task and its ten children");
    assert_eq!(one.metrics().spawned_tasks_count(), 1, "nothing leaked onto the other runtime");
    assert!(Handle::try_current().is_err(), "the test thread is in no runtime after block_on");
}

#[test]
fn handle_current_inside_block_on_and_after_enter() {
    let rt = runtime(2);
    assert_eq!(rt.block_on(async { Handle::current().metrics().num_workers() }), 2);
    assert!(Handle::try_current().is_err());
    {
        let _guard = rt.enter();
        assert!(Handle::try_current().is_ok());
        let join = weft::spawn(async { 5 });
        assert_eq!(rt.block_on(join).unwrap(), 5);
    }
    assert!(Handle::try_current().is_err(), "the enter guard popped the runtime");
}

#[test]
fn enter_inside_a_task_makes_the_entered_runtime_current() {
    let a = runtime(1);
    let b = Arc::new(Runtime::builder().worker_threads(3).build().unwrap());
    let b2 = b.clone();
    let (current, spawned_on_b) = a
        .block_on(a.spawn(async move {
            let before = b2.metrics().spawned_tasks_count();
            let _guard = b2.enter();
            let current = Handle::current().metrics().num_workers();
            drop(weft::spawn(async {}));
            (current, b2.metrics().spawned_tasks_count() - before)
        }))
        .unwrap();
    assert_eq!(current, 3, "Handle::current() inside the enter guard is the entered runtime");
    assert_eq!(spawned_on_b, 1, "weft::spawn inside the enter guard spawns onto the entered runtime");
}

#[test]
fn spawn_outside_a_runtime_panics_with_a_message() {
    let err =
        catch_unwind(|| drop(weft::spawn(async {}))).expect_err("weft::spawn outside a runtime must panic");
    let msg = panic_message(err.as_ref());
    assert!(msg.contains("outside a weft runtime"), "unexpected panic message: {msg:?}");

    let err = catch_unwind(Handle::current).expect_err("Handle::current outside a runtime must panic");
    let msg = panic_message(err.as_ref());
    assert!(msg.contains("outside a weft runtime"), "unexpected panic message: {msg:?}");
    assert!(Handle::try_current().is_err());
}

#[test]
fn spawn_after_enter_guard_dropped_panics_again() {
    let rt = runtime(1);
    let guard = rt.enter();
    let join = weft::spawn(async { 1 });
    drop(guard);
    let err = catch_unwind(AssertUnwindSafe(|| drop(weft::spawn(async {})))).expect_err("must panic");
    assert!(panic_message(err.as_ref()).contains("outside a weft runtime"));
    assert_eq!(rt.block_on(join).unwrap(), 1);
}

#[test]
fn spawn_from_a_plain_thread_inside_a_task_panics() {
    // A thread started by a task is not a worker: weft::spawn there panics,
    // while Handle::current() passed in works.
    let rt = runtime(1);
    let (plain, via_handle) = rt
        .block_on(rt.spawn(async {
            let handle = Handle::current();
            thread::spawn(move || {
                let plain = catch_unwind(|| drop(weft::spawn(async {}))).is_err();
                let join = handle.spawn(async { 3 });
                (plain, join)
            })
            .join()
            .unwrap()
        }))
        .unwrap();
    assert!(plain, "weft::spawn on a non-runtime thread must panic");
    assert_eq!(rt.block_on(via_handle).unwrap(), 3);
}

#[test]
fn task_ids_are_unique() {
    let rt = runtime(2);
    let handles: Vec<_> = (0..10_000).map(|_| rt.spawn(async {})).collect();
    let mut ids: Vec<u64> = handles.iter().map(|h| h.id().as_u64()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 10_000, "two tasks share an id");
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
}
