//! Runtime shutdown (docs/design/shutdown.md) racing work that arrives from
//! outside: a spawn through a `Handle` and a wake from a non-worker thread.
//! Whatever the interleaving, the future is dropped exactly once, the
//! `JoinHandle` resolves (output or cancelled), no `Notified` is left in
//! the injector and no task leaks (a leaked task holds the scheduler's
//! `Arc`, which loom's leak checker reports at the end of the iteration).
//!
//! After shutdown nobody can drive the dead runtime, so the handle is
//! polled once by hand with a no-op waker and must be ready.

use super::{model, poll_once, Counter, DropCount, Outcomes, Output};
use crate::loom::sync::atomic::{AtomicBool, Ordering::Relaxed};
use crate::loom::sync::{Arc, Mutex};
use crate::task::JoinHandle;
use crate::Runtime;
use loom::thread;
use std::future::Future;
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
