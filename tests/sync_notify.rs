//! `weft::sync::Notify`: one stored permit, FIFO `notify_one`,
//! `notify_waiters` without a stored permit, pass-on when a chosen
//! `Notified` is dropped, `enable`, cross-thread and runtime use, budget.
#![cfg(feature = "sync")]

#[path = "common/thread_block_on.rs"]
mod tbo;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use tbo::{block_on, poll_with, CountWaker};
use weft::sync::{Notify, Semaphore};

#[test]
fn notify_one_with_no_waiter_stores_exactly_one_permit() {
    let notify = Notify::new();
    notify.notify_one();
    notify.notify_one();
    notify.notify_one();
    let (w, _) = CountWaker::new();
    let mut first = pin!(notify.notified());
    assert!(poll_with(first.as_mut(), &w).is_ready(), "the permit was not stored");
    let mut second = pin!(notify.notified());
    assert!(poll_with(second.as_mut(), &w).is_pending(), "more than one permit was stored");
}

#[test]
fn notify_one_wakes_waiters_in_fifo_order() {
    let notify = Notify::new();
    let (wa, ca) = CountWaker::new();
    let (wb, cb) = CountWaker::new();
    let mut a = pin!(notify.notified());
    let mut b = pin!(notify.notified());
    assert!(poll_with(a.as_mut(), &wa).is_pending());
    assert!(poll_with(b.as_mut(), &wb).is_pending());
    notify.notify_one();
    assert_eq!((ca.count(), cb.count()), (1, 0));
    assert!(poll_with(b.as_mut(), &wb).is_pending());
    assert!(poll_with(a.as_mut(), &wa).is_ready());
    notify.notify_one();
    assert_eq!(cb.count(), 1);
    assert!(poll_with(b.as_mut(), &wb).is_ready());
}

#[test]
fn notify_waiters_wakes_everyone_registered_and_stores_nothing() {
    let notify = Notify::new();
    let (w, wakes) = CountWaker::new();
    let mut a = pin!(notify.notified());
    let mut b = pin!(notify.notified());
    assert!(poll_with(a.as_mut(), &w).is_pending());
    assert!(poll_with(b.as_mut(), &w).is_pending());
    // Created before the call but never polled: also released.
    let mut unpolled = pin!(notify.notified());
    notify.notify_waiters();
    assert_eq!(wakes.count(), 2);
    assert!(poll_with(a.as_mut(), &w).is_ready());
    assert!(poll_with(b.as_mut(), &w).is_ready());
    assert!(poll_with(unpolled.as_mut(), &w).is_ready());
    let mut later = pin!(notify.notified());
    assert!(poll_with(later.as_mut(), &w).is_pending(), "notify_waiters stored a permit");
}

#[test]
fn a_dropped_notified_passes_its_notification_on() {
    let notify = Notify::new();
    let (wa, _) = CountWaker::new();
    let (wb, cb) = CountWaker::new();
    let mut b = pin!(notify.notified());
    {
        let mut a = pin!(notify.notified());
        assert!(poll_with(a.as_mut(), &wa).is_pending());
        assert!(poll_with(b.as_mut(), &wb).is_pending());
        notify.notify_one(); // picks a
        assert_eq!(cb.count(), 0);
    } // a dropped without seeing it
    assert_eq!(cb.count(), 1, "the notification did not pass to b");
    assert!(poll_with(b.as_mut(), &wb).is_ready());

    // With nobody left, it goes back to the permit.
    {
        let mut c = pin!(notify.notified());
        assert!(poll_with(c.as_mut(), &wa).is_pending());
        notify.notify_one();
    }
    let mut d = pin!(notify.notified());
    assert!(poll_with(d.as_mut(), &wa).is_ready(), "the notification was lost");
}

#[test]
fn a_dropped_waiting_notified_is_unlinked() {
    let notify = Notify::new();
    let (w, wakes) = CountWaker::new();
    {
        let mut a = pin!(notify.notified());
        assert!(poll_with(a.as_mut(), &w).is_pending());
    }
    // No waiter left: the notification is stored, nobody is woken.
    notify.notify_one();
    assert_eq!(wakes.count(), 0);
    assert!(poll_with(pin!(notify.notified()), &w).is_ready());
}

#[test]
fn enable_registers_without_polling() {
    let notify = Notify::new();
    let mut a = pin!(notify.notified());
    assert!(!a.as_mut().enable());
    notify.notify_one(); // picks the enabled waiter, stores nothing
    let (w, _) = CountWaker::new();
    assert!(poll_with(pin!(notify.notified()), &w).is_pending());
    assert!(poll_with(a.as_mut(), &w).is_ready());
    // Enabling with a stored permit consumes it at once.
    notify.notify_one();
    let mut b = pin!(notify.notified());
    assert!(b.as_mut().enable());
    assert!(poll_with(b.as_mut(), &w).is_ready());
}

#[test]
fn a_notification_from_another_thread_wakes_block_on() {
    for _ in 0..100 {
        let notify = Arc::new(Notify::new());
        let t = {
            let notify = notify.clone();
            std::thread::spawn(move || notify.notify_one())
        };
        block_on(notify.notified());
        t.join().unwrap();
    }
}

#[test]
fn notify_waiters_releases_100_tasks_on_a_runtime() {
    let rt = weft::Runtime::builder().worker_threads(4).build().unwrap();
    let notify = Arc::new(Notify::new());
    let registered = Arc::new(Semaphore::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (notify, registered, finished) = (notify.clone(), registered.clone(), finished.clone());
                weft::spawn(async move {
                    let mut n = pin!(notify.notified());
                    n.as_mut().enable();
                    registered.add_permits(1);
                    n.await;
                    finished.fetch_add(1, SeqCst);
                })
            })
            .collect();
        registered.acquire_many(100).await.unwrap().forget();
        notify.notify_waiters();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(finished.load(SeqCst), 100);
}

#[test]
fn notify_one_ping_pong_between_tasks_loses_nothing() {
    let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    const ROUNDS: usize = 2_000;
    let ping = Arc::new(Notify::new());
    let pong = Arc::new(Notify::new());
    rt.block_on(async {
        let other = {
            let (ping, pong) = (ping.clone(), pong.clone());
            weft::spawn(async move {
                for _ in 0..ROUNDS {
                    ping.notified().await;
                    pong.notify_one();
                }
            })
        };
        for _ in 0..ROUNDS {
            ping.notify_one();
            pong.notified().await;
        }
        other.await.unwrap();
    });
}

/// `Notified` takes part in the cooperative budget: in one poll of a weft
/// task, ready `notified()` futures complete until the budget is spent.
#[test]
fn a_notified_loop_yields_when_the_budget_is_spent() {
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    let n = rt.block_on(async {
        weft::spawn(async {
            let notify = Notify::new();
            let mut first_poll = true;
            std::future::poll_fn(|cx| {
                if !first_poll {
                    return Poll::Ready(None);
                }
                first_poll = false;
                for i in 0..10_000usize {
                    notify.notify_one();
                    let mut n = pin!(notify.notified());
                    if n.as_mut().poll(cx).is_pending() {
                        return Poll::Ready(Some(i));
                    }
                }
                Poll::Ready(None)
            })
            .await
        })
        .await
        .unwrap()
    });
    let n = n.expect("10,000 notifications completed in one poll: no budget");
    assert!((1..=128).contains(&n), "{n} before yielding");
}
