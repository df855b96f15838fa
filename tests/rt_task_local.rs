//! `task_local!`: the value is set only while the scoped future is polled
//! (across suspensions and workers), nested scopes restore the outer
//! value, a panicking poll restores it too, interleaved scopes on one
//! thread never see each other's values, and the inner future is dropped
//! inside its scope.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

mod common;

weft::task_local! {
    static VALUE: u32;
    static NAME: String;
}

fn runtime(workers: usize) -> weft::Runtime {
    weft::Runtime::builder().worker_threads(workers).build().unwrap()
}

#[test]
fn the_value_survives_suspensions_and_moves_between_workers() {
    let rt = runtime(2);
    let seen = rt.block_on(rt.spawn(VALUE.scope(9, async {
        let mut seen = Vec::new();
        for _ in 0..100 {
            weft::task::yield_now().await;
            seen.push(VALUE.get());
        }
        seen
    })));
    assert!(seen.unwrap().iter().all(|v| *v == 9));
}

#[test]
fn the_value_is_not_set_outside_the_scope_nor_in_spawned_tasks() {
    let rt = runtime(1);
    rt.block_on(VALUE.scope(1, async {
        assert_eq!(VALUE.get(), 1);
        let child = weft::spawn(async { VALUE.try_with(|v| *v).is_err() });
        assert!(child.await.unwrap(), "a spawned task does not inherit the value");
    }));
    assert!(VALUE.try_with(|_| ()).is_err());
}

#[test]
fn nested_scopes_see_the_innermost_value_and_restore_the_outer() {
    let rt = runtime(1);
    rt.block_on(NAME.scope("outer".to_string(), async {
        let inner = NAME.scope("inner".to_string(), async {
            weft::task::yield_now().await;
            NAME.get()
        });
        assert_eq!(inner.await, "inner");
        assert_eq!(NAME.get(), "outer");
        NAME.sync_scope("sync".to_string(), || assert_eq!(NAME.get(), "sync"));
        assert_eq!(NAME.get(), "outer");
    }));
}

#[test]
fn interleaved_scopes_on_one_thread_keep_their_own_values() {
    let rt = runtime(1);
    rt.block_on(async {
        let a = VALUE.scope(1, async {
            let mut all = Vec::new();
            for _ in 0..10 {
                all.push(VALUE.get());
                weft::task::yield_now().await;
            }
            all
        });
        let b = VALUE.scope(2, async {
            let mut all = Vec::new();
            for _ in 0..10 {
                all.push(VALUE.get());
                weft::task::yield_now().await;
            }
            all
        });
        let (a, b) = futures::join!(a, b);
        assert!(a.iter().all(|v| *v == 1), "{a:?}");
        assert!(b.iter().all(|v| *v == 2), "{b:?}");
    });
}

#[test]
fn a_panicking_poll_restores_the_outer_value() {
    let outer = VALUE.sync_scope(5, || {
        let panicked = std::panic::catch_unwind(|| {
            let mut fut = pin!(VALUE.scope(6, async {
                assert_eq!(VALUE.get(), 6);
                panic!("boom");
            }));
            let _ = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        });
        assert!(panicked.is_err());
        VALUE.get()
    });
    assert_eq!(outer, 5);
    let panicked = std::panic::catch_unwind(|| VALUE.sync_scope(7, || panic!("boom")));
    assert!(panicked.is_err());
    assert!(VALUE.try_with(|_| ()).is_err(), "restored to unset after a panic");
}

#[test]
fn the_inner_future_is_dropped_inside_the_scope() {
    struct ReadsOnDrop(Arc<AtomicBool>);
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            self.0.store(VALUE.try_with(|v| *v == 3).unwrap_or(false), SeqCst);
        }
    }
    // Dropped unfinished.
    let saw = Arc::new(AtomicBool::new(false));
    let guard = ReadsOnDrop(saw.clone());
    let mut fut = Box::pin(VALUE.scope(3, async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    }));
    assert!(fut.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    drop(fut);
    assert!(saw.load(SeqCst), "dropped outside the scope");
    // Dropped at completion.
    let saw = Arc::new(AtomicBool::new(false));
    let guard = ReadsOnDrop(saw.clone());
    let mut fut = pin!(VALUE.scope(3, async move {
        drop(guard);
    }));
    assert_eq!(fut.as_mut().poll(&mut Context::from_waker(Waker::noop())), Poll::Ready(()));
    assert!(saw.load(SeqCst));
}

#[test]
fn with_outside_a_scope_panics_with_a_message_that_says_what_to_do() {
    let err = std::panic::catch_unwind(|| VALUE.with(|v| *v)).unwrap_err();
    let msg = common::panic_message(&*err);
    assert!(msg.contains("LocalKey::scope"), "{msg}");
    assert!(VALUE.try_with(|v| *v).unwrap_err().to_string().contains("not set"));
}
