//! `Notify` (`src/sync/notify.rs`, docs/design/sync.md "Notify"):
//! `notify_one` racing a `Notified` that registers, `notify_one` racing the
//! drop of the `Notified` it may pick (the notification passes on), and
//! `notify_waiters` racing a new `Notified`.
//!
//! Searched to a preemption bound of 4, as the semaphore models.
//!
//! Waiting uses the condvar-backed `block_on` of the semaphore models, so
//! a lost notification shows as loom's "deadlock". Each model also checks
//! that no extra permit was left behind (a fresh `Notified` is pending).

use super::sync_semaphore::block_on;
use super::{flag_waker, model_min_preemptions, Outcomes};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use crate::loom::sync::Arc;
use crate::sync::Notify;
use loom::thread;
use std::future::Future;
use std::task::{Context, Poll};

/// No permit left over: a fresh `Notified` does not complete.
fn assert_no_permit(notify: &Notify) {
    let mut fresh = Box::pin(notify.notified());
    assert!(super::poll_once(&mut fresh).is_pending(), "a notification was duplicated or stored twice");
}

/// `notify_one` (after a Relaxed write) on another thread racing a
/// `Notified` that polls, finds nothing and registers: the waiter completes
/// (no lost wake-up) and sees the write, whether it consumed the stored
/// permit, was picked while queued and saw it on a re-poll, or was woken.
#[test]
fn notify_one_races_notified_registering() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let notify = Arc::new(Notify::new());
        let data = Arc::new(AtomicUsize::new(0));
        let notifier = {
            let (notify, data) = (notify.clone(), data.clone());
            thread::spawn(move || {
                data.store(1, Relaxed);
                notify.notify_one();
            })
        };
        let mut notified = Box::pin(notify.notified());
        if super::poll_once(&mut notified).is_ready() {
            seen.saw("permit consumed at the first poll");
        } else if super::poll_once(&mut notified).is_ready() {
            seen.saw("picked while queued, seen by a re-poll");
        } else {
            seen.saw("queued, then woken");
            block_on(notified);
        }
        assert_eq!(data.load(Relaxed), 1, "notified without the notifier's write");
        notifier.join().unwrap();
        assert_no_permit(&notify);
    });
    outcomes.assert_all_seen(&[
        "permit consumed at the first poll",
        "picked while queued, seen by a re-poll",
        "queued, then woken",
    ]);
}

/// A (queued first) is dropped on the main thread while `notify_one` runs
/// on another and B registers and waits on a third. If `notify_one` picked
/// A, A's drop passes the notification to B (or to the permit, if B had
/// not registered yet): B always completes, and nothing is left over.
#[test]
fn notify_one_races_a_dropped_notified() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let notify = Arc::new(Notify::new());
        let mut a = Box::pin(notify.notified());
        assert!(super::poll_once(&mut a).is_pending());
        let b = {
            let notify = notify.clone();
            thread::spawn(move || block_on(notify.notified()))
        };
        let notifier = {
            let notify = notify.clone();
            thread::spawn(move || notify.notify_one())
        };
        // A re-poll before the drop: either A already got the
        // notification (then B needs another one), or A is dropped while
        // queued or after being picked (then the drop must pass it on).
        let (waker, _wakes, _dropped) = flag_waker();
        if a.as_mut().poll(&mut Context::from_waker(&waker)) == Poll::Ready(()) {
            // A saw it: it is consumed, B needs another one.
            seen.saw("A consumed it");
            notify.notify_one();
        } else {
            seen.saw("A dropped while queued or picked");
        }
        drop(a);
        b.join().unwrap();
        notifier.join().unwrap();
        assert_no_permit(&notify);
    });
    outcomes.assert_all_seen(&["A consumed it", "A dropped while queued or picked"]);
}

/// `notify_waiters` on another thread racing the creation and first poll
/// of a new `Notified` C, while A (registered before) waits: A is released;
/// C is released if it existed before the call and otherwise waits (no
/// stored permit); if C was woken, it is ready.
#[test]
fn notify_waiters_races_a_new_notified() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let notify = Arc::new(Notify::new());
        // A registers before the notifier thread exists.
        let mut a = Box::pin(notify.notified());
        let (a_waker, a_wakes, _a_dropped) = flag_waker();
        assert!(a.as_mut().poll(&mut Context::from_waker(&a_waker)).is_pending());
        let notifier = {
            let notify = notify.clone();
            thread::spawn(move || notify.notify_waiters())
        };
        let mut c = Box::pin(notify.notified());
        let (waker, wakes, _dropped) = flag_waker();
        let first = c.as_mut().poll(&mut Context::from_waker(&waker));
        notifier.join().unwrap();
        assert_eq!(a_wakes.get(), 1, "a registered waiter was not woken");
        assert!(super::poll_once(&mut a).is_ready());
        if first.is_ready() {
            seen.saw("C released at its first poll");
        } else if wakes.get() > 0 {
            seen.saw("C woken");
            assert!(super::poll_once(&mut c).is_ready(), "C woken but not ready");
        } else if super::poll_once(&mut c).is_ready() {
            seen.saw("C created before the call, released at its second poll");
        } else {
            seen.saw("C created after the call, waits");
        }
        assert_no_permit(&notify);
    });
    outcomes.assert_all_seen(&["C released at its first poll", "C woken"]);
}
