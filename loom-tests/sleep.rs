//! The sleep protocol (docs/design/sleep.md) on a real 2-worker runtime:
//! work published while workers go to sleep must be picked up. A lost
//! wake-up shows as a loom deadlock (every thread blocked: the workers
//! parked, the main thread parked in `block_on`).
//!
//! Each model builds the runtime inside `loom::model`, so the worker
//! threads are loom threads (spawned through `crate::loom::thread::Builder`
//! with a name and, in one model, a stack size), the parkers are loom
//! condvars, and `block_on` parks the main thread with the same parker.

use super::{model, Counter, DropCount};
use crate::loom::sync::atomic::{AtomicBool, Ordering::Relaxed};
use crate::loom::sync::{Arc, Mutex};
use crate::Runtime;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

fn runtime() -> Runtime {
    Runtime::builder().worker_threads(2).build().expect("loom runtime")
}

/// A task spawned from outside the runtime (injector path) while both
/// workers start up, search and park; the main thread blocks on its
/// `JoinHandle`. Then the runtime is dropped (shutdown joins the workers).
#[test]
fn spawn_remote_races_park() {
    model(|| {
        let rt = Runtime::builder()
            .worker_threads(2)
            .thread_name("weft-loom")
            .thread_stack_size(1 << 20)
            .build()
            .expect("loom runtime");
        let dropped = Counter::default();
        let guard = DropCount(dropped.clone());
        let join = rt.spawn(async move {
            let _guard = guard;
            7
        });
        assert_eq!(rt.block_on(join).expect("task ran"), 7);
        drop(rt);
        assert_eq!(dropped.get(), 1, "the future was not dropped exactly once");
    });
}

/// A one-shot signal: `set` publishes (Relaxed flag; the wake must carry
/// it) and wakes the registered waker; `Wait` is pending until the flag is
/// set.
#[derive(Clone)]
struct Signal {
    flag: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Signal {
    fn new() -> Signal {
        Signal { flag: Arc::new(AtomicBool::new(false)), waker: Arc::new(Mutex::new(None)) }
    }

    fn set(&self) {
        self.flag.store(true, Relaxed);
        let waker = self.waker.lock().take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn wait(&self) -> Wait {
        Wait(self.clone())
    }
}

struct Wait(Signal);

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Register first, then check: a `set` after the check finds the
        // waker (the mutex orders the two).
        *self.0.waker.lock() = Some(cx.waker().clone());
        if self.0.flag.load(Relaxed) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// Task B, running on a worker, wakes task A, which may be not yet polled,
/// idle, or running on the other worker. The wake takes the worker path
/// (`schedule_task` with the worker's core): into B's runnext slot if A is
/// idle, or, if A is running on the other worker, NOTIFIED and A's worker
/// re-schedules it after the poll into its local queue (`yield_now` path,
/// `notify_parked_local`). Meanwhile the other worker may be going to sleep.
/// The main thread blocks on A; B is detached and its future must still be
/// dropped exactly once by the time the runtime is gone.
#[test]
fn wake_from_worker_races_park() {
    model(|| {
        let rt = runtime();
        let signal = Signal::new();
        let b_drops = Counter::default();
        let a = {
            let signal = signal.clone();
            rt.spawn(async move {
                signal.wait().await;
                1
            })
        };
        let guard = DropCount(b_drops.clone());
        drop(rt.spawn(async move {
            let _guard = guard;
            signal.set();
        }));
        assert_eq!(rt.block_on(a).expect("A ran"), 1);
        drop(rt);
        assert_eq!(b_drops.get(), 1, "B's future was not dropped exactly once");
    });
}

/// As above, but B first spawns a child (into its runnext slot), so its
/// wake of A displaces the child into the local queue: a stealable push
/// that takes `notify_parked_local` while the other worker may be parking.
/// The child must run (or be cancelled at shutdown) exactly once.
#[test]
fn wake_from_worker_local_queue() {
    model(|| {
        let rt = runtime();
        let signal = Signal::new();
        let child_drops = Counter::default();
        let a = {
            let signal = signal.clone();
            rt.spawn(async move {
                signal.wait().await;
                1
            })
        };
        let guard = DropCount(child_drops.clone());
        drop(rt.spawn(async move {
            drop(crate::spawn(async move {
                let _guard = guard;
            }));
            signal.set();
        }));
        assert_eq!(rt.block_on(a).expect("A ran"), 1);
        drop(rt);
        assert_eq!(child_drops.get(), 1, "the child's future was not dropped exactly once");
    });
}

/// A task spawns a child from inside a worker (runnext, no notify) and
/// awaits it: the child's completion wakes the parent through the join
/// waker from the worker, while the other worker searches and parks and
/// the main thread blocks on the parent.
#[test]
fn spawn_from_task_races_park() {
    model(|| {
        let rt = runtime();
        let parent = rt.spawn(async {
            let child = crate::spawn(async { 5 });
            child.await.expect("child ran") + 1
        });
        assert_eq!(rt.block_on(parent).expect("parent ran"), 6);
        drop(rt);
    });
}

/// A task woken from outside the runtime (the main thread) after it went
/// idle: the wake is a remote push into the injector racing both workers
/// going to sleep (`Idle::notify`'s RMW against `transition_to_parked`).
#[test]
fn remote_wake_races_park() {
    model(|| {
        let rt = runtime();
        let signal = Signal::new();
        let task = {
            let signal = signal.clone();
            rt.spawn(async move {
                signal.wait().await;
                3
            })
        };
        signal.set();
        assert_eq!(rt.block_on(task).expect("task ran"), 3);
        drop(rt);
    });
}
