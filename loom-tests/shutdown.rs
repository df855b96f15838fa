//! Runtime shutdown (docs/design/shutdown.md) racing work that arrives from
//! outside: a spawn through a `Handle` and a wake from a non-worker thread.
//! Whatever the interleaving, the future is dropped exactly once, the
//! `JoinHandle` resolves (output or cancelled), no `Notified` is left in
//! the injector and no task leaks (a leaked task holds the scheduler's
//! `Arc`, which loom's leak checker reports at the end of the iteration).
//!
//! After shutdown nobody can drive the dead runtime, so the handle is
//! polled once by hand with a no-op waker and must be ready.
//!
//! Also: two drains of the owned list racing (an exiting worker's and the
//! shutting-down thread's), and `shutdown_timeout(0)` racing the workers'
//! exit paths.

use super::{model, model_min_preemptions, poll_once, Counter, DropCount, Outcomes, Output};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::rt::task::list::OwnedTasks;
use crate::rt::task::{new_task, JoinHandle, Notified, RawTask, Schedule, Task};
use crate::Runtime;
use loom::thread;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

fn runtime() -> Runtime {
    Runtime::builder().worker_threads(2).build().expect("loom runtime")
}

struct Counts {
    future_drops: Counter,
    outputs_created: Counter,
    outputs_dropped: Counter,
}

impl Counts {
    fn new() -> Counts {
        Counts {
            future_drops: Counter::default(),
            outputs_created: Counter::default(),
            outputs_dropped: Counter::default(),
        }
    }

    /// The handle must be resolved; checks the output or the cancellation
    /// against the counters, then that everything was dropped once.
    fn check_resolved(&self, mut join: JoinHandle<Output>, seen: &Outcomes) {
        match poll_once(&mut join) {
            Poll::Ready(Ok(out)) => {
                assert_eq!(out.value, 1);
                assert_eq!(self.outputs_created.get(), 1);
                seen.saw("completed");
            }
            Poll::Ready(Err(e)) => {
                assert!(e.is_cancelled(), "{e:?}");
                assert_eq!(self.outputs_created.get(), 0, "cancelled, yet an output was produced");
                seen.saw("cancelled");
            }
            Poll::Pending => panic!("JoinHandle not resolved after the runtime shut down"),
        }
        drop(join);
        assert_eq!(self.future_drops.get(), 1, "the future was not dropped exactly once");
        assert_eq!(self.outputs_dropped.get(), self.outputs_created.get(), "output not dropped exactly once");
    }
}

/// `Handle::spawn` on one thread while the main thread drops the runtime:
/// the spawn lands before the owned list closes (run, or cancelled by the
/// drain) or after (cancelled by `bind` on the spawning thread), and its
/// injector push lands before the final drain or sees SHUTDOWN and drains
/// itself.
#[test]
fn spawn_races_shutdown() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let rt = runtime();
        let counts = Counts::new();
        let spawner = {
            let handle = rt.handle().clone();
            let guard = DropCount(counts.future_drops.clone());
            let (created, dropped) = (counts.outputs_created.clone(), counts.outputs_dropped.clone());
            thread::spawn(move || {
                handle.spawn(async move {
                    let _guard = guard;
                    Output::new(1, &created, &dropped)
                })
            })
        };
        drop(rt);
        let join = spawner.join().unwrap();
        counts.check_resolved(join, &seen);
    });
    outcomes.assert_all_seen(&["completed", "cancelled"]);
}

/// A one-shot signal (as in `sleep.rs`): Relaxed flag + registered waker.
#[derive(Clone)]
struct Signal {
    flag: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Signal {
    fn set(&self) {
        self.flag.store(true, Relaxed);
        let waker = self.waker.lock().take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

struct Wait {
    signal: Signal,
    _drop: DropCount,
}

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.signal.waker.lock() = Some(cx.waker().clone());
        if self.signal.flag.load(Relaxed) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// A task waiting on a signal is woken from a non-worker thread (a remote
/// wake: injector push + `Idle::notify`) while the main thread drops the
/// runtime. The waker held by the signal must not keep the task alive after
/// it is dropped: the task completes or is cancelled, and the waker's
/// reference is the last one freed.
#[test]
fn remote_wake_races_shutdown() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let rt = runtime();
        let counts = Counts::new();
        let signal = Signal { flag: Arc::new(AtomicBool::new(false)), waker: Arc::new(Mutex::new(None)) };
        let join = {
            let wait = Wait { signal: signal.clone(), _drop: DropCount(counts.future_drops.clone()) };
            let (created, dropped) = (counts.outputs_created.clone(), counts.outputs_dropped.clone());
            rt.spawn(async move {
                wait.await;
                Output::new(1, &created, &dropped)
            })
        };
        let waker_thread = {
            let signal = signal.clone();
            thread::spawn(move || signal.set())
        };
        drop(rt);
        waker_thread.join().unwrap();
        // A waker registered after `set` took the slot: drop it now (it
        // holds a task reference; the task is complete or cancelled).
        drop(signal.waker.lock().take());
        counts.check_resolved(join, &seen);
    });
    outcomes.assert_all_seen(&["completed", "cancelled"]);
}

// ----- drains racing at shutdown ----------------------------------------------

/// A scheduler whose only structure is a real owned list (two shards): the
/// tasks are never run, only bound and drained.
#[derive(Clone)]
struct ListOnly(Arc<OwnedTasks>);

impl Schedule for ListOnly {
    fn schedule(&self, task: Notified) {
        drop(task);
    }

    fn release(&self, task: RawTask) -> Option<Task> {
        self.0.remove(task)
    }
}

/// Counts drops in a loom atomic: loom's search only reorders what it can
/// see, and the verdict here is exactly when the drop happens relative to
/// the waiter's check (a std counter would let it treat the two as
/// independent and never try the order that matters).
struct LoomDrop(Arc<AtomicUsize>);

impl Drop for LoomDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Two drains of the owned list race, as an exiting worker's and the
/// shutting-down thread's do. Two idle tasks sit in different shards. The
/// thread that shuts down drains, then waits for the other drains: when it
/// returns, both futures are dropped, whichever drain took which shard
/// (including the case where the other drain emptied a shard and is still
/// cancelling its task when ours finds the shard empty).
#[test]
fn two_drains_race_and_the_waiter_sees_every_task_cancelled() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(3, move || {
        let owned = Arc::new(OwnedTasks::new(2));
        let sched = ListOnly(owned.clone());
        let dropped = Arc::new(AtomicUsize::new(0));
        let joins: Vec<JoinHandle<()>> = (0..2)
            .map(|_| {
                let guard = LoomDrop(dropped.clone());
                let (task, notified, join) = new_task(
                    async move {
                        let _guard = guard;
                        std::future::pending::<()>().await
                    },
                    sched.clone(),
                    Location::caller(),
                );
                drop(owned.bind(task, notified).expect("the list is open"));
                join
            })
            .collect();
        drop(sched);
        let worker = {
            let owned = owned.clone();
            let dropped = dropped.clone();
            thread::spawn(move || {
                let before = dropped.load(SeqCst);
                owned.close_and_shutdown_all();
                dropped.load(SeqCst) > before
            })
        };
        owned.close_and_shutdown_all();
        owned.wait_for_drains();
        assert_eq!(dropped.load(SeqCst), 2, "shutdown returned before every idle task was cancelled");
        let worker_cancelled = worker.join().unwrap();
        seen.saw(if worker_cancelled { "the other drain cancelled a task" } else { "ours cancelled both" });
        for mut join in joins {
            match poll_once(&mut join) {
                Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{e:?}"),
                other => panic!("expected a cancelled task, got {other:?}"),
            }
        }
        assert_eq!(Arc::strong_count(&owned), 1, "a task cell (holding the list) was not freed");
    });
    outcomes.assert_all_seen(&["the other drain cancelled a task", "ours cancelled both"]);
}

// ----- shutdown with a timeout ---------------------------------------------------

/// `shutdown_timeout(0)` (as `shutdown_background`) does not wait for the
/// workers: it drains beside their exit paths, while a non-worker thread
/// wakes a task. Every future is dropped exactly once, the handles resolve
/// once the workers are gone, and nothing is leaked (a `Notified` left in
/// the injector would keep the scheduler's `Arc`, which loom reports).
#[test]
fn shutdown_timeout_zero_races_exiting_workers_and_a_remote_wake() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        // Each worker's on_thread_stop hook counts itself; the main thread
        // waits for both before it checks what can only be checked once
        // the workers are gone.
        let stopped = Arc::new((Mutex::new(0usize), Condvar::new()));
        let rt = {
            let stopped = stopped.clone();
            Runtime::builder()
                .worker_threads(2)
                .on_thread_stop(move || {
                    let (count, cv) = &*stopped;
                    *count.lock() += 1;
                    cv.notify_all();
                })
                .build()
                .expect("loom runtime")
        };
        let counts = Counts::new();
        let signal = Signal { flag: Arc::new(AtomicBool::new(false)), waker: Arc::new(Mutex::new(None)) };
        let join = {
            let wait = Wait { signal: signal.clone(), _drop: DropCount(counts.future_drops.clone()) };
            let (created, dropped) = (counts.outputs_created.clone(), counts.outputs_dropped.clone());
            rt.spawn(async move {
                wait.await;
                Output::new(1, &created, &dropped)
            })
        };
        let waker_thread = {
            let signal = signal.clone();
            thread::spawn(move || signal.set())
        };
        rt.shutdown_timeout(std::time::Duration::ZERO);
        waker_thread.join().unwrap();
        {
            let (count, cv) = &*stopped;
            let mut count = count.lock();
            while *count < 2 {
                count = cv.wait(count);
            }
        }
        drop(signal.waker.lock().take());
        counts.check_resolved(join, &seen);
    });
    outcomes.assert_all_seen(&["completed", "cancelled"]);
}
