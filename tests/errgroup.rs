//! `weft::errgroup::Group`: the first error wins and cancels the group's
//! context, `wait` waits for every task, the limit bounds running tasks
//! (`spawn` waits, `try_spawn` gives the future back), a panic is resumed,
//! and a dropped group aborts its tasks (their futures are dropped).
#![cfg(all(feature = "sync", feature = "time"))]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use weft::context::{Context, ContextError};
use weft::errgroup::Group;

fn rt() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(2).build().unwrap()
}

/// Counts its drop.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn all_ok_returns_ok_after_every_task_finished() {
    rt().block_on(async {
        let done = Arc::new(AtomicUsize::new(0));
        let mut g = Group::<String>::new();
        for i in 0..50 {
            let done = done.clone();
            g.spawn(async move {
                weft::task::yield_now().await;
                done.fetch_add(1, SeqCst);
                Ok::<_, String>(i)
            })
            .await;
        }
        let ctx = g.context().clone();
        assert_eq!(g.wait().await, Ok(()));
        assert_eq!(done.load(SeqCst), 50);
        assert_eq!(ctx.err(), Some(ContextError::Cancelled), "wait cancels the context when it returns");
    });
}

#[test]
fn the_first_error_is_returned_and_cancels_the_others() {
    rt().block_on(async {
        let (first_tx, first_rx) = weft::sync::oneshot::channel::<()>();
        let mut g = Group::new();
        // Fails first; a second error comes only after the first was
        // recorded (it waits for the context's cancellation).
        g.spawn(async move {
            let _ = first_tx.send(());
            Err::<(), _>("first")
        })
        .await;
        let ctx = g.context().clone();
        g.spawn(async move {
            ctx.cancelled().await;
            Err::<(), _>("second")
        })
        .await;
        let stopped = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            let (ctx, stopped) = (g.context().clone(), stopped.clone());
            g.spawn(async move {
                ctx.cancelled().await;
                stopped.fetch_add(1, SeqCst);
                Ok::<(), &str>(())
            })
            .await;
        }
        first_rx.await.unwrap();
        assert_eq!(g.wait().await, Err("first"));
        assert_eq!(stopped.load(SeqCst), 4, "wait returned after every task stopped");
    });
}

#[test]
fn the_group_context_is_a_child_of_the_given_one() {
    rt().block_on(async {
        let (parent, cancel) = Context::background().with_cancel();
        let mut g = Group::<()>::with_context(&parent);
        let ctx = g.context().clone();
        g.spawn(async move {
            ctx.cancelled().await;
            Ok::<(), ()>(())
        })
        .await;
        cancel.cancel();
        assert_eq!(g.wait().await, Ok(()));
        // And a group made inside a scope derives from the scope's context.
        let (scoped, cancel) = Context::background().with_cancel();
        let g = scoped.scope(async { Group::<()>::new() }).await;
        cancel.cancel();
        assert!(g.context().is_done());
    });
}

#[test]
fn the_limit_bounds_running_tasks_and_try_spawn_gives_the_future_back() {
    rt().block_on(async {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut g = Group::<()>::new();
        g.set_limit(3);
        for _ in 0..30 {
            let (r, p) = (running.clone(), peak.clone());
            g.spawn(async move {
                let now = r.fetch_add(1, SeqCst) + 1;
                p.fetch_max(now, SeqCst);
                for _ in 0..3 {
                    weft::task::yield_now().await;
                }
                r.fetch_sub(1, SeqCst);
                Ok::<(), ()>(())
            })
            .await;
            assert!(running.load(SeqCst) <= 3);
        }
        assert_eq!(g.wait().await, Ok(()));
        assert!(peak.load(SeqCst) <= 3, "at most 3 at once, saw {}", peak.load(SeqCst));

        let mut g = Group::<()>::new();
        g.set_limit(1);
        let (release_tx, release_rx) = weft::sync::oneshot::channel::<()>();
        assert!(g
            .try_spawn(async move {
                let _ = release_rx.await;
                Ok::<(), ()>(())
            })
            .is_ok());
        let back = g.try_spawn(async { Ok::<(), ()>(()) });
        assert!(back.is_err(), "the only place is taken");
        release_tx.send(()).unwrap();
        g.spawn(back.unwrap_err()).await; // waits for the place, then runs
        assert_eq!(g.wait().await, Ok(()));
    });
}

#[test]
fn a_panicking_task_cancels_the_rest_and_is_resumed_by_wait() {
    let rt = rt();
    let ctx = rt.block_on(async {
        let mut g = Group::<()>::new();
        let ctx = g.context().clone();
        let c = ctx.clone();
        g.spawn(async move {
            c.cancelled().await;
            Ok::<(), ()>(())
        })
        .await;
        g.spawn(async {
            if ctx_is_unused() {
                panic!("boom");
            }
            Ok::<(), ()>(())
        })
        .await;
        let err = weft::spawn(g.wait()).await.unwrap_err();
        assert!(err.is_panic());
        ctx
    });
    assert!(ctx.is_done());
}

#[test]
fn dropping_the_group_cancels_and_aborts_every_task() {
    let rt = rt();
    let dropped = Arc::new(AtomicUsize::new(0));
    let ctx = rt.block_on(async {
        let mut g = Group::<()>::new();
        for _ in 0..10 {
            let guard = DropCount(dropped.clone());
            g.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                Ok::<(), ()>(())
            })
            .await;
        }
        let ctx = g.context().clone();
        drop(g);
        ctx
    });
    assert!(ctx.is_done());
    drop(rt); // the runtime's drop runs every aborted task's drop
    assert_eq!(dropped.load(SeqCst), 10, "every task's future dropped");
}

#[test]
fn shutdown_waits_until_every_task_stopped() {
    rt().block_on(async {
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut g = Group::<()>::new();
        for _ in 0..10 {
            let guard = DropCount(dropped.clone());
            g.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                Ok::<(), ()>(())
            })
            .await;
        }
        assert_eq!(g.shutdown().await, Ok(()));
        assert_eq!(dropped.load(SeqCst), 10, "all stopped when shutdown returns");
    });
}

/// Always true; keeps the panicking task's future typed as a `Result`.
fn ctx_is_unused() -> bool {
    std::hint::black_box(true)
}
