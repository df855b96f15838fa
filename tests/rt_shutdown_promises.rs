//! What shutdown promises, checked exactly:
//! - `shutdown_background` and `shutdown_timeout` return only once every
//!   task that was not running has been cancelled (its future dropped),
//!   also while an exiting worker is still cancelling the tasks it took;
//! - dropping the runtime from one of its own thread hooks does not wait
//!   for that thread (the same rule as dropping it inside its own task).

use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use weft::Runtime;

/// A bound on a wait that only a hang would exceed; it is not a verdict on
/// speed.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A pending-forever future whose drop is slow, so that a drain running on
/// another thread is still busy when the shutting-down thread finishes its
/// own. The sleep only widens that window: the verdict is exact either way.
struct SlowDrop {
    polled: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    first: bool,
}

impl Future for SlowDrop {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::take(&mut self.first) {
            self.polled.fetch_add(1, SeqCst);
        }
        Poll::Pending
    }
}

impl Drop for SlowDrop {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_micros(200));
        self.dropped.fetch_add(1, SeqCst);
    }
}

/// A one-worker runtime with `n` tasks that have each been polled once and
/// are idle: a last task, queued behind them from outside (the injector is
/// first in, first out), yields until it has seen all `n` first polls, and
/// on a single worker a poll it sees has returned. Returns the runtime and
/// the drop counter.
fn runtime_with_idle_tasks(n: usize) -> (Runtime, Arc<AtomicUsize>) {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let polled = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let handle = rt.handle().clone();
    for _ in 0..n {
        let fut = SlowDrop { polled: polled.clone(), dropped: dropped.clone(), first: true };
        drop(handle.spawn(fut));
    }
    let (tx, rx) = mpsc::channel();
    let seen = polled.clone();
    drop(handle.spawn(async move {
        while seen.load(SeqCst) < n {
            weft::task::yield_now().await;
        }
        tx.send(()).unwrap();
    }));
    rx.recv_timeout(HANG_GUARD).expect("every task was polled once");
    (rt, dropped)
}

#[test]
fn shutdown_background_returns_after_every_idle_task_is_cancelled() {
    const TASKS: usize = 200;
    for round in 0..20 {
        let (rt, dropped) = runtime_with_idle_tasks(TASKS);
        rt.shutdown_background();
        assert_eq!(
            dropped.load(SeqCst),
            TASKS,
            "round {round}: futures dropped when shutdown_background returned"
        );
    }
}

#[test]
fn shutdown_timeout_returns_after_every_idle_task_is_cancelled() {
    const TASKS: usize = 200;
    for round in 0..10 {
        let (rt, dropped) = runtime_with_idle_tasks(TASKS);
        rt.shutdown_timeout(Duration::ZERO);
        assert_eq!(
            dropped.load(SeqCst),
            TASKS,
            "round {round}: futures dropped when shutdown_timeout returned"
        );
    }
}

#[test]
fn dropping_the_runtime_in_its_own_thread_start_hook_does_not_hang() {
    let (rt_tx, rt_rx) = mpsc::channel::<Runtime>();
    let rt_rx = Arc::new(Mutex::new(rt_rx));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let done_tx = Mutex::new(done_tx);
    let rt = Runtime::builder()
        .worker_threads(2)
        .on_thread_start(move || {
            // The first hook to get the lock waits for the runtime (sent
            // once it is built) and drops it here, on a worker thread
            // whose run loop has not started; the others find the
            // channel closed.
            let rx = rt_rx.lock().unwrap();
            if let Ok(rt) = rx.recv() {
                drop(rt);
                done_tx.lock().unwrap().send(()).unwrap();
            }
        })
        .build()
        .unwrap();
    // A task that never ends: the drop in the hook cancels it (on that
    // thread if the task is idle, or on the worker polling it when that
    // poll returns), and its future's drop says so.
    struct SignalDrop(mpsc::Sender<()>);
    impl Drop for SignalDrop {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    let (dropped_tx, dropped_rx) = mpsc::channel();
    let guard = SignalDrop(dropped_tx);
    drop(rt.spawn(async move {
        let _guard = guard;
        pending::<()>().await
    }));
    rt_tx.send(rt).unwrap();
    drop(rt_tx);
    done_rx.recv_timeout(HANG_GUARD).expect("dropping the runtime in its own on_thread_start hook hung");
    dropped_rx.recv_timeout(HANG_GUARD).expect("the pending task was cancelled");
}
