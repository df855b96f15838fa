//! The cancellation tree: propagation, reasons, deadlines, unregistering
//! on drop, scopes, and cancels racing each other and new children.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Barrier;

fn rt(workers: usize) -> crate::Runtime {
    crate::Runtime::builder().worker_threads(workers).build().unwrap()
}

#[test]
fn cancelling_a_parent_cancels_every_descendant_and_not_the_siblings_parent() {
    let (root, cancel_root) = Context::background().with_cancel();
    let (a, cancel_a) = root.with_cancel();
    let (a1, _h1) = a.with_cancel();
    let (a2, _h2) = a1.with_timeout(Duration::from_secs(3600));
    let (b, _hb) = root.with_cancel();
    cancel_a.cancel();
    assert_eq!(a.err(), Some(ContextError::Cancelled));
    assert_eq!(a1.err(), Some(ContextError::Cancelled));
    assert_eq!(a2.err(), Some(ContextError::Cancelled), "the parent's reason, not its own deadline");
    assert_eq!(root.err(), None, "a child's cancel does not reach its parent");
    assert_eq!(b.err(), None, "nor its sibling");
    cancel_root.cancel();
    assert_eq!(b.err(), Some(ContextError::Cancelled));
}

#[test]
fn a_child_of_a_cancelled_parent_is_born_cancelled() {
    let (root, cancel) = Context::background().with_cancel();
    cancel.cancel();
    let (child, _h) = root.with_timeout(Duration::from_secs(60));
    assert_eq!(child.err(), Some(ContextError::Cancelled));
    assert_eq!(root.child_count(), 0);
}

#[test]
fn the_first_reason_stays() {
    let (ctx, cancel) = Context::background().with_deadline(Instant::now());
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    cancel.cancel();
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
}

#[test]
fn a_child_deadline_is_never_later_than_its_parents() {
    let (outer, _a) = Context::background().with_timeout(Duration::from_secs(10));
    let (inner, _b) = outer.with_timeout(Duration::from_secs(100));
    let (earlier, _c) = outer.with_timeout(Duration::from_millis(1));
    assert_eq!(inner.deadline(), outer.deadline());
    assert!(earlier.deadline() < outer.deadline());
    assert_eq!(Context::background().with_cancel().0.deadline(), None);
}

#[test]
fn an_unrepresentable_timeout_means_no_deadline_not_a_panic() {
    let (ctx, _h) = Context::background().with_timeout(Duration::MAX);
    assert_eq!(ctx.deadline(), None);
    assert_eq!(ctx.err(), None);
}

#[test]
fn dropping_a_child_unregisters_it_from_its_parent() {
    let (root, _cancel) = Context::background().with_cancel();
    for _ in 0..1_000 {
        let (child, handle) = root.with_cancel();
        let clone = child.clone();
        drop(child);
        assert_eq!(root.child_count(), 1, "a clone keeps it registered");
        drop((clone, handle));
    }
    assert_eq!(root.child_count(), 0, "no growth from short-lived children");
}

#[test]
fn cancelled_completes_on_cancel_and_on_deadline() {
    let rt = rt(2);
    rt.block_on(async {
        let (ctx, cancel) = Context::background().with_cancel();
        let (child, _h) = ctx.with_cancel();
        let waiter = crate::spawn(async move {
            child.cancelled().await;
            child.err()
        });
        crate::task::yield_now().await;
        cancel.cancel();
        assert_eq!(waiter.await.unwrap(), Some(ContextError::Cancelled));

        let (parent, _h) = Context::background().with_timeout(Duration::from_millis(2));
        let (child, _h2) = parent.with_cancel();
        child.cancelled().await;
        assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(parent.err(), Some(ContextError::DeadlineExceeded));
    });
}

#[test]
fn cancelled_on_an_already_cancelled_context_completes_at_once() {
    let (ctx, cancel) = Context::background().with_cancel();
    cancel.cancel();
    let fut = pin!(ctx.cancelled());
    let waker = std::task::Waker::noop();
    assert!(fut.poll(&mut std::task::Context::from_waker(waker)).is_ready());
}

#[test]
fn scope_sets_current_and_restores_the_outer_one() {
    let rt = rt(1);
    rt.block_on(async {
        let (outer, _a) = Context::background().with_cancel();
        let (inner, _b) = outer.with_cancel();
        let (i2, o2) = (inner.clone(), outer.clone());
        outer
            .scope(async move {
                assert!(Context::current().same(&o2));
                let seen = i2.scope(async { Context::current() }).await;
                assert!(seen.same(&i2));
                assert!(Context::current().same(&o2), "restored after the inner scope");
                crate::task::yield_now().await;
                assert!(Context::current().same(&o2), "set again at every poll");
            })
            .await;
        assert!(Context::current().same(&Context::background()));
        let _ = inner;
    });
}

#[test]
fn spawn_inherits_the_current_context_and_plain_spawn_does_not() {
    let rt = rt(2);
    rt.block_on(async {
        let (ctx, cancel) = Context::background().with_cancel();
        let (inherited, plain) = ctx
            .scope(async {
                let a = super::spawn(async {
                    Context::current().cancelled().await;
                    Context::current().err()
                });
                let b = crate::spawn(async { Context::current() });
                (a, b)
            })
            .await;
        assert!(plain.await.unwrap().same(&Context::background()));
        cancel.cancel();
        assert_eq!(inherited.await.unwrap(), Some(ContextError::Cancelled));
    });
}

/// Threads derive children, drop them, cancel subtrees and cancel the
/// root twice, all at once: afterwards every surviving descendant is
/// cancelled, no cancel ran twice on a node (each `cancelled` waiter
/// wakes once), and the root's map is empty.
#[test]
fn cancels_racing_new_children_and_each_other_stay_consistent() {
    for _round in 0..50 {
        let (root, cancel_root) = Context::background().with_cancel();
        let start = Barrier::new(5);
        let kept = std::sync::Mutex::new(Vec::new());
        let woken = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..3 {
                let (root, start, kept) = (&root, &start, &kept);
                s.spawn(move || {
                    start.wait();
                    for i in 0..200 {
                        let (child, h) = root.with_cancel();
                        let (grandchild, gh) = child.with_cancel();
                        if (i + t) % 3 == 0 {
                            h.cancel();
                            assert!(grandchild.is_done());
                        }
                        if i % 2 == 0 {
                            kept.lock().unwrap().push((grandchild, gh));
                        }
                    }
                });
            }
            for _ in 0..2 {
                let (start, cancel_root) = (&start, &cancel_root);
                s.spawn(move || {
                    start.wait();
                    std::thread::yield_now();
                    cancel_root.cancel();
                });
            }
        });
        let kept = kept.into_inner().unwrap();
        for (c, _) in &kept {
            assert_eq!(c.err(), Some(ContextError::Cancelled), "a descendant survived the root's cancel");
            let fut = pin!(c.cancelled());
            if fut.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())).is_ready() {
                woken.fetch_add(1, SeqCst);
            }
        }
        assert_eq!(woken.load(SeqCst), kept.len());
        assert_eq!(root.child_count(), 0, "the cancel took the map; nothing registered after it");
        drop(kept);
    }
}
