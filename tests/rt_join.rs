//! `JoinHandle` and `JoinError`: outputs, abort in every state, detaching,
//! panics, and that a panic does not take its worker down.

use std::future::{pending, poll_fn};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use weft::task::{yield_now, JoinError};
use weft::Runtime;

mod common;
use common::panic_message;

const WORKER_NAME: &str = "join-test-worker";
const DEADLINE: Duration = Duration::from_secs(60);

fn runtime(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).thread_name(WORKER_NAME).build().unwrap()
}

/// Runs an empty task to completion. On a one-worker runtime, whose queues
/// are FIFO, every task spawned from outside before the fence has then had
/// its first poll (and finished it).
fn fence(rt: &Runtime) {
    rt.block_on(rt.spawn(async {})).unwrap();
}

/// Records, on drop, the name of the thread that dropped it.
struct DropSpy {
    drops: Arc<Mutex<Vec<Option<String>>>>,
}

impl DropSpy {
    fn new() -> (DropSpy, Arc<Mutex<Vec<Option<String>>>>) {
        let drops = Arc::new(Mutex::new(Vec::new()));
        (DropSpy { drops: drops.clone() }, drops)
    }
}

impl Drop for DropSpy {
    fn drop(&mut self) {
        self.drops.lock().unwrap().push(thread::current().name().map(String::from));
    }
}

/// The future was dropped exactly once, on one of the runtime's workers.
#[track_caller]
fn assert_dropped_once_on_worker(drops: &Mutex<Vec<Option<String>>>) {
    let drops = drops.lock().unwrap();
    assert_eq!(drops.len(), 1, "the future was dropped {} times", drops.len());
    let name = drops[0].as_deref().unwrap_or("<unnamed>");
    assert!(name.starts_with(WORKER_NAME), "the future was dropped on thread {name:?}, not on a worker");
}

// ----- outputs --------------------------------------------------------------------------

#[test]
fn join_handle_yields_the_output() {
    let rt = runtime(2);
    assert_eq!(rt.block_on(rt.spawn(async { 40 + 2 })).unwrap(), 42);
    assert_eq!(rt.block_on(rt.spawn(async { String::from("weft") })).unwrap(), "weft");
    let big = rt.block_on(rt.spawn(async { vec![7u8; 1 << 20] })).unwrap();
    assert!(big.len() == 1 << 20 && big.iter().all(|&b| b == 7));
    rt.block_on(rt.spawn(async {})).expect("a unit output");
}

#[test]
fn join_handle_awaited_from_inside_another_task() {
    let rt = runtime(2);
    let out = rt
        .block_on(rt.spawn(async {
            let inner = weft::spawn(async {
                yield_now().await;
                "inner"
            });
            (inner.await.unwrap(), "outer")
        }))
        .unwrap();
    assert_eq!(out, ("inner", "outer"));
}

#[test]
fn join_handle_sent_to_and_awaited_on_another_thread() {
    let rt = runtime(2);
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let task = rt.spawn(async move {
        // Blocks a worker until the handle has moved; a workload, not a sync.
        go_rx.recv().unwrap();
        99
    });
    let waiter = thread::spawn(move || {
        let other = runtime(1);
        other.block_on(task)
    });
    go_tx.send(()).unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), 99);
}

#[test]
fn join_handle_reports_the_task_id() {
    let rt = runtime(1);
    let a = rt.spawn(async {});
    let b = rt.spawn(async {});
    assert_ne!(a.id(), b.id());
    assert!(format!("{a:?}").contains(&a.id().to_string()));
    rt.block_on(async move {
        a.await.unwrap();
        b.await.unwrap();
    });
}

// ----- abort ------------------------------------------------------------------------------

#[test]
fn abort_idle_task_cancels_it_and_drops_the_future_on_a_worker() {
    let rt = runtime(1);
    let (spy, drops) = DropSpy::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let task = rt.spawn(async move {
        let _spy = spy;
        p.fetch_add(1, SeqCst);
        pending::<u32>().await
    });
    fence(&rt);
    assert_eq!(polls.load(SeqCst), 1, "the task had its first poll and is idle");
    assert!(!task.is_finished());
    task.abort();
    let id = task.id();
    let err = rt.block_on(task).expect_err("an aborted task yields an error");
    assert!(err.is_cancelled() && !err.is_panic());
    assert_eq!(err.id(), id);
    assert_eq!(polls.load(SeqCst), 1, "cancelling does not poll");
    assert_dropped_once_on_worker(&drops);
}

#[test]
fn abort_before_the_first_poll_never_polls() {
    let rt = runtime(1);
    let (hold_tx, hold_rx) = mpsc::channel::<()>();
    let (held_tx, held_rx) = mpsc::channel::<()>();
    // Occupy the only worker so the victim stays queued.
    let holder = rt.spawn(async move {
        held_tx.send(()).unwrap();
        hold_rx.recv().unwrap();
    });
    held_rx.recv().unwrap();
    let (spy, drops) = DropSpy::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let victim = rt.spawn(async move {
        let _spy = spy;
        p.fetch_add(1, SeqCst);
    });
    victim.abort();
    victim.abort();
    hold_tx.send(()).unwrap();
    rt.block_on(holder).unwrap();
    assert!(rt.block_on(victim).unwrap_err().is_cancelled());
    assert_eq!(polls.load(SeqCst), 0, "an aborted task was polled");
    assert_dropped_once_on_worker(&drops);
}

#[test]
fn abort_running_task_cancels_it_after_the_current_poll() {
    let rt = runtime(2);
    let (running_tx, running_rx) = mpsc::channel::<()>();
    let (resume_tx, resume_rx) = mpsc::channel::<()>();
    let (spy, drops) = DropSpy::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let task = rt.spawn(async move {
        let _spy = spy;
        poll_fn(move |_| {
            p.fetch_add(1, SeqCst);
            running_tx.send(()).unwrap();
            // Stay inside the poll until the test has aborted us.
            resume_rx.recv().unwrap();
            Poll::<()>::Pending
        })
        .await
    });
    running_rx.recv().unwrap();
    task.abort();
    assert!(!task.is_finished(), "the task is still inside its poll");
    assert!(drops.lock().unwrap().is_empty(), "abort must not drop a running future from another thread");
    resume_tx.send(()).unwrap();
    assert!(rt.block_on(task).unwrap_err().is_cancelled());
    assert_eq!(polls.load(SeqCst), 1);
    assert_dropped_once_on_worker(&drops);
}

#[test]
fn abort_running_task_that_completes_in_that_poll_keeps_the_output() {
    let rt = runtime(2);
    let (running_tx, running_rx) = mpsc::channel::<()>();
    let (resume_tx, resume_rx) = mpsc::channel::<()>();
    let task = rt.spawn(async move {
        running_tx.send(()).unwrap();
        resume_rx.recv().unwrap();
        "finished anyway"
    });
    running_rx.recv().unwrap();
    task.abort();
    resume_tx.send(()).unwrap();
    assert_eq!(rt.block_on(task).unwrap(), "finished anyway");
}

#[test]
fn abort_of_a_completed_task_keeps_its_output() {
    let rt = runtime(1);
    let (spy, drops) = DropSpy::new();
    let task = rt.spawn(async move {
        let _spy = spy;
        String::from("kept")
    });
    fence(&rt);
    assert!(task.is_finished());
    task.abort();
    task.abort();
    assert!(task.is_finished());
    assert_eq!(rt.block_on(task).unwrap(), "kept");
    assert_dropped_once_on_worker(&drops);
}

#[test]
fn abort_from_inside_another_task() {
    let rt = runtime(2);
    let (spy, drops) = DropSpy::new();
    let victim = rt.spawn(async move {
        let _spy = spy;
        pending::<()>().await
    });
    let err = rt
        .block_on(rt.spawn(async move {
            victim.abort();
            victim.await.unwrap_err()
        }))
        .unwrap();
    assert!(err.is_cancelled());
    assert_dropped_once_on_worker(&drops);
}

#[test]
fn abort_does_not_cancel_the_tasks_children() {
    let rt = runtime(2);
    let (child_tx, child_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (spawned_tx, spawned_rx) = mpsc::channel::<()>();
    let parent = rt.spawn(async move {
        let child = weft::spawn(async move {
            go_rx.recv().unwrap();
            child_tx.send("child done").unwrap();
        });
        spawned_tx.send(()).unwrap();
        child.await.unwrap();
    });
    // The parent awaits its child; abort the parent only.
    spawned_rx.recv().unwrap();
    parent.abort();
    assert!(rt.block_on(parent).unwrap_err().is_cancelled());
    go_tx.send(()).unwrap();
    assert_eq!(child_rx.recv_timeout(DEADLINE).unwrap(), "child done");
}

#[test]
fn abort_racing_completion_yields_output_or_cancelled_and_drops_each_future_once() {
    let rt = runtime(2);
    let drops = Arc::new(AtomicUsize::new(0));
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let n = 2_000;
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let guard = Count(drops.clone());
            rt.spawn(async move {
                let _guard = guard;
                for _ in 0..i % 4 {
                    yield_now().await;
                }
                i
            })
        })
        .collect();
    for h in handles.iter().step_by(2) {
        h.abort();
    }
    let (mut ok, mut cancelled) = (0, 0);
    rt.block_on(async {
        for (i, h) in handles.into_iter().enumerate() {
            match h.await {
                Ok(v) => {
                    assert_eq!(v, i);
                    ok += 1;
                }
                Err(e) => {
                    assert!(e.is_cancelled(), "{e}");
                    assert_eq!(i % 2, 0, "task {i} was cancelled but never aborted");
                    cancelled += 1;
                }
            }
        }
    });
    assert_eq!(ok + cancelled, n);
    drop(rt);
    assert_eq!(drops.load(SeqCst), n, "every future dropped exactly once");
}

// ----- is_finished and detaching ------------------------------------------------------------

#[test]
fn is_finished_tracks_completion() {
    let rt = runtime(1);
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let waiting = rt.spawn(async move {
        poll_fn(move |cx| match go_rx.try_recv() {
            Ok(()) => Poll::Ready(()),
            Err(_) => {
                // Re-poll later: a yield through the waker.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    });
    let done = rt.spawn(async { 1 });
    let forever = rt.spawn(pending::<()>());
    // Not `fence`: `waiting` yields on every poll, so the worker's tick
    // reaches a multiple of GLOBAL_POLL_INTERVAL quickly and may run the
    // fence task from the injector ahead of `done` in its local queue.
    let start = std::time::Instant::now();
    while !done.is_finished() {
        assert!(start.elapsed() < DEADLINE, "a completed task never reports finished");
        std::thread::yield_now();
    }
    fence(&rt);
    assert!(!forever.is_finished(), "a pending task is not finished");
    assert!(!waiting.is_finished());
    go_tx.send(()).unwrap();
    rt.block_on(waiting).unwrap();
    forever.abort();
    let start = std::time::Instant::now();
    while !forever.is_finished() {
        assert!(start.elapsed() < DEADLINE, "the aborted task never finished");
        thread::yield_now();
    }
    assert!(rt.block_on(forever).unwrap_err().is_cancelled());
    assert_eq!(rt.block_on(done).unwrap(), 1);
}

#[test]
fn dropping_the_handle_detaches_the_task() {
    let rt = runtime(2);
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    let (spy, drops) = DropSpy::new();
    let task = rt.spawn(async move {
        let _spy = spy;
        // Wait (without blocking the worker) until the handle is gone.
        poll_fn(move |cx| match go_rx.try_recv() {
            Ok(()) => Poll::Ready(()),
            Err(_) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await;
        yield_now().await;
        done_tx.send("ran to completion").unwrap();
    });
    drop(task);
    go_tx.send(()).unwrap();
    assert_eq!(done_rx.recv_timeout(DEADLINE).unwrap(), "ran to completion");
    drop(rt);
    assert_dropped_once_on_worker(&drops);
}

#[test]
fn detached_tasks_all_complete() {
    let rt = runtime(2);
    let n = 10_000;
    let (tx, rx) = mpsc::channel();
    for i in 0..n {
        let tx = tx.clone();
        drop(rt.spawn(async move {
            yield_now().await;
            tx.send(i).unwrap();
        }));
    }
    drop(tx);
    let mut seen = vec![false; n];
    for _ in 0..n {
        let i = rx.recv_timeout(DEADLINE).expect("a detached task never completed");
        assert!(!seen[i], "task {i} completed twice");
        seen[i] = true;
    }
}

// ----- panics --------------------------------------------------------------------------------

#[test]
fn panic_becomes_a_join_error_with_the_payload() {
    let rt = runtime(2);
    let task = rt.spawn(async {
        panic!("boom {}", std::hint::black_box(42));
    });
    let id = task.id();
    let err: JoinError = rt.block_on(task).unwrap_err();
    assert!(err.is_panic() && !err.is_cancelled());
    assert_eq!(err.id(), id);
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("boom 42"));

    let task = rt.spawn(async { panic!("static boom") });
    let payload = rt.block_on(task).unwrap_err().try_into_panic().expect("a panic payload");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"static boom"));

    #[derive(Debug, PartialEq)]
    struct Custom(u32);
    let task = rt.spawn(async { std::panic::panic_any(Custom(7)) });
    let payload = rt.block_on(task).unwrap_err().into_panic();
    assert_eq!(payload.downcast_ref::<Custom>(), Some(&Custom(7)));
}

#[test]
fn panic_after_an_await_becomes_a_join_error() {
    let rt = runtime(2);
    let (spy, drops) = DropSpy::new();
    let task = rt.spawn(async move {
        let _spy = spy;
        yield_now().await;
        yield_now().await;
        panic!("late boom");
    });
    let err = rt.block_on(task).unwrap_err();
    assert_eq!(panic_message(err.into_panic().as_ref()), "late boom");
    assert_dropped_once_on_worker(&drops);
}

#[test]
fn cancelled_error_has_no_panic_payload() {
    let rt = runtime(1);
    let task = rt.spawn(pending::<()>());
    task.abort();
    let err = rt.block_on(task).unwrap_err();
    let err = err.try_into_panic().expect_err("a cancelled task has no payload");
    assert!(err.is_cancelled());
    let msg =
        catch_unwind(AssertUnwindSafe(move || drop(err.into_panic()))).expect_err("into_panic must panic");
    assert!(panic_message(msg.as_ref()).contains("is_panic"), "the message should say what to check");
}

#[test]
fn worker_survives_a_panicking_task() {
    let rt = runtime(1);
    let before = rt.block_on(rt.spawn(async { thread::current().id() })).unwrap();
    for round in 0..5 {
        let task = rt.spawn(async move { panic!("round {round}") });
        assert!(rt.block_on(task).unwrap_err().is_panic());
    }
    let ran = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..100)
        .map(|_| {
            let ran = ran.clone();
            rt.spawn(async move {
                ran.fetch_add(1, SeqCst);
                thread::current().id()
            })
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            assert_eq!(h.await.unwrap(), before, "the same worker thread runs tasks after the panics");
        }
    });
    assert_eq!(ran.load(SeqCst), 100);
    assert_eq!(rt.metrics().num_workers(), 1);
}

#[test]
fn panicking_destructor_of_an_aborted_future_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("destructor boom");
        }
    }
    let rt = runtime(1);
    let task = rt.spawn(async {
        let _bomb = PanicOnDrop;
        pending::<()>().await
    });
    fence(&rt);
    task.abort();
    let err = rt.block_on(task).unwrap_err();
    assert!(err.is_panic(), "a destructor panic during cancel is reported as a panic: {err:?}");
    assert_eq!(panic_message(err.into_panic().as_ref()), "destructor boom");
    // The worker is still alive.
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
}

#[test]
fn panicking_output_destructor_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("output destructor boom");
        }
    }
    let rt = runtime(1);
    // Handle dropped before completion: the worker drops the output.
    drop(rt.spawn(async { PanicOnDrop }));
    fence(&rt);
    // Handle dropped after completion: the dropping thread drops it.
    let task = rt.spawn(async { PanicOnDrop });
    fence(&rt);
    drop(task);
    assert_eq!(rt.block_on(rt.spawn(async { 6 })).unwrap(), 6);
}

// ----- JoinError formatting ------------------------------------------------------------------------

#[test]
fn join_error_display_and_debug_mention_the_id() {
    let rt = runtime(1);
    let task = rt.spawn(async { panic!("formatted boom") });
    let id = task.id();
    let err = rt.block_on(task).unwrap_err();
    let (display, debug) = (format!("{err}"), format!("{err:?}"));
    for s in [&display, &debug] {
        assert!(s.contains(&id.to_string()), "{s:?} does not mention task id {id}");
        assert!(s.contains("formatted boom"), "{s:?} does not show the panic message");
    }
    assert!(display.contains("panicked"), "{display:?}");

    let task = rt.spawn(pending::<()>());
    let id = task.id();
    task.abort();
    let err = rt.block_on(task).unwrap_err();
    let (display, debug) = (format!("{err}"), format!("{err:?}"));
    for s in [&display, &debug] {
        assert!(s.contains(&id.to_string()), "{s:?} does not mention task id {id}");
    }
    assert!(display.contains("cancelled"), "{display:?}");
    let io: std::io::Error = err.into();
    assert!(io.to_string().contains("cancelled"));
    let _: &dyn std::error::Error = &rt.block_on(rt.spawn(async { panic!("x") })).unwrap_err();
}
