//! `select!`, `join!` and `try_join!`: the branch order (random, or the
//! order written after `biased;`), preconditions, pattern mismatches and
//! `else`, completed branches in loops, the cooperative budget, drops,
//! and `join!`/`try_join!` (outputs in order, the first `Err` returned at
//! once with the rest dropped). No verdict depends on time: ready and
//! pending futures are built by hand, and the one test that needs a task
//! to yield counts loop iterations.

use std::cell::Cell;
use std::future::{pending, ready, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};

fn runtime() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(1).build().expect("runtime")
}

/// A future that counts its polls and returns `out` on the first one
/// (`None`: pending forever).
struct Counted<T> {
    polls: Rc<Cell<u32>>,
    out: Option<T>,
}

fn counted<T>(polls: &Rc<Cell<u32>>, out: Option<T>) -> Counted<T> {
    Counted { polls: polls.clone(), out }
}

impl<T: Unpin> Future for Counted<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        self.polls.set(self.polls.get() + 1);
        match self.out.take() {
            Some(v) => Poll::Ready(v),
            None => Poll::Pending,
        }
    }
}

/// Sets its flag when dropped; pending forever.
struct DropFlag(Arc<AtomicBool>);

impl Future for DropFlag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

/// Completes on its second poll (waking itself after the first).
struct SecondPoll(bool);

impl Future for SecondPoll {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn without_biased_the_first_branch_polled_varies() {
    let rt = runtime();
    let wins = rt.block_on(async {
        let mut wins = [0u32; 3];
        for _ in 0..3000 {
            let k = weft::select! {
                v = ready(0) => v,
                v = ready(1) => v,
                v = ready(2) => v,
            };
            wins[k] += 1;
        }
        wins
    });
    // A fair pick gives each about 1000; under 500 has a probability far
    // below 1e-50. A fixed order gives one branch 3000.
    assert!(wins.iter().all(|&w| w >= 500), "every ready branch wins about a third: {wins:?}");
}

#[test]
fn biased_always_picks_the_first_ready_branch_in_order() {
    let rt = runtime();
    rt.block_on(async {
        for _ in 0..1000 {
            let k = weft::select! {
                biased;
                v = ready(0) => v,
                v = ready(1) => v,
            };
            assert_eq!(k, 0);
        }
        let first = Rc::new(Cell::new(0));
        let k = weft::select! {
            biased;
            () = counted(&first, None) => 0,
            v = ready(1) => v,
            v = ready(2) => v,
        };
        assert_eq!(k, 1, "the first ready one in the order written");
        assert_eq!(first.get(), 1, "the pending first branch was polled once, first");
    });
}

#[test]
fn a_false_precondition_disables_its_branch_but_evaluates_its_future() {
    let rt = runtime();
    rt.block_on(async {
        let polls = Rc::new(Cell::new(0));
        let built = Cell::new(0);
        let make = |out| {
            built.set(built.get() + 1);
            counted(&polls, Some(out))
        };
        let k = weft::select! {
            biased;
            v = make(0), if false => v,
            v = make(1), if 1 + 1 == 2 => v,
        };
        assert_eq!(k, 1);
        assert_eq!(built.get(), 2, "every future is evaluated, also a disabled branch's");
        assert_eq!(polls.get(), 1, "the disabled branch's future is never polled");
    });
}

#[test]
fn else_runs_when_every_precondition_is_false() {
    let rt = runtime();
    rt.block_on(async {
        let polls = Rc::new(Cell::new(0));
        let v = weft::select! {
            v = counted(&polls, Some(1)), if false => v,
            v = counted(&polls, Some(2)), if false => v,
            else => 99,
        };
        assert_eq!(v, 99);
        assert_eq!(polls.get(), 0);
    });
}

#[test]
fn else_runs_when_every_output_fails_its_pattern() {
    let rt = runtime();
    rt.block_on(async {
        let v = weft::select! {
            Some(v) = ready(None::<u32>) => v,
            Ok(v) = ready(Err::<u32, ()>(())) => v,
            else => 7,
        };
        assert_eq!(v, 7);
    });
}

#[test]
fn a_pattern_mismatch_disables_that_branch_and_the_others_go_on() {
    let rt = runtime();
    rt.block_on(async {
        let polls = Rc::new(Cell::new(0));
        let v = weft::select! {
            biased;
            Some(v) = counted(&polls, Some(None::<u32>)) => v,
            () = SecondPoll(false) => 5,
        };
        assert_eq!(v, 5, "the branch that did not match gave way to the other");
        assert_eq!(polls.get(), 1, "the completed branch is not polled on the second poll");
    });
}

#[test]
fn every_branch_disabled_without_else_panics_with_a_message() {
    let result = std::panic::catch_unwind(|| {
        futures::executor::block_on(async {
            weft::select! {
                Some(v) = ready(None::<u32>) => v,
                v = ready(1), if false => v,
            }
        })
    });
    let err = result.expect_err("no branch can complete and there is no else");
    let msg =
        err.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| err.downcast_ref::<String>().cloned());
    assert!(msg.unwrap_or_default().contains("all branches are disabled"));
}

#[test]
fn mut_and_ref_bindings_in_patterns() {
    let rt = runtime();
    rt.block_on(async {
        let v = weft::select! {
            Some(mut v) = ready(Some(vec![1])) => {
                v.push(2);
                v
            }
        };
        assert_eq!(v, [1, 2]);
        let s = weft::select! {
            (ref a, mut b) = ready((String::from("x"), 1)) => {
                b += 1;
                format!("{a}{b}")
            }
        };
        assert_eq!(s, "x2");
        let n = weft::select! {
            Pair { left: Some(ref mut l), right } = ready(Pair { left: Some(1), right: 2 }) => {
                *l += right;
                *l
            }
        };
        assert_eq!(n, 3);
        let n = weft::select! {
            x @ (1 | 2) = ready(2) => x * 10,
            else => 0,
        };
        assert_eq!(n, 20);
        // Longer than four token trees: read a token at a time.
        let n = weft::select! {
            std::option::Option::Some(mut v) = ready(Some(1)), if n == 20 => {
                v += 1;
                v
            }
            std::option::Option::Some(v) = ready(Some(0)), if false => v,
        };
        assert_eq!(n, 2);
    });
}

struct Pair {
    left: Option<i32>,
    right: i32,
}

#[test]
fn the_losing_futures_are_dropped_before_the_handler_runs() {
    let rt = runtime();
    rt.block_on(async {
        let flag = Arc::new(AtomicBool::new(false));
        let mut data = vec![1];
        let dropped_first = weft::select! {
            () = DropFlag(flag.clone()) => unreachable!(),
            // Borrows `data` mutably; the handler may use it again.
            n = async { data.push(2); data.len() } => {
                data.push(3);
                (n, flag.load(SeqCst))
            }
        };
        assert_eq!(dropped_first, (2, true));
        assert_eq!(data, [1, 2, 3]);
    });
}

#[test]
fn handlers_break_and_continue_the_callers_loop() {
    let rt = runtime();
    rt.block_on(async {
        let mut seen = Vec::new();
        let mut i = 0;
        loop {
            i += 1;
            weft::select! {
                v = ready(i) => {
                    if v % 2 == 0 {
                        continue;
                    }
                    if v > 7 {
                        break;
                    }
                    seen.push(v);
                }
            }
        }
        assert_eq!(seen, [1, 3, 5, 7]);
    });
}

#[test]
fn a_loop_keeps_working_after_a_pinned_branch_completed() {
    let rt = runtime();
    rt.block_on(async {
        let polls = Rc::new(Cell::new(0));
        let mut once = std::pin::pin!(counted(&polls, Some("once")));
        let mut once_done = false;
        let mut ticks = 0;
        let mut order = Vec::new();
        while ticks < 5 {
            weft::select! {
                biased;
                s = &mut once, if !once_done => {
                    once_done = true;
                    order.push(s);
                }
                () = SecondPoll(false) => {
                    ticks += 1;
                    order.push("tick");
                }
            }
        }
        assert_eq!(order, ["once", "tick", "tick", "tick", "tick", "tick"]);
        assert_eq!(polls.get(), 1, "the completed future is never polled again");
    });
}

#[test]
fn into_future_values_and_join_handles_are_accepted() {
    struct Later(u8);
    impl std::future::IntoFuture for Later {
        type Output = u8;
        type IntoFuture = std::future::Ready<u8>;
        fn into_future(self) -> Self::IntoFuture {
            ready(self.0)
        }
    }
    let rt = runtime();
    rt.block_on(async {
        let v = weft::select! {
            v = Later(4) => v,
            () = pending::<()>() => 0,
        };
        assert_eq!(v, 4);
        let handle = weft::spawn(async { 9 });
        let v = weft::select! {
            Ok(v) = handle => v,
            () = pending::<()>() => 0,
        };
        assert_eq!(v, 9);
    });
}

/// With its budget spent a task must yield even if one branch is a future
/// that ignores the budget and is always ready: `select!` checks the
/// budget before polling. The loop's weft branch spends the budget; then
/// only the foreign branch completes, and without the check the task would
/// loop on it without ever giving the worker to the task it spawned.
#[cfg(feature = "sync")]
#[test]
fn select_yields_once_the_budget_is_spent() {
    let rt = weft::Runtime::builder().worker_threads(1).stall_threshold(None).build().expect("runtime");
    let iterations = rt.block_on(async {
        weft::spawn(async {
            let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
            for i in 0..100_000u32 {
                tx.send(i).unwrap();
            }
            let ran = Arc::new(AtomicBool::new(false));
            let flag = ran.clone();
            weft::spawn(async move { flag.store(true, SeqCst) });
            let mut iterations = 0u32;
            while !ran.load(SeqCst) {
                iterations += 1;
                assert!(iterations < 50_000, "the spawned task never ran: the loop did not yield");
                weft::select! {
                    biased;
                    Some(_) = rx.recv() => {}
                    () = ready(()) => {}
                }
            }
            iterations
        })
        .await
        .unwrap()
    });
    assert!(iterations <= 2 * 128 + 2, "yielded once the budget was spent: {iterations} iterations");
}

#[test]
fn join_returns_every_output_in_order_and_runs_them_concurrently() {
    let rt = runtime();
    rt.block_on(async {
        let (a, b, c) = weft::join!(ready(1u8), async { "two" }, SecondPoll(false));
        assert_eq!((a, b, c), (1, "two", ()));
        // The second completes only after the first made progress: they
        // must be polled in the same task, concurrently.
        let step = Cell::new(0);
        let (x, y) = weft::join!(
            async {
                step.set(1);
                SecondPoll(false).await;
                step.get()
            },
            async {
                while step.get() == 0 {
                    SecondPoll(false).await;
                }
                step.set(2);
                "done"
            },
        );
        assert_eq!((x, y), (2, "done"));
        assert_eq!(weft::join!(ready(5)), (5,));
    });
}

#[test]
fn try_join_returns_ok_of_every_value() {
    let rt = runtime();
    rt.block_on(async {
        let r = weft::try_join!(ready(Ok::<_, String>(1)), async { Ok("b") }, async {
            SecondPoll(false).await;
            Ok(3.5)
        });
        assert_eq!(r, Ok((1, "b", 3.5)));
    });
}

#[test]
fn try_join_returns_the_first_error_at_once_and_drops_the_rest() {
    let rt = runtime();
    rt.block_on(async {
        let dropped = Arc::new(AtomicBool::new(false));
        let later_polls = Rc::new(Cell::new(0));
        let flag = dropped.clone();
        let r: Result<((), u32, ()), &str> = weft::try_join!(
            async move {
                DropFlag(flag).await;
                Ok(())
            },
            async { Err("boom") },
            async {
                counted(&later_polls, None::<()>).await;
                Ok(())
            },
        );
        assert_eq!(r, Err("boom"));
        assert!(dropped.load(SeqCst), "the pending futures are dropped when try_join! returns");
        assert!(later_polls.get() <= 1, "nothing is polled after the error");
    });
}

#[test]
fn sixty_four_branches() {
    let rt = runtime();
    let v = rt.block_on(async {
        weft::select! {
                v = ready(0u32), if 0 == 63 => v,
                v = ready(1u32), if 1 == 63 => v,
                v = ready(2u32), if 2 == 63 => v,
                v = ready(3u32), if 3 == 63 => v,
                v = ready(4u32), if 4 == 63 => v,
                v = ready(5u32), if 5 == 63 => v,
                v = ready(6u32), if 6 == 63 => v,
                v = ready(7u32), if 7 == 63 => v,
                v = ready(8u32), if 8 == 63 => v,
                v = ready(9u32), if 9 == 63 => v,
                v = ready(10u32), if 10 == 63 => v,
                v = ready(11u32), if 11 == 63 => v,
                v = ready(12u32), if 12 == 63 => v,
                v = ready(13u32), if 13 == 63 => v,
                v = ready(14u32), if 14 == 63 => v,
                v = ready(15u32), if 15 == 63 => v,
                v = ready(16u32), if 16 == 63 => v,
                v = ready(17u32), if 17 == 63 => v,
                v = ready(18u32), if 18 == 63 => v,
                v = ready(19u32), if 19 == 63 => v,
                v = ready(20u32), if 20 == 63 => v,
                v = ready(21u32), if 21 == 63 => v,
                v = ready(22u32), if 22 == 63 => v,
                v = ready(23u32), if 23 == 63 => v,
                v = ready(24u32), if 24 == 63 => v,
                v = ready(25u32), if 25 == 63 => v,
                v = ready(26u32), if 26 == 63 => v,
                v = ready(27u32), if 27 == 63 => v,
                v = ready(28u32), if 28 == 63 => v,
                v = ready(29u32), if 29 == 63 => v,
                v = ready(30u32), if 30 == 63 => v,
                v = ready(31u32), if 31 == 63 => v,
                v = ready(32u32), if 32 == 63 => v,
                v = ready(33u32), if 33 == 63 => v,
                v = ready(34u32), if 34 == 63 => v,
                v = ready(35u32), if 35 == 63 => v,
                v = ready(36u32), if 36 == 63 => v,
                v = ready(37u32), if 37 == 63 => v,
                v = ready(38u32), if 38 == 63 => v,
                v = ready(39u32), if 39 == 63 => v,
                v = ready(40u32), if 40 == 63 => v,
                v = ready(41u32), if 41 == 63 => v,
                v = ready(42u32), if 42 == 63 => v,
                v = ready(43u32), if 43 == 63 => v,
                v = ready(44u32), if 44 == 63 => v,
                v = ready(45u32), if 45 == 63 => v,
                v = ready(46u32), if 46 == 63 => v,
                v = ready(47u32), if 47 == 63 => v,
                v = ready(48u32), if 48 == 63 => v,
                v = ready(49u32), if 49 == 63 => v,
                v = ready(50u32), if 50 == 63 => v,
                v = ready(51u32), if 51 == 63 => v,
                v = ready(52u32), if 52 == 63 => v,
                v = ready(53u32), if 53 == 63 => v,
                v = ready(54u32), if 54 == 63 => v,
                v = ready(55u32), if 55 == 63 => v,
                v = ready(56u32), if 56 == 63 => v,
                v = ready(57u32), if 57 == 63 => v,
                v = ready(58u32), if 58 == 63 => v,
                v = ready(59u32), if 59 == 63 => v,
                v = ready(60u32), if 60 == 63 => v,
                v = ready(61u32), if 61 == 63 => v,
                v = ready(62u32), if 62 == 63 => v,
                v = ready(63u32), if 63 == 63 => v,
        }
    });
    assert_eq!(v, 63, "only the last branch is enabled");
}

#[test]
fn select_works_outside_weft() {
    let n = AtomicUsize::new(0);
    futures::executor::block_on(async {
        for _ in 0..10 {
            weft::select! {
                () = SecondPoll(false) => n.fetch_add(1, SeqCst),
                () = pending::<()>() => unreachable!(),
            };
        }
    });
    assert_eq!(n.load(SeqCst), 10);
}
