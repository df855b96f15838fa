//! `task::JoinSet`: every result exactly once, `None` when empty, abort,
//! drop, detach, shutdown, panics, names, and cancel safety of `join_next`.

use std::collections::HashSet;
use std::future::{pending, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use weft::task::{Builder, JoinSet};
use weft::Runtime;

mod common;
use common::panic_message;

const DEADLINE: Duration = Duration::from_secs(60);

fn runtime(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).build().unwrap()
}

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A drop count and a sender: the count is taken before the sender goes
/// (a struct's `Drop::drop` runs before its fields are dropped), so a
/// receiver that sees the channel close sees the count.
struct CountThenRelease(Arc<AtomicUsize>, #[allow(dead_code)] mpsc::Sender<()>);

impl Drop for CountThenRelease {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A one-shot gate the test opens by hand (no sleeps, no runtime channels).
#[derive(Clone, Default)]
struct Gate(Arc<Mutex<(bool, Vec<Waker>)>>);

impl Gate {
    fn open(&self) {
        let wakers = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            std::mem::take(&mut g.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let gate = self.clone();
        std::future::poll_fn(move |cx| {
            let mut g = gate.0.lock().unwrap();
            if g.0 {
                Poll::Ready(())
            } else {
                g.1.push(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

fn noop_waker() -> Waker {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    Waker::from(Arc::new(Noop))
}

#[test]
fn ten_thousand_results_each_arrive_once() {
    const N: usize = 10_000;
    let rt = runtime(2);
    let dropped = Arc::new(AtomicUsize::new(0));
    let seen = rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..N {
            let guard = DropCount(dropped.clone());
            set.spawn(async move {
                let _guard = guard;
                // Half the tasks yield once, so completions interleave
                // with join_next's polls.
                if i % 2 == 0 {
                    weft::task::yield_now().await;
                }
                i
            });
        }
        assert_eq!(set.len(), N);
        let mut seen = HashSet::with_capacity(N);
        while let Some(res) = set.join_next().await {
            assert!(seen.insert(res.unwrap()), "a result arrived twice");
            assert_eq!(set.len(), N - seen.len());
        }
        seen
    });
    assert_eq!(seen.len(), N);
    assert!((0..N).all(|i| seen.contains(&i)));
    assert_eq!(dropped.load(SeqCst), N, "every future dropped exactly once");
}

#[test]
fn join_next_is_none_when_empty() {
    let rt = runtime(1);
    rt.block_on(async {
        let mut set: JoinSet<u8> = JoinSet::new();
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
        assert!(set.try_join_next().is_none());
        set.spawn(async { 7 });
        assert_eq!(set.join_next().await.unwrap().unwrap(), 7);
        assert!(set.join_next().await.is_none());
        assert!(set.join_next_with_id().await.is_none());
    });
}

#[test]
fn len_tracks_spawns_and_results() {
    let rt = runtime(2);
    rt.block_on(async {
        let gate = Gate::default();
        let mut set = JoinSet::new();
        for i in 0..5u32 {
            let wait = gate.wait();
            set.spawn(async move {
                wait.await;
                i
            });
            assert_eq!(set.len(), i as usize + 1);
        }
        assert!(set.try_join_next().is_none(), "nothing has finished yet");
        assert_eq!(set.len(), 5);
        gate.open();
        for left in (0..5).rev() {
            set.join_next().await.unwrap().unwrap();
            assert_eq!(set.len(), left);
        }
        assert!(set.is_empty());
    });
}

#[test]
fn abort_all_gives_cancelled_errors() {
    let rt = runtime(2);
    let dropped = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut set: JoinSet<()> = JoinSet::new();
        let mut ids = HashSet::new();
        for _ in 0..50 {
            let guard = DropCount(dropped.clone());
            let abort = set.spawn(async move {
                let _guard = guard;
                pending::<()>().await
            });
            ids.insert(abort.id());
        }
        // Let every task start, so some are aborted idle and parked.
        weft::task::yield_now().await;
        set.abort_all();
        let mut n = 0;
        while let Some(res) = set.join_next_with_id().await {
            let err = res.unwrap_err();
            assert!(err.is_cancelled(), "{err:?}");
            assert!(ids.remove(&err.id()), "an unknown or repeated id");
            n += 1;
        }
        assert_eq!(n, 50);
    });
    assert_eq!(dropped.load(SeqCst), 50);
}

#[test]
fn abort_handle_aborts_one_task() {
    let rt = runtime(1);
    rt.block_on(async {
        let gate = Gate::default();
        let mut set = JoinSet::new();
        let wait = gate.wait();
        let keep = set.spawn(async move {
            wait.await;
            1
        });
        let stop = set.spawn(pending::<i32>());
        stop.abort();
        let first = set.join_next_with_id().await.unwrap();
        let err = first.unwrap_err();
        assert!(err.is_cancelled() && err.id() == stop.id());
        assert!(stop.is_finished());
        gate.open();
        let (id, v) = set.join_next_with_id().await.unwrap().unwrap();
        assert_eq!((id, v), (keep.id(), 1));
        assert!(keep.is_finished());
    });
}

#[test]
fn dropping_the_set_aborts_its_tasks() {
    const N: usize = 100;
    let rt = runtime(2);
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<()>();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..N {
            // One value holds both: its count is taken in `drop`, before its
            // sender field is released, so the channel closes only after
            // every count (an unpolled future drops its captures in an
            // order the language leaves open).
            let guard = CountThenRelease(dropped.clone(), tx.clone());
            set.spawn(async move {
                let _guard = guard;
                pending::<()>().await
            });
        }
        drop(set);
    });
    drop(tx);
    // Every sender lives in an aborted future: the channel closes once all
    // of them are dropped.
    assert_eq!(rx.recv_timeout(DEADLINE), Err(mpsc::RecvTimeoutError::Disconnected));
    assert_eq!(dropped.load(SeqCst), N);
}

#[test]
fn shutdown_waits_for_every_task_to_stop() {
    let rt = runtime(2);
    let dropped = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..20 {
            let guard = DropCount(dropped.clone());
            set.spawn(async move {
                let _guard = guard;
                pending::<()>().await
            });
        }
        set.shutdown().await;
        assert!(set.is_empty());
        assert_eq!(dropped.load(SeqCst), 20, "shutdown returned before the futures were dropped");
    });
}

#[test]
fn detach_all_lets_tasks_run_on() {
    let rt = runtime(2);
    let (tx, rx) = mpsc::channel();
    let gate = Gate::default();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..10 {
            let tx = tx.clone();
            let wait = gate.wait();
            set.spawn(async move {
                wait.await;
                tx.send(i).unwrap();
            });
        }
        set.detach_all();
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
        // The set is reusable.
        set.spawn(async {});
        set.join_next().await.unwrap().unwrap();
    });
    gate.open();
    let mut got: Vec<i32> = (0..10).map(|_| rx.recv_timeout(DEADLINE).unwrap()).collect();
    got.sort();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

#[test]
fn panics_come_back_as_join_errors() {
    let rt = runtime(2);
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("boom in a set") });
        set.spawn(async { 5 });
        let mut ok = 0;
        let mut panics = 0;
        while let Some(res) = set.join_next().await {
            match res {
                Ok(v) => ok += v,
                Err(err) => {
                    assert!(err.is_panic());
                    assert_eq!(panic_message(&*err.into_panic()), "boom in a set");
                    panics += 1;
                }
            }
        }
        assert_eq!((ok, panics), (5, 1));
    });
}

#[test]
fn named_tasks_through_builder() {
    let rt = runtime(1);
    rt.block_on(async {
        let gate = Gate::default();
        let mut set = JoinSet::new();
        let wait = gate.wait();
        let abort = set
            .spawn_with(Builder::new().name("set-member"), async move {
                wait.await;
                "named"
            })
            .unwrap();
        let dump = weft::Handle::current().dump();
        let task = dump.tasks().iter().find(|t| t.id() == abort.id()).expect("the task is in the dump");
        assert_eq!(task.name(), Some("set-member"));
        let bad = set.spawn_with(Builder::new().name("bad\nname"), async { "never" });
        assert_eq!(bad.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(set.len(), 1, "a refused spawn adds nothing");
        gate.open();
        assert_eq!(set.join_next().await.unwrap().unwrap(), "named");
    });
}

#[test]
fn dropping_join_next_loses_no_result() {
    let rt = runtime(2);
    rt.block_on(async {
        let gate = Gate::default();
        let mut set = JoinSet::new();
        let wait = gate.wait();
        set.spawn(async move {
            wait.await;
            42
        });
        // Poll join_next once (Pending: the task waits), then drop it.
        {
            let mut next = pin!(set.join_next());
            let waker = noop_waker();
            assert!(next.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        }
        gate.open();
        assert_eq!(set.join_next().await.unwrap().unwrap(), 42);
    });
}

#[test]
fn join_all_and_spawn_on_and_spawn_blocking() {
    let rt = runtime(2);
    let mut set = JoinSet::new();
    for i in 0..10u64 {
        set.spawn_on(async move { i }, rt.handle());
    }
    let _enter = rt.enter();
    set.spawn_blocking(|| 100);
    drop(_enter);
    let mut all = rt.block_on(set.join_all());
    all.sort();
    assert_eq!(all, (0..10).chain([100]).collect::<Vec<_>>());
}

#[test]
fn join_all_resumes_a_panic() {
    let rt = runtime(1);
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async { panic!("join_all panic") });
            set.join_all().await
        })
    }));
    assert_eq!(panic_message(&*res.unwrap_err()), "join_all panic");
}

#[test]
fn join_set_is_send_and_sync_for_send_outputs() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JoinSet<u32>>();
    assert_send_sync::<weft::task::AbortHandle>();
}
