//! Shutdown: dropping the runtime drops every task's future exactly once and
//! frees every task, whatever state the task was in; spawns and wakes racing
//! shutdown; `shutdown_timeout` with a stuck worker; thread hooks and names.
//!
//! Leak checks: every future owns a `Guard` holding an `Arc` of the test's
//! `Tracker`, so `Arc::strong_count(&tracker) == 1` proves every future is
//! gone. Where a task's allocation itself could outlive its future, the test
//! also polls the `JoinHandle` once with a sentinel waker: while the handle
//! lives, the task keeps that waker in its allocation until the allocation
//! is freed (a handle dropped before completion takes its waker back at
//! once; `rt_join_leak` covers that).

use std::future::{pending, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use weft::task::{yield_now, JoinHandle};
use weft::{Handle, Runtime};

const DEADLINE: Duration = Duration::from_secs(60);

fn runtime(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).thread_name("shutdown-test-worker").build().unwrap()
}

// ----- drop tracking -------------------------------------------------------------------------

/// One flag per guard; counts drops and double drops.
struct Tracker {
    flags: Box<[AtomicU8]>,
    drops: AtomicUsize,
    doubles: AtomicUsize,
    next: AtomicUsize,
}

impl Tracker {
    fn new(capacity: usize) -> Arc<Tracker> {
        Arc::new(Tracker {
            flags: (0..capacity).map(|_| AtomicU8::new(0)).collect(),
            drops: AtomicUsize::new(0),
            doubles: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
        })
    }

    fn guard(self: &Arc<Self>) -> Guard {
        let id = self.next.fetch_add(1, SeqCst);
        assert!(id < self.flags.len(), "tracker too small");
        Guard { tracker: self.clone(), id }
    }

    fn created(&self) -> usize {
        self.next.load(SeqCst)
    }

    fn drops(&self) -> usize {
        self.drops.load(SeqCst)
    }

    /// Every guard created so far was dropped exactly once, and nothing else
    /// holds the tracker.
    #[track_caller]
    fn assert_all_dropped_once(self: &Arc<Self>) {
        let created = self.created();
        assert_eq!(self.doubles.load(SeqCst), 0, "a future or output was dropped twice");
        let missing: Vec<usize> = (0..created).filter(|&i| self.flags[i].load(SeqCst) == 0).collect();
        assert!(
            missing.is_empty(),
            "{} of {created} guards never dropped (first: {:?})",
            missing.len(),
            missing.first()
        );
        assert_eq!(self.drops(), created);
        assert_eq!(Arc::strong_count(self), 1, "something still holds a guard's tracker (a leaked task?)");
    }
}

/// Owned by a future (or an output); records its drop.
struct Guard {
    tracker: Arc<Tracker>,
    id: usize,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.tracker.flags[self.id].fetch_add(1, SeqCst) != 0 {
            self.tracker.doubles.fetch_add(1, SeqCst);
        }
        self.tracker.drops.fetch_add(1, SeqCst);
    }
}

// ----- executor bits for after the runtime is gone ---------------------------------------------

/// Unparks a thread; optionally carries a sentinel to count live wakers.
struct ThreadWaker {
    thread: thread::Thread,
    _sentinel: Option<Arc<()>>,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.thread.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.thread.unpark();
    }
}

/// Polls `fut` on this thread until ready or `timeout` passes (None).
fn block_on_timeout<F: Future>(fut: F, timeout: Duration) -> Option<F::Output> {
    let waker = Waker::from(Arc::new(ThreadWaker { thread: thread::current(), _sentinel: None }));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    let deadline = Instant::now() + timeout;
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Some(out);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::park_timeout(deadline - now);
    }
}

#[track_caller]
fn block_on<F: Future>(fut: F) -> F::Output {
    block_on_timeout(fut, DEADLINE).expect("a future did not complete before the deadline (hang?)")
}

/// Polls a JoinHandle once with a waker that holds `sentinel`; the task
/// stores that waker in its allocation until the allocation is freed.
fn register_sentinel<T>(handle: &mut JoinHandle<T>, sentinel: &Arc<()>) -> bool {
    let waker =
        Waker::from(Arc::new(ThreadWaker { thread: thread::current(), _sentinel: Some(sentinel.clone()) }));
    Pin::new(handle).poll(&mut Context::from_waker(&waker)).is_pending()
}

/// Waits (bounded) until `cond` holds.
#[track_caller]
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

// ----- dropping the runtime ---------------------------------------------------------------------------

#[test]
fn drop_runtime_drops_every_future_exactly_once_and_frees_every_task() {
    const PENDING: usize = 1_000;
    const YIELDING: usize = 100;
    const DETACHED: usize = 1_000;
    const ELSEWHERE: usize = 500;
    const AWAITING: usize = 200;
    const BURST: usize = 2_000;
    let tracker = Tracker::new(PENDING + YIELDING + DETACHED + ELSEWHERE + 2 * AWAITING + BURST);
    let sentinel = Arc::new(());
    let rt = runtime(2);

    // Pending forever, handles kept here.
    let mut kept: Vec<JoinHandle<()>> = (0..PENDING)
        .map(|_| {
            let g = tracker.guard();
            rt.spawn(async move {
                let _g = g;
                pending::<()>().await
            })
        })
        .collect();
    // Busy: yield in a loop forever (always queued or running).
    kept.extend((0..YIELDING).map(|_| {
        let g = tracker.guard();
        rt.spawn(async move {
            let _g = g;
            loop {
                yield_now().await;
            }
        })
    }));
    // Detached: handle polled once (sentinel waker stored), then dropped,
    // which takes the waker back.
    for _ in 0..DETACHED {
        let g = tracker.guard();
        let mut h = rt.spawn(async move {
            let _g = g;
            pending::<()>().await
        });
        assert!(register_sentinel(&mut h, &sentinel));
    }
    // Handles held, and awaited, by another thread.
    let elsewhere: Vec<JoinHandle<()>> = (0..ELSEWHERE)
        .map(|_| {
            let g = tracker.guard();
            rt.spawn(async move {
                let _g = g;
                pending::<()>().await
            })
        })
        .collect();
    let (ready_tx, ready_rx) = mpsc::channel();
    let other = thread::spawn(move || {
        ready_tx.send(()).unwrap();
        let mut cancelled = 0;
        for h in elsewhere {
            if block_on(h).expect_err("a pending task cannot produce output").is_cancelled() {
                cancelled += 1;
            }
        }
        cancelled
    });
    // Tasks awaiting the handle of another pending task.
    for _ in 0..AWAITING {
        let (g1, g2) = (tracker.guard(), tracker.guard());
        drop(rt.spawn(async move {
            let _g = g1;
            let child = weft::spawn(async move {
                let _g = g2;
                pending::<()>().await
            });
            child.await
        }));
    }
    // A burst right before the drop: many still queued, some maybe running.
    for _ in 0..BURST {
        let g = tracker.guard();
        drop(rt.spawn(async move {
            let _g = g;
            yield_now().await;
        }));
    }
    for h in kept.iter_mut() {
        assert!(register_sentinel(h, &sentinel));
    }
    ready_rx.recv().unwrap();

    drop(rt);

    assert_eq!(tracker.drops(), tracker.created(), "dropping the runtime did not drop every future");
    assert_eq!(other.join().unwrap(), ELSEWHERE, "handles on another thread all yield cancelled errors");
    for h in kept {
        assert!(block_on(h).unwrap_err().is_cancelled());
    }
    tracker.assert_all_dropped_once();
    assert_eq!(Arc::strong_count(&sentinel), 1, "a task allocation (holding a join waker) was leaked");
}

#[test]
fn unread_outputs_are_dropped_exactly_once() {
    let tracker = Tracker::new(300);
    let sentinel = Arc::new(());
    let rt = runtime(1);
    // Wait until every task spawned so far has completed. (Not "spawn one
    // more task and await it": the scheduler is not FIFO; every 61 ticks a
    // worker takes from the injector ahead of its local queue.)
    let fence = |rt: &Runtime| {
        let deadline = Instant::now() + DEADLINE;
        while rt.metrics().num_alive_tasks() != 0 {
            assert!(Instant::now() < deadline, "tasks did not complete before the deadline (hang?)");
            thread::yield_now();
        }
    };

    // Handle dropped before completion: the worker drops the output.
    let (hold_tx, hold_rx) = mpsc::channel::<()>();
    let holder = rt.spawn(async move { hold_rx.recv().unwrap() });
    for _ in 0..100 {
        let g = tracker.guard();
        let mut h = rt.spawn(async move { g });
        assert!(register_sentinel(&mut h, &sentinel));
        drop(h);
    }
    hold_tx.send(()).unwrap();
    rt.block_on(holder).unwrap();
    fence(&rt);
    assert_eq!(tracker.drops(), 100, "outputs nobody can read are dropped when the task completes");

    // Completed, handle dropped while the runtime runs: the handle drops it.
    let done: Vec<_> = (0..100)
        .map(|_| {
            let g = tracker.guard();
            rt.spawn(async move { g })
        })
        .collect();
    fence(&rt);
    assert!(done.iter().all(|h| h.is_finished()));
    assert_eq!(tracker.drops(), 100, "an output waits for its handle");
    drop(done);
    assert_eq!(tracker.drops(), 200);

    // Completed, handle kept past the runtime's drop.
    let mut late: Vec<_> = (0..100)
        .map(|_| {
            let g = tracker.guard();
            rt.spawn(async move { g })
        })
        .collect();
    fence(&rt);
    drop(rt);
    assert_eq!(tracker.drops(), 200, "shutdown must not drop an output that a live handle may still read");
    for h in late.iter_mut() {
        assert!(!register_sentinel(h, &sentinel), "the output is ready");
    }
    drop(late);
    tracker.assert_all_dropped_once();
    assert_eq!(Arc::strong_count(&sentinel), 1);
}

#[test]
fn spawn_racing_shutdown_never_hangs_and_never_loses_a_drop() {
    const SPAWNERS: usize = 4;
    const PER_SPAWNER: usize = 2_000;
    const ROUNDS: usize = 5;
    let tracker = Tracker::new(ROUNDS * SPAWNERS * PER_SPAWNER);
    let (mut outputs, mut cancelled) = (0, 0);
    for round in 0..ROUNDS {
        let rt = runtime(2);
        let start = Arc::new(Barrier::new(SPAWNERS + 1));
        let spawners: Vec<_> = (0..SPAWNERS)
            .map(|_| {
                let handle = rt.handle().clone();
                let start = start.clone();
                let tracker = tracker.clone();
                thread::spawn(move || {
                    start.wait();
                    let handles: Vec<_> = (0..PER_SPAWNER)
                        .map(|i| {
                            let g = tracker.guard();
                            handle.spawn(async move {
                                let _g = g;
                                yield_now().await;
                                i
                            })
                        })
                        .collect();
                    let (mut ok, mut cancelled) = (0, 0);
                    for (i, h) in handles.into_iter().enumerate() {
                        match block_on_timeout(h, DEADLINE).expect("a JoinHandle hung across shutdown") {
                            Ok(v) => {
                                assert_eq!(v, i);
                                ok += 1;
                            }
                            Err(e) => {
                                assert!(e.is_cancelled(), "{e}");
                                cancelled += 1;
                            }
                        }
                    }
                    (ok, cancelled)
                })
            })
            .collect();
        start.wait();
        // Let the spawners get going in some rounds, not in others.
        for _ in 0..round * 200 {
            thread::yield_now();
        }
        drop(rt);
        for s in spawners {
            let (ok, c) = s.join().unwrap();
            outputs += ok;
            cancelled += c;
        }
    }
    assert_eq!(outputs + cancelled, ROUNDS * SPAWNERS * PER_SPAWNER);
    assert!(cancelled > 0, "no spawn ever met the shutdown: the race was not exercised");
    tracker.assert_all_dropped_once();
}

#[test]
fn spawn_after_the_runtime_is_dropped_yields_a_cancelled_error() {
    let tracker = Tracker::new(10);
    let rt = runtime(1);
    let handle = rt.handle().clone();
    drop(rt);
    for _ in 0..10 {
        let g = tracker.guard();
        let h = handle.spawn(async move {
            let _g = g;
            1
        });
        assert!(h.is_finished(), "a refused spawn is cancelled on the spot");
        assert!(block_on(h).unwrap_err().is_cancelled());
    }
    tracker.assert_all_dropped_once();
}

#[test]
fn wakes_racing_shutdown_drop_each_future_once() {
    const TASKS: usize = 500;
    let tracker = Tracker::new(TASKS);
    let sentinel = Arc::new(());
    let rt = runtime(2);
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let g = tracker.guard();
        let wakers = wakers.clone();
        let mut h = rt.spawn(async move {
            let _g = g;
            std::future::poll_fn(|cx| {
                wakers.lock().unwrap().push(cx.waker().clone());
                Poll::<()>::Pending
            })
            .await
        });
        assert!(register_sentinel(&mut h, &sentinel));
        handles.push(h);
    }
    wait_until("every task stored a waker", || wakers.lock().unwrap().len() >= TASKS);
    let stop = Arc::new(AtomicBool::new(false));
    let wakers_thread = {
        let (wakers, stop) = (wakers.clone(), stop.clone());
        thread::spawn(move || {
            let mut rounds = 0;
            while !stop.load(SeqCst) || rounds < 3 {
                let ws: Vec<Waker> = wakers.lock().unwrap().clone();
                for w in ws {
                    w.wake();
                }
                rounds += 1;
            }
        })
    };
    drop(rt);
    stop.store(true, SeqCst);
    wakers_thread.join().unwrap();
    assert_eq!(tracker.drops(), TASKS);
    for h in handles {
        assert!(block_on(h).unwrap_err().is_cancelled());
    }
    wakers.lock().unwrap().clear();
    tracker.assert_all_dropped_once();
    assert_eq!(Arc::strong_count(&sentinel), 1);
}

#[test]
fn future_destructor_that_spawns_during_shutdown() {
    struct SpawnOnDrop {
        handle: Handle,
        guard: Option<Guard>,
        tracker: Arc<Tracker>,
    }
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let g = self.tracker.guard();
            drop(self.handle.spawn(async move {
                let _g = g;
                pending::<()>().await
            }));
            drop(self.guard.take());
        }
    }
    let tracker = Tracker::new(200);
    let rt = runtime(2);
    for _ in 0..100 {
        let s = SpawnOnDrop {
            handle: rt.handle().clone(),
            guard: Some(tracker.guard()),
            tracker: tracker.clone(),
        };
        drop(rt.spawn(async move {
            let _s = s;
            pending::<()>().await
        }));
    }
    drop(rt);
    assert_eq!(tracker.created(), 200, "each destructor spawned once");
    tracker.assert_all_dropped_once();
}

#[test]
fn dropping_the_runtime_inside_its_own_task_does_not_deadlock() {
    let tracker = Tracker::new(100);
    let rt = runtime(2);
    for _ in 0..99 {
        let g = tracker.guard();
        drop(rt.spawn(async move {
            let _g = g;
            pending::<()>().await
        }));
    }
    let slot = Arc::new(Mutex::new(None::<Runtime>));
    let (done_tx, done_rx) = mpsc::channel();
    let s = slot.clone();
    let g = tracker.guard();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    drop(rt.spawn(async move {
        let _g = g;
        go_rx.recv().unwrap();
        let rt = s.lock().unwrap().take().expect("runtime in the slot");
        drop(rt);
        done_tx.send(()).unwrap();
    }));
    *slot.lock().unwrap() = Some(rt);
    go_tx.send(()).unwrap();
    done_rx.recv_timeout(DEADLINE).expect("dropping the runtime inside its own task hung");
    wait_until("every future is dropped", || tracker.drops() == 100);
    // The worker threads exit on their own (detached); the last guard may
    // be dropped a moment after the signal.
    wait_until("the tracker is released", || Arc::strong_count(&tracker) == 1);
    tracker.assert_all_dropped_once();
}

// ----- shutdown_timeout ----------------------------------------------------------------------------

/// A runtime with one worker stuck inside a task until the test releases
/// it, and ten idle tasks.
struct StuckWorker {
    rt: Runtime,
    tracker: Arc<Tracker>,
    release: mpsc::Sender<()>,
    /// Set by the stuck task if it gave up waiting for the release (a hang
    /// guard): then whatever waited for it waited for the stuck worker.
    gave_up: Arc<AtomicBool>,
}

fn runtime_with_a_stuck_worker() -> StuckWorker {
    let tracker = Tracker::new(11);
    let rt = runtime(2);
    let (started_tx, started_rx) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let gave_up = Arc::new(AtomicBool::new(false));
    let g = tracker.guard();
    let gave_up_in_task = gave_up.clone();
    drop(rt.spawn(async move {
        let _g = g;
        started_tx.send(()).unwrap();
        // The workload: block this worker thread until released.
        if release_rx.recv_timeout(DEADLINE) == Err(mpsc::RecvTimeoutError::Timeout) {
            gave_up_in_task.store(true, SeqCst);
        }
    }));
    started_rx.recv().unwrap();
    // Ten idle tasks: each has been polled once and is waiting when this
    // returns (a task still queued or in its first poll on the free worker
    // is dropped by that worker, not by the shutdown call itself).
    for _ in 0..10 {
        let g = tracker.guard();
        drop(rt.spawn(async move {
            let _g = g;
            pending::<()>().await
        }));
    }
    wait_until("the free worker has polled the ten tasks", || {
        rt.dump().with_state(weft::task::TaskState::Idle).len() == 10
    });
    StuckWorker { rt, tracker, release, gave_up }
}

impl StuckWorker {
    /// Runs `shutdown` on the runtime and checks what holds however long
    /// it took: it returned while the worker was still stuck, and every
    /// idle task was cancelled by then (the runtime's promise: every idle
    /// task is cancelled before `shutdown_timeout`/`shutdown_background`
    /// returns). Then releases the worker; its task's future is dropped
    /// as the worker finishes. Returns how long `shutdown` took.
    fn shut_down(self, shutdown: impl FnOnce(Runtime)) -> Duration {
        let StuckWorker { rt, tracker, release, gave_up } = self;
        let start = Instant::now();
        shutdown(rt);
        let took = start.elapsed();
        assert!(!gave_up.load(SeqCst), "shutdown waited for the stuck worker ({took:?})");
        assert_eq!(
            tracker.drops(),
            10,
            "every idle task is cancelled before shutdown returns, a worker stuck or not"
        );
        release.send(()).unwrap();
        wait_until("the stuck task's future is dropped", || tracker.drops() == 11);
        wait_until("the tracker is released", || Arc::strong_count(&tracker) == 1);
        tracker.assert_all_dropped_once();
        took
    }
}

#[test]
fn shutdown_timeout_returns_after_the_timeout_when_a_worker_is_stuck() {
    let stuck = runtime_with_a_stuck_worker();
    let timeout = Duration::from_millis(200);
    let took = stuck.shut_down(|rt| rt.shutdown_timeout(timeout));
    println!("shutdown_timeout({timeout:?}) with a stuck worker took {took:?}");
    assert!(took >= timeout, "shutdown_timeout returned before its timeout: {took:?}");
}

#[test]
fn shutdown_background_returns_at_once_when_a_worker_is_stuck() {
    let stuck = runtime_with_a_stuck_worker();
    // At once: without waiting for the stuck worker (`shut_down` checks it
    // returned while the worker was still stuck).
    let took = stuck.shut_down(Runtime::shutdown_background);
    println!("shutdown_background with a stuck worker took {took:?}");
}

#[test]
fn shutdown_timeout_with_idle_workers_joins_them() {
    let stopped = Arc::new(AtomicUsize::new(0));
    let s = stopped.clone();
    let rt = Runtime::builder()
        .worker_threads(3)
        .on_thread_stop(move || {
            s.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap();
    assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    // Idle workers exit at once; the timeout is a hang guard. Had it
    // passed, shutdown_timeout would not have joined them, and the stop
    // hooks below could still be running.
    rt.shutdown_timeout(DEADLINE);
    // 3 workers and their 3 spare threads (docs/design/stalls.md).
    assert_eq!(stopped.load(SeqCst), 6, "shutdown_timeout joined every worker (each ran its stop hook)");
}

// ----- thread hooks and names ----------------------------------------------------------------------

#[test]
fn thread_hooks_run_once_per_worker_and_thread_name_is_applied() {
    let started = Arc::new(Mutex::new(Vec::new()));
    let stopped = Arc::new(Mutex::new(Vec::new()));
    let (s1, s2) = (started.clone(), stopped.clone());
    let rt = Runtime::builder()
        .worker_threads(3)
        .thread_name("hooked-worker")
        .on_thread_start(move || s1.lock().unwrap().push(thread::current().name().map(String::from)))
        .on_thread_stop(move || s2.lock().unwrap().push(thread::current().name().map(String::from)))
        .build()
        .unwrap();
    let name = rt.block_on(rt.spawn(async { thread::current().name().map(String::from) })).unwrap();
    assert_eq!(name.as_deref(), Some("hooked-worker"));
    assert!(stopped.lock().unwrap().is_empty(), "no worker stopped while the runtime runs");
    drop(rt);
    let started = started.lock().unwrap();
    let stopped = stopped.lock().unwrap();
    // 3 workers and their 3 spare threads (docs/design/stalls.md).
    assert_eq!(started.len(), 6, "on_thread_start once per worker thread");
    assert_eq!(stopped.len(), 6, "on_thread_stop once per worker thread");
    for n in started.iter().chain(stopped.iter()) {
        assert_eq!(n.as_deref(), Some("hooked-worker"), "a hook ran on a thread that is not a worker");
    }
}

#[test]
fn panicking_thread_start_hook_does_not_hang_shutdown() {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let calls = AtomicUsize::new(0);
        let rt = Runtime::builder()
            .worker_threads(2)
            .on_thread_start(move || {
                if calls.fetch_add(1, SeqCst) == 0 {
                    panic!("start hook boom");
                }
            })
            .build()
            .unwrap();
        // The other worker still runs tasks.
        let _ = tx.send(rt.block_on(rt.spawn(async { "ran" })).unwrap());
        drop(rt);
        let _ = tx.send("dropped");
    });
    assert_eq!(rx.recv_timeout(DEADLINE).unwrap(), "ran");
    assert_eq!(
        rx.recv_timeout(DEADLINE).ok(),
        Some("dropped"),
        "dropping a runtime whose start hook panicked on one worker hung"
    );
}

#[test]
fn thread_name_fn_is_called_once_per_worker() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let names = Arc::new(Mutex::new(Vec::new()));
    let n = names.clone();
    let rt = Runtime::builder()
        .worker_threads(4)
        .thread_name_fn(move || format!("fn-worker-{}", c.fetch_add(1, SeqCst)))
        .on_thread_start(move || n.lock().unwrap().push(thread::current().name().unwrap().to_string()))
        .build()
        .unwrap();
    drop(rt);
    // 4 workers and their 4 spare threads (docs/design/stalls.md).
    assert_eq!(calls.load(SeqCst), 8);
    let mut names = names.lock().unwrap().clone();
    names.sort();
    let expected: Vec<String> = (0..8).map(|i| format!("fn-worker-{i}")).collect();
    assert_eq!(names, expected);
}

#[test]
fn default_thread_names_start_with_weft_worker() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let name = rt.block_on(rt.spawn(async { thread::current().name().map(String::from) })).unwrap();
    assert!(name.as_deref().unwrap_or("").starts_with("weft-worker-"), "{name:?}");
}
