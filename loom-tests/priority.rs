//! The background cap's token protocol (`rt::scheduler::class::BgTokens`,
//! docs/design/priority.md, "The cap"), on the real token counter and the
//! mocked queues:
//! - a token holder giving its token back races a worker without a token
//!   that holds a Background task and is about to park: the task is run by
//!   the parker (it saw the free token) or, if the parker parked, the giver
//!   saw the task in the injector and wakes a worker. Never stranded.
//! - workers taking and giving back tokens: never more holders than the
//!   cap.

use super::{model, Outcomes};
use crate::loom::deque::{Injector, Worker};
use crate::loom::sync::Arc;
use crate::rt::scheduler::class::BgTokens;
use loom::thread;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

#[test]
fn a_returned_token_and_a_parking_worker_never_strand_a_background_task() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let tokens = Arc::new(BgTokens::new(Some(1)));
        let injector = Arc::new(Injector::<usize>::new());
        // The giver holds the only token.
        assert!(tokens.try_take());
        let woke = std::sync::Arc::new(AtomicBool::new(false));
        let giver = {
            let (tokens, injector, woke) = (tokens.clone(), injector.clone(), woke.clone());
            thread::spawn(move || {
                // It picks a task of another class: the token goes back,
                // and queued Background work gets a worker woken for it.
                if tokens.give_back_then(|| !injector.is_empty()) {
                    woke.store(true, SeqCst);
                }
            })
        };
        // The parker holds a Background task it has no token for.
        let queue = Worker::<usize>::new_fifo();
        queue.push(7);
        let mut ran = false;
        let mut parked = false;
        for _ in 0..3 {
            if tokens.try_take() {
                // Its next pick: the task, from its queue or where it
                // handed it.
                let task = queue.pop().or_else(|| match injector.steal() {
                    crate::loom::deque::Steal::Success(t) => Some(t),
                    _ => None,
                });
                ran = task == Some(7);
                break;
            }
            if tokens.hand_off_before_park(&queue, &injector) {
                parked = true;
                break;
            }
        }
        giver.join().unwrap();
        assert!(ran || parked, "the parker neither ran the task nor parked");
        if parked {
            assert!(!injector.is_empty(), "the parker parked without handing off its task");
            assert!(woke.load(SeqCst), "stranded: the parker slept and the giver woke nobody");
            seen.saw("parked; the giver woke a worker");
        } else {
            seen.saw("the parker took the returned token and ran the task");
        }
    });
    outcomes.assert_all_seen(&[
        "parked; the giver woke a worker",
        "the parker took the returned token and ran the task",
    ]);
}

#[test]
fn never_more_token_holders_than_the_cap() {
    model(|| {
        let tokens = Arc::new(BgTokens::new(Some(1)));
        let holders = std::sync::Arc::new(AtomicUsize::new(0));
        let worker = |tokens: Arc<BgTokens>, holders: std::sync::Arc<AtomicUsize>| {
            move || {
                for _ in 0..2 {
                    if tokens.try_take() {
                        let now = holders.fetch_add(1, SeqCst) + 1;
                        assert!(now <= 1, "{now} workers hold a token under a cap of 1");
                        holders.fetch_sub(1, SeqCst);
                        tokens.give_back();
                    }
                }
            }
        };
        let a = thread::spawn(worker(tokens.clone(), holders.clone()));
        let b = thread::spawn(worker(tokens.clone(), holders.clone()));
        worker(tokens.clone(), holders.clone())();
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(tokens.free_now(), 1, "every token came back");
    });
}
