//! `spawn_blocking` and the blocking pool: results and panics through the
//! `JoinHandle`, every closure run and dropped exactly once, the thread
//! maximum and FIFO queue, keep-alive, shutdown (cancel queued, wait for
//! running, bounded by `shutdown_timeout`), spawns after and racing
//! shutdown, and the entry points (task, `block_on`, handles).
//!
//! Sequencing is by channels, barriers and atomics; sleeps only appear
//! inside closures, as the "blocking work" itself.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use weft::task::{spawn_blocking, JoinHandle};
use weft::{Handle, JoinError, Runtime};

const DEADLINE: Duration = Duration::from_secs(30);

fn runtime() -> Runtime {
    Runtime::builder().worker_threads(2).build().unwrap()
}

fn runtime_with(max: usize, keep_alive: Duration) -> Runtime {
    Runtime::builder()
        .worker_threads(1)
        .max_blocking_threads(max)
        .thread_keep_alive(keep_alive)
        .build()
        .unwrap()
}

/// Counts drops of the closure that owns it.
struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// The result of a handle whose task has finished (the runtime may be
/// gone, so nobody would wake an `.await`).
fn finished<T>(mut join: JoinHandle<T>) -> Result<T, JoinError> {
    assert!(join.is_finished(), "the JoinHandle has not resolved");
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    match std::pin::Pin::new(&mut join).poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(r) => r,
        Poll::Pending => panic!("a finished JoinHandle returned Pending"),
    }
}

/// Waits (up to `DEADLINE`) until `cond` holds; the assertion is on the
/// condition, the loop only bounds the wait.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn result_comes_back_through_the_join_handle() {
    let rt = runtime();
    let name = rt.block_on(async {
        spawn_blocking(|| thread::current().name().unwrap_or_default().to_owned()).await.unwrap()
    });
    assert!(name.starts_with("weft-blocking-"), "thread name {name:?}");
    assert_eq!(rt.block_on(rt.spawn_blocking(|| 6 * 7)).unwrap(), 42);
    assert_eq!(rt.block_on(rt.handle().spawn_blocking(|| "handle")).unwrap(), "handle");
}

#[test]
fn a_panic_becomes_a_panic_join_error() {
    let rt = runtime();
    let err = rt.block_on(rt.spawn_blocking(|| -> u32 { panic!("blocking boom") })).unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"blocking boom"));
    // The pool survives the panic.
    assert_eq!(rt.block_on(rt.spawn_blocking(|| 1)).unwrap(), 1);
}

/// 1,000 closures: each runs exactly once and is dropped exactly once, and
/// every handle yields its own result.
#[test]
fn a_thousand_closures_each_run_once_and_are_dropped_once() {
    const N: usize = 1000;
    let rt = Runtime::builder().worker_threads(2).max_blocking_threads(16).build().unwrap();
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
    let drops = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let (runs, guard) = (runs.clone(), DropGuard(drops.clone()));
            rt.spawn_blocking(move || {
                let _guard = guard;
                runs[i].fetch_add(1, SeqCst);
                i
            })
        })
        .collect();
    rt.block_on(async {
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.unwrap(), i);
        }
    });
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.load(SeqCst), 1, "closure {i} ran {} times", r.load(SeqCst));
    }
    assert_eq!(drops.load(SeqCst), N, "every closure dropped exactly once");
    assert!(rt.metrics().blocking_threads() <= 16);
}

/// `max_blocking_threads(2)`: never more than 2 closures at once, and what
/// is queued beyond them starts in spawn order.
#[test]
fn max_blocking_threads_bounds_concurrency_and_the_queue_is_fifo() {
    let rt = runtime_with(2, Duration::from_secs(60));
    let current = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(Mutex::new(Vec::new()));
    let enter = {
        let (current, max_seen) = (current.clone(), max_seen.clone());
        move || {
            let now = current.fetch_add(1, SeqCst) + 1;
            max_seen.fetch_max(now, SeqCst);
        }
    };
    // Two closures that hold both threads until released.
    let (started_tx, started) = mpsc::channel();
    let mut gates = Vec::new();
    let mut held = Vec::new();
    for id in 0..2 {
        let (release, gate) = mpsc::channel::<()>();
        gates.push(release);
        let (enter, current, started_tx) = (enter.clone(), current.clone(), started_tx.clone());
        held.push(rt.spawn_blocking(move || {
            enter();
            started_tx.send(id).unwrap();
            gate.recv().unwrap();
            current.fetch_sub(1, SeqCst);
        }));
    }
    started.recv().unwrap();
    started.recv().unwrap();
    // Six more wait in the queue.
    let queued: Vec<_> = (2..8)
        .map(|id| {
            let (enter, current, order) = (enter.clone(), current.clone(), order.clone());
            rt.spawn_blocking(move || {
                enter();
                order.lock().unwrap().push(id);
                thread::sleep(Duration::from_millis(2));
                current.fetch_sub(1, SeqCst);
            })
        })
        .collect();
    let m = rt.metrics();
    assert_eq!((m.blocking_threads(), m.blocking_queue_depth()), (2, 6));
    // Free one thread: it alone drains the queue, so starts are in order.
    gates.remove(0).send(()).unwrap();
    rt.block_on(async {
        for h in queued {
            h.await.unwrap();
        }
    });
    assert_eq!(*order.lock().unwrap(), vec![2, 3, 4, 5, 6, 7], "queued closures start FIFO");
    gates.remove(0).send(()).unwrap();
    rt.block_on(async {
        for h in held {
            h.await.unwrap();
        }
    });
    // Then a burst of 20 with both threads free.
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let (enter, current) = (enter.clone(), current.clone());
            rt.spawn_blocking(move || {
                enter();
                thread::sleep(Duration::from_millis(3));
                current.fetch_sub(1, SeqCst);
            })
        })
        .collect();
    rt.block_on(async {
        for h in burst {
            h.await.unwrap();
        }
    });
    assert_eq!(max_seen.load(SeqCst), 2, "at most (and, here, exactly) 2 closures at once");
    assert!(rt.metrics().blocking_threads() <= 2);
}

/// With a 100 ms keep-alive, idle threads exit; with a long one, the idle
/// thread stays and is reused.
#[test]
fn idle_threads_exit_after_the_keep_alive() {
    let rt = runtime_with(8, Duration::from_millis(100));
    // Three closures that must all be alive at once: three threads.
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let barrier = barrier.clone();
            rt.spawn_blocking(move || {
                barrier.wait();
            })
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    eventually("idle blocking threads exit", || {
        let m = rt.metrics();
        m.blocking_threads() == 0 && m.idle_blocking_threads() == 0
    });

    let rt = runtime_with(8, Duration::from_secs(60));
    let first = rt.block_on(rt.spawn_blocking(|| thread::current().id())).unwrap();
    eventually("the thread becomes idle", || rt.metrics().idle_blocking_threads() == 1);
    assert_eq!(rt.metrics().blocking_threads(), 1);
    let second = rt.block_on(rt.spawn_blocking(|| thread::current().id())).unwrap();
    assert_eq!(first, second, "the idle thread is reused");
    assert_eq!(rt.metrics().blocking_threads(), 1);
}

/// `shutdown_timeout` with a long-running closure returns after the
/// timeout, while the closure still runs; the closure queued behind it is
/// cancelled: never run, dropped once, its handle a cancelled error.
#[test]
fn shutdown_timeout_bounds_the_wait_and_cancels_the_queue() {
    let rt = runtime_with(1, Duration::from_secs(60));
    let (started_tx, started) = mpsc::channel();
    // The long closure runs until released (or gives up after `DEADLINE`,
    // a hang guard, and says so).
    let (release, release_rx) = mpsc::channel::<()>();
    let gave_up = Arc::new(AtomicBool::new(false));
    let long = {
        let gave_up = gave_up.clone();
        rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            if release_rx.recv_timeout(DEADLINE) == Err(mpsc::RecvTimeoutError::Timeout) {
                gave_up.store(true, SeqCst);
            }
        })
    };
    started.recv().unwrap();
    let (ran, drops) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let queued = {
        let (ran, guard) = (ran.clone(), DropGuard(drops.clone()));
        rt.spawn_blocking(move || {
            let _guard = guard;
            ran.store(true, SeqCst);
        })
    };
    assert_eq!(rt.metrics().blocking_queue_depth(), 1);
    let t0 = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(300));
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(300), "returned before the timeout: {took:?}");
    assert!(!gave_up.load(SeqCst), "waited for the running closure: {took:?}");
    let err = finished(queued).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!ran.load(SeqCst), "a queued closure started after shutdown began");
    assert_eq!(drops.load(SeqCst), 1, "the queued closure dropped exactly once");
    assert!(!long.is_finished(), "the long closure is still running (detached)");
    release.send(()).unwrap();
    eventually("the released closure finishes", || long.is_finished());
    assert!(finished(long).is_ok(), "the detached closure completes once released");
}

/// A plain drop waits for a running closure without limit.
#[test]
fn drop_waits_for_running_closures() {
    let rt = runtime();
    let done = Arc::new(AtomicBool::new(false));
    let (started_tx, started) = mpsc::channel();
    let join = {
        let done = done.clone();
        rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            thread::sleep(Duration::from_millis(200));
            done.store(true, SeqCst);
            5
        })
    };
    started.recv().unwrap();
    drop(rt);
    assert!(done.load(SeqCst), "drop returned before the running closure finished");
    assert_eq!(finished(join).unwrap(), 5);
}

/// A runtime dropped inside one of its own blocking closures does not wait
/// for itself (it would hang): the drop returns, the closure finishes.
#[test]
fn dropping_the_runtime_inside_a_blocking_closure_does_not_hang() {
    let rt = runtime();
    let handle = rt.handle().clone();
    let (tx, rx) = mpsc::channel();
    let join = handle.spawn_blocking(move || {
        drop(rt);
        tx.send(()).unwrap();
        9
    });
    rx.recv_timeout(DEADLINE).expect("the runtime's drop hung on its own blocking thread");
    eventually("the closure's handle resolves", || join.is_finished());
    assert_eq!(finished(join).unwrap(), 9);
}

/// After shutdown began, `spawn_blocking` returns a handle that is already
/// cancelled; the closure never runs and is dropped once.
#[test]
fn spawn_blocking_after_shutdown_is_cancelled() {
    let rt = runtime();
    let handle: Handle = rt.handle().clone();
    drop(rt);
    let (ran, drops) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let join = {
        let (ran, guard) = (ran.clone(), DropGuard(drops.clone()));
        handle.spawn_blocking(move || {
            let _guard = guard;
            ran.store(true, SeqCst);
        })
    };
    let err = finished(join).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!ran.load(SeqCst));
    assert_eq!(drops.load(SeqCst), 1);
}

/// Spawners on other threads race the runtime's drop: every closure is
/// either run or cancelled (never neither), dropped exactly once, and
/// every handle has resolved once the spawners are joined.
#[test]
fn spawns_racing_shutdown_are_run_or_cancelled() {
    const SPAWNERS: usize = 3;
    const PER: usize = 200;
    for _ in 0..5 {
        let rt = runtime_with(4, Duration::from_secs(60));
        let ran = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let go = Arc::new(Barrier::new(SPAWNERS + 1));
        let spawners: Vec<_> = (0..SPAWNERS)
            .map(|_| {
                let (handle, ran, drops, go) = (rt.handle().clone(), ran.clone(), drops.clone(), go.clone());
                thread::spawn(move || {
                    go.wait();
                    (0..PER)
                        .map(|_| {
                            let (ran, guard) = (ran.clone(), DropGuard(drops.clone()));
                            handle.spawn_blocking(move || {
                                let _guard = guard;
                                ran.fetch_add(1, SeqCst);
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        go.wait();
        drop(rt);
        let handles: Vec<_> = spawners.into_iter().flat_map(|s| s.join().unwrap()).collect();
        let mut cancelled = 0;
        for h in handles {
            match finished(h) {
                Ok(()) => {}
                Err(e) => {
                    assert!(e.is_cancelled(), "{e:?}");
                    cancelled += 1;
                }
            }
        }
        assert_eq!(ran.load(SeqCst) + cancelled, SPAWNERS * PER, "a closure neither ran nor was cancelled");
        assert_eq!(drops.load(SeqCst), SPAWNERS * PER, "every closure dropped exactly once");
    }
}

/// `JoinHandle::abort` cancels a closure that is still queued.
#[test]
fn abort_cancels_a_queued_closure() {
    let rt = runtime_with(1, Duration::from_secs(60));
    let (release, gate) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel();
    let busy = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        gate.recv().unwrap();
    });
    started.recv().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let queued = {
        let ran = ran.clone();
        rt.spawn_blocking(move || ran.store(true, SeqCst))
    };
    queued.abort();
    release.send(()).unwrap();
    rt.block_on(async {
        busy.await.unwrap();
        assert!(queued.await.unwrap_err().is_cancelled());
    });
    assert!(!ran.load(SeqCst));
}

/// From a task, from `block_on`, and inside the closure the runtime is
/// current (`weft::spawn`, `Handle::current`).
#[test]
fn spawn_blocking_from_a_task_and_from_block_on() {
    let rt = runtime();
    let from_task = rt.block_on(rt.spawn(async { spawn_blocking(|| 1).await.unwrap() + 1 })).unwrap();
    assert_eq!(from_task, 2);
    let from_block_on = rt.block_on(async { spawn_blocking(|| 3).await.unwrap() });
    assert_eq!(from_block_on, 3);
    let inner = rt.block_on(async {
        spawn_blocking(|| {
            let _ = Handle::current();
            weft::spawn(async { 10 })
        })
        .await
        .unwrap()
        .await
        .unwrap()
    });
    assert_eq!(inner, 10);
    // After `enter` too.
    let _guard = rt.enter();
    assert_eq!(rt.block_on(spawn_blocking(|| 4)).unwrap(), 4);
}

#[test]
#[should_panic(expected = "spawn_blocking called outside a weft runtime")]
fn spawn_blocking_outside_a_runtime_panics() {
    drop(spawn_blocking(|| ()));
}

#[test]
fn max_blocking_threads_zero_is_rejected() {
    let err = Runtime::builder().max_blocking_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_blocking_threads(0)"), "{err}");
}
