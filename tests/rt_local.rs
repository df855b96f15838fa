//! `task::LocalSet` and `task::spawn_local`: `!Send` tasks on the current
//! thread, woken locally and from other threads (timers, runtime tasks),
//! their results, cancellation on drop, the per-poll budget, and the panic
//! outside a set.

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

use weft::task::{spawn_local, yield_now, LocalSet};
use weft::Runtime;

mod common;
use common::panic_message;

const DEADLINE: Duration = Duration::from_secs(60);

fn runtime(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).build().unwrap()
}

fn noop_waker() -> Waker {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    Waker::from(Arc::new(Noop))
}

/// Records the thread that drops it (a `!Send` future's drop must happen on
/// the set's thread).
struct DropOn(Rc<RefCell<Vec<ThreadId>>>);

impl Drop for DropOn {
    fn drop(&mut self) {
        self.0.borrow_mut().push(thread::current().id());
    }
}

#[test]
fn a_thousand_tasks_share_an_rc_refcell() {
    const N: usize = 1_000;
    let rt = runtime(1);
    let local = LocalSet::new();
    let shared = Rc::new(RefCell::new(Vec::new()));
    let drops = Rc::new(RefCell::new(Vec::new()));
    let results = local.block_on(&rt, async {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let shared = shared.clone();
                let guard = DropOn(drops.clone());
                spawn_local(async move {
                    let _guard = guard;
                    yield_now().await;
                    shared.borrow_mut().push(i);
                    i * 2
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(results, (0..N).map(|i| i * 2).sum::<usize>());
    let mut seen = shared.borrow().clone();
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>(), "every task ran exactly once");
    let me = thread::current().id();
    assert_eq!(drops.borrow().len(), N, "every future dropped exactly once");
    assert!(drops.borrow().iter().all(|t| *t == me), "futures dropped on the set's thread");
    assert!(local.is_empty());
}

#[test]
#[cfg(feature = "time")]
fn local_task_wakes_from_a_timer() {
    let rt = runtime(2);
    let local = LocalSet::new();
    let start = std::time::Instant::now();
    let got = local.block_on(&rt, async {
        let not_send = Rc::new(Cell::new(0));
        let inner = not_send.clone();
        let h = spawn_local(async move {
            // The timer fires on a worker thread: a remote wake.
            weft::time::sleep(Duration::from_millis(20)).await;
            inner.set(7);
            inner.get()
        });
        h.await.unwrap() + not_send.get()
    });
    assert_eq!(got, 14);
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
fn local_task_awaits_a_runtime_task() {
    let rt = runtime(2);
    let local = LocalSet::new();
    let got = local.block_on(&rt, async {
        let gate: Arc<Mutex<(bool, Option<Waker>)>> = Arc::default();
        let worker_gate = gate.clone();
        // Runs on a worker; finishes only after the local task opened the
        // gate, so its completion wakes the local task from that worker.
        let remote = weft::spawn(async move {
            poll_fn(|cx| {
                let mut g = worker_gate.lock().unwrap();
                if g.0 {
                    Poll::Ready(())
                } else {
                    g.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            })
            .await;
            thread::current().id()
        });
        let rc = Rc::new(5);
        let local_task = spawn_local(async move {
            let waker = {
                let mut g = gate.lock().unwrap();
                g.0 = true;
                g.1.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
            let worker = remote.await.unwrap();
            (*rc, worker)
        });
        local_task.await.unwrap()
    });
    assert_eq!(got.0, 5);
    assert_ne!(got.1, thread::current().id(), "the runtime task ran on a worker");
}

#[test]
fn join_handles_return_outputs_including_non_send_ones() {
    let local = LocalSet::new();
    let rt = runtime(1);
    let (a, b) = local.block_on(&rt, async {
        let a = spawn_local(async { Rc::new("not Send") });
        let b = spawn_local(async { 40 + 2 });
        (a.await.unwrap(), b.await.unwrap())
    });
    assert_eq!((*a, b), ("not Send", 42));
}

#[test]
fn panics_come_back_as_join_errors() {
    let local = LocalSet::new();
    let rt = runtime(1);
    let err = local.block_on(&rt, async { spawn_local(async { panic!("local boom") }).await.unwrap_err() });
    assert!(err.is_panic());
    assert_eq!(panic_message(&*err.into_panic()), "local boom");
}

#[test]
fn dropping_the_set_cancels_its_tasks_on_its_thread() {
    const N: usize = 50;
    let rt = runtime(1);
    let drops = Rc::new(RefCell::new(Vec::new()));
    let local = LocalSet::new();
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let guard = DropOn(drops.clone());
            local.spawn_local(async move {
                let _guard = guard;
                pending::<()>().await
            })
        })
        .collect();
    // Let each task run once (and park forever).
    local.block_on(&rt, yield_now());
    assert_eq!(local.len(), N);
    drop(local);
    assert_eq!(drops.borrow().len(), N, "every future dropped exactly once, at the drop");
    let me = thread::current().id();
    assert!(drops.borrow().iter().all(|t| *t == me));
    let waker = noop_waker();
    for h in handles {
        match pin!(h).poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            other => panic!("expected a cancelled JoinError, got {other:?}"),
        }
    }
}

#[test]
fn abort_from_another_thread_drops_the_future_on_the_set_thread() {
    let rt = runtime(1);
    let local = LocalSet::new();
    let drops = Rc::new(RefCell::new(Vec::new()));
    let guard = DropOn(drops.clone());
    let h = local.spawn_local(async move {
        let _guard = guard;
        pending::<()>().await
    });
    let abort = h.abort_handle();
    let err = local.block_on(&rt, async move {
        yield_now().await; // the task runs once and parks
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            abort.abort();
            tx.send(()).unwrap();
        });
        rx.recv_timeout(DEADLINE).unwrap();
        h.await.unwrap_err()
    });
    assert!(err.is_cancelled());
    assert_eq!(*drops.borrow(), [thread::current().id()]);
}

#[test]
#[cfg(feature = "time")]
fn the_set_is_a_future_that_waits_for_every_task() {
    let rt = runtime(2);
    let local = LocalSet::new();
    let done = Rc::new(Cell::new(0));
    for i in 0..10u64 {
        let done = done.clone();
        local.spawn_local(async move {
            weft::time::sleep(Duration::from_millis(i)).await;
            // Tasks spawned from tasks count too.
            let done2 = done.clone();
            spawn_local(async move { done2.set(done2.get() + 1) });
            done.set(done.get() + 1);
        });
    }
    rt.block_on(local);
    assert_eq!(done.get(), 20);
}

#[test]
fn one_poll_runs_a_bounded_number_of_tasks() {
    const N: usize = 1_000;
    let local = LocalSet::new();
    let ran = Rc::new(Cell::new(0));
    for _ in 0..N {
        let ran = ran.clone();
        local.spawn_local(async move { ran.set(ran.get() + 1) });
    }
    let rt = runtime(1);
    let seen_at_second_poll = local.block_on(&rt, async {
        // First poll: yield (the set then runs its first batch and yields
        // too); the second poll sees how many ran in between.
        yield_now().await;
        ran.get()
    });
    assert!(seen_at_second_poll > 0, "the set ran nothing between the two polls");
    assert!(seen_at_second_poll < N, "one poll of the set ran all {N} tasks: no budget");
    // The rest runs when the set is driven again.
    rt.block_on(local);
    assert_eq!(ran.get(), N);
}

#[test]
fn a_busy_task_does_not_starve_run_until() {
    let rt = runtime(1);
    let local = LocalSet::new();
    local.spawn_local(async {
        loop {
            yield_now().await;
        }
    });
    assert_eq!(local.block_on(&rt, async { 5 }), 5);
    let v = local.block_on(&rt, async {
        yield_now().await;
        yield_now().await;
        6
    });
    assert_eq!(v, 6);
}

#[test]
fn spawn_local_outside_a_set_panics_with_a_message() {
    let err = catch_unwind(AssertUnwindSafe(|| {
        drop(spawn_local(async {}));
    }))
    .unwrap_err();
    let msg = panic_message(&*err);
    assert!(msg.contains("spawn_local called outside a LocalSet"), "{msg}");
    assert!(msg.contains("LocalSet::run_until"), "{msg}");
    // Inside a runtime task (not a set) too.
    let rt = runtime(1);
    let res = rt.block_on(rt.spawn(async {
        catch_unwind(AssertUnwindSafe(|| {
            drop(spawn_local(async {}));
        }))
        .is_err()
    }));
    assert!(res.unwrap());
}

#[test]
fn join_set_spawn_local() {
    let rt = runtime(1);
    let local = LocalSet::new();
    let total = local.block_on(&rt, async {
        let counter = Rc::new(Cell::new(0));
        let mut set = weft::task::JoinSet::new();
        for i in 0..100 {
            let counter = counter.clone();
            set.spawn_local(async move {
                yield_now().await;
                counter.set(counter.get() + 1);
                Rc::new(i)
            });
        }
        let mut sum = 0;
        while let Some(res) = set.join_next().await {
            sum += *res.unwrap();
        }
        assert_eq!(counter.get(), 100);
        sum
    });
    assert_eq!(total, (0..100).sum::<i32>());
}

/// A set driven inside a task of another set: when its per-poll budget is
/// spent it yields through the outer task's own waker (the harness's
/// yield mark, no wake), so the outer set runs the outer task's siblings
/// and then polls the inner set again until all of its tasks are done.
#[test]
fn a_set_nested_in_a_local_task_yields_to_its_siblings() {
    const N: usize = 1_000;
    let rt = runtime(1);
    let outer = LocalSet::new();
    let ran = Rc::new(Cell::new(0usize));
    let sibling_ticks = Rc::new(Cell::new(0usize));
    let ticks_while_inner_ran = outer.block_on(&rt, {
        let (ran, sibling_ticks) = (ran.clone(), sibling_ticks.clone());
        async move {
            let done = Rc::new(Cell::new(false));
            let sibling = spawn_local({
                let (ticks, done) = (sibling_ticks.clone(), done.clone());
                async move {
                    while !done.get() {
                        ticks.set(ticks.get() + 1);
                        yield_now().await;
                    }
                }
            });
            let nested = spawn_local({
                let (ran, ticks, done) = (ran.clone(), sibling_ticks.clone(), done.clone());
                async move {
                    let inner = LocalSet::new();
                    for _ in 0..N {
                        let ran = ran.clone();
                        inner.spawn_local(async move { ran.set(ran.get() + 1) });
                    }
                    let before = ticks.get();
                    inner.await;
                    done.set(true);
                    ticks.get() - before
                }
            });
            let ticks = nested.await.unwrap();
            sibling.await.unwrap();
            ticks
        }
    });
    assert_eq!(ran.get(), N, "every inner task runs exactly once");
    assert!(ticks_while_inner_ran > 0, "the inner set never yielded to the outer set's other task");
}
