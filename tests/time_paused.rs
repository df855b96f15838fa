//! The test clock: `time::pause`, `advance`, `resume`, auto-advance,
//! `Builder::start_paused` and `#[weft::test(start_paused = true)]`.
//!
//! Every verdict here is on clock time, which moves only as the test
//! tells it to, so none depends on how busy the machine is. The tests that
//! check that the clock does *not* move while something still runs give
//! that something real time (a blocked `spawn_blocking` closure, a busy
//! `block_on` poll) and assert what a correct clock never does in it.

#![cfg(all(feature = "time", feature = "sync"))]

use std::future::pending;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use weft::sync::{mpsc, oneshot};
use weft::time::{self, interval, sleep, timeout, Instant, MissedTickBehavior};
use weft::Runtime;

fn paused(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).start_paused(true).build().unwrap()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn a_paused_sleep_takes_exactly_its_duration_of_clock() {
    for workers in [1, 2, 4] {
        let rt = paused(workers);
        rt.block_on(async {
            let start = Instant::now();
            sleep(secs(3600)).await;
            assert_eq!(start.elapsed(), secs(3600));
            sleep(Duration::from_millis(7)).await;
            assert_eq!(start.elapsed(), secs(3600) + Duration::from_millis(7));
        });
    }
}

#[test]
fn the_paused_clock_stands_still_while_nothing_waits_on_it() {
    let rt = paused(2);
    rt.block_on(async {
        let a = Instant::now();
        // Real work and real waiting (a task round trip) move nothing.
        let n = weft::spawn(async { (0..1000u64).sum::<u64>() }).await.unwrap();
        assert_eq!(n, 499_500);
        weft::task::yield_now().await;
        assert_eq!(Instant::now(), a);
    });
}

#[test]
fn a_timeout_around_a_future_that_never_completes_elapses_on_clock_time() {
    let rt = paused(2);
    rt.block_on(async {
        let start = Instant::now();
        assert!(timeout(secs(30), pending::<()>()).await.is_err());
        assert_eq!(start.elapsed(), secs(30));
        // One that completes first is not affected.
        let quick = timeout(secs(30), sleep(secs(5))).await;
        assert!(quick.is_ok());
        assert_eq!(start.elapsed(), secs(35));
    });
}

#[test]
fn auto_advance_takes_sleeping_tasks_in_deadline_order() {
    let rt = paused(2);
    rt.block_on(async {
        let start = Instant::now();
        let (tx, mut rx) = mpsc::unbounded_channel();
        for n in [5u64, 1, 4, 2, 3] {
            let tx = tx.clone();
            weft::spawn(async move {
                sleep(secs(n)).await;
                tx.send((n, Instant::now())).unwrap();
            });
        }
        drop(tx);
        let mut seen = Vec::new();
        while let Some((n, at)) = rx.recv().await {
            seen.push((n, at - start));
        }
        assert_eq!(seen, (1..=5).map(|n| (n, secs(n))).collect::<Vec<_>>());
    });
}

#[test]
fn interval_ticks_land_exactly_on_the_period() {
    let rt = paused(2);
    rt.block_on(async {
        let mut i = interval(Duration::from_millis(250));
        let first = i.tick().await;
        for k in 1..=8u32 {
            let t = i.tick().await;
            assert_eq!(t, first + Duration::from_millis(250) * k);
            assert_eq!(Instant::now(), t, "tick {k} is seen at its instant");
        }
    });
}

/// A missed-tick scenario with exact figures: the task takes its first
/// tick, then the clock moves 3.5 periods while the interval is not
/// polled (`advance` from the task itself).
#[test]
fn missed_tick_behaviours_on_a_paused_clock() {
    const P: Duration = Duration::from_millis(40);
    let rt = paused(1);
    for behavior in [MissedTickBehavior::Burst, MissedTickBehavior::Delay, MissedTickBehavior::Skip] {
        let ticks = rt.block_on(async move {
            let mut i = interval(P);
            i.set_missed_tick_behavior(behavior);
            let start = i.tick().await;
            time::advance(P * 7 / 2).await;
            let mut out = Vec::new();
            for _ in 0..3 {
                let t = i.tick().await;
                out.push((t - start, Instant::now() - start));
            }
            out
        });
        let p = |n: u32| P * n / 2;
        let expect = match behavior {
            // Missed ticks at 1, 2, 3 P all due at 3.5 P: back to back.
            MissedTickBehavior::Burst => vec![(p(2), p(7)), (p(4), p(7)), (p(6), p(7))],
            // The late tick (due 1 P) is seen at 3.5 P; the schedule restarts
            // from there.
            MissedTickBehavior::Delay => vec![(p(2), p(7)), (p(9), p(9)), (p(11), p(11))],
            // The late tick, then the original schedule's next one after now.
            MissedTickBehavior::Skip => vec![(p(2), p(7)), (p(8), p(8)), (p(10), p(10))],
        };
        assert_eq!(ticks, expect, "{behavior:?}: (scheduled, seen) after start");
    }
}

#[test]
fn advance_fires_what_is_due_and_returns_once_the_woken_tasks_ran() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        time::pause();
        let start = Instant::now();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sleeps: Vec<_> = (1..=10u64).map(|n| sleep(secs(n))).collect();
        for (n, s) in (1..=10u64).zip(sleeps) {
            let tx = tx.clone();
            weft::spawn(async move {
                s.await;
                tx.send(n).unwrap();
            });
        }
        drop(tx);
        time::advance(Duration::from_millis(5500)).await;
        assert_eq!(Instant::now() - start, Duration::from_millis(5500));
        let mut seen = Vec::new();
        while let Ok(n) = rx.try_recv() {
            seen.push(n);
        }
        seen.sort_unstable();
        assert_eq!(seen, [1, 2, 3, 4, 5], "the sleeps due by 5.5 s, and only those");
        time::advance(secs(10)).await;
        while let Ok(n) = rx.try_recv() {
            seen.push(n);
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=10).collect::<Vec<_>>());
    });
}

#[test]
fn advance_from_a_task_and_from_block_on_agree() {
    let rt = paused(2);
    let from_task = rt.block_on(rt.spawn(async {
        let start = Instant::now();
        // The sleep is created here, so its deadline is 2 s from now, not
        // from whenever the task first runs.
        let nap = sleep(secs(2));
        let s = weft::spawn(nap);
        time::advance(secs(3)).await;
        assert!(s.is_finished(), "the sleeper ran when advance returned");
        Instant::now() - start
    }));
    assert_eq!(from_task.unwrap(), secs(3));
}

#[test]
fn resume_goes_on_from_the_paused_instant_and_never_back() {
    let rt = paused(1);
    rt.block_on(async {
        let start = Instant::now();
        time::advance(secs(3600)).await;
        time::resume();
        let after = Instant::now();
        assert!(after >= start + secs(3600));
        // A real sleep on the running clock: a short one completes.
        sleep(Duration::from_millis(2)).await;
        assert!(Instant::now() >= after + Duration::from_millis(2));
        // Pause again, and it stands still from there.
        time::pause();
        let p = Instant::now();
        assert!(p >= after);
        assert_eq!(Instant::now(), p);
        // Pausing twice and resuming twice are no-ops.
        time::pause();
        assert_eq!(Instant::now(), p);
        time::resume();
        time::resume();
        assert!(Instant::now() >= p);
    });
}

#[test]
#[should_panic(expected = "not paused")]
fn advance_on_a_running_clock_panics_with_a_clear_message() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        time::advance(secs(1)).await;
    });
}

#[test]
#[should_panic(expected = "outside a weft runtime")]
fn pause_outside_a_runtime_panics_with_a_clear_message() {
    time::pause();
}

#[test]
fn a_paused_runtime_leaves_other_clocks_alone() {
    let paused_rt = paused(1);
    let running = Runtime::builder().worker_threads(1).build().unwrap();
    let frozen = paused_rt.block_on(async { Instant::now() });
    // Outside any runtime, and inside another one, time is real.
    let outside = Instant::now();
    let inside_other = running.block_on(async {
        sleep(Duration::from_millis(2)).await;
        Instant::now()
    });
    assert!(inside_other >= outside + Duration::from_millis(2));
    assert_eq!(paused_rt.block_on(async { Instant::now() }), frozen);
}

/// A `spawn_blocking` closure in flight keeps the paused clock where it
/// is: its result may wake a task that would then have missed the time it
/// expected. The closure holds the pool for real time; a clock that moved
/// meanwhile would let the sleeper finish before the closure returns.
#[test]
fn running_blocking_work_holds_the_paused_clock() {
    let rt = paused(2);
    rt.block_on(async {
        let start = Instant::now();
        let slept = Arc::new(AtomicBool::new(false));
        let sleeper = {
            let slept = slept.clone();
            weft::spawn(async move {
                sleep(secs(1)).await;
                slept.store(true, SeqCst);
            })
        };
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let seen = slept.clone();
        let blocking = weft::task::spawn_blocking(move || {
            // Real time in which an idle runtime would have moved the clock.
            let _ = release_rx.recv_timeout(Duration::from_millis(200));
            seen.load(SeqCst)
        });
        let slept_during_blocking = blocking.await.unwrap();
        drop(release_tx);
        assert!(!slept_during_blocking, "the clock moved while a blocking closure ran");
        sleeper.await.unwrap();
        assert_eq!(start.elapsed(), secs(1));
    });
}

/// A `block_on` future that is busy (not waiting) keeps the paused clock
/// where it is, like a busy worker.
#[test]
fn a_busy_block_on_holds_the_paused_clock() {
    let rt = paused(2);
    rt.block_on(async {
        let slept = Arc::new(AtomicBool::new(false));
        let flag = slept.clone();
        let sleeper = weft::spawn(async move {
            sleep(secs(1)).await;
            flag.store(true, SeqCst);
        });
        // Let the sleeper register its timer (it then waits on it).
        let (ready_tx, ready_rx) = oneshot::channel::<()>();
        weft::spawn(async move {
            let _ = ready_tx.send(());
        });
        ready_rx.await.unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert!(!slept.load(SeqCst), "the clock moved while block_on was polling");
        sleeper.await.unwrap();
    });
}

#[test]
fn a_task_blocked_on_a_channel_is_not_woken_by_auto_advance() {
    let rt = paused(2);
    rt.block_on(async {
        let (tx, rx) = oneshot::channel::<u32>();
        let waiter = weft::spawn(rx);
        // The clock jumps an hour; the receiver stays pending.
        sleep(secs(3600)).await;
        assert!(!waiter.is_finished());
        tx.send(7).unwrap();
        assert_eq!(waiter.await.unwrap(), Ok(7));
    });
}

#[test]
fn context_deadlines_follow_the_paused_clock() {
    let rt = paused(2);
    rt.block_on(async {
        let (ctx, _cancel) = weft::context::Context::background().with_timeout(secs(30));
        assert_eq!(ctx.err(), None);
        let start = Instant::now();
        ctx.cancelled().await;
        assert_eq!(start.elapsed(), secs(30));
        assert_eq!(ctx.err(), Some(weft::context::ContextError::DeadlineExceeded));
    });
}

#[cfg(feature = "macros")]
#[weft::test(start_paused = true)]
async fn the_test_attribute_starts_the_clock_paused() {
    let start = Instant::now();
    sleep(secs(24 * 3600)).await;
    assert_eq!(start.elapsed(), secs(24 * 3600));
}

#[cfg(feature = "macros")]
#[weft::test(worker_threads = 2, start_paused = false)]
async fn start_paused_false_is_a_running_clock() {
    let start = Instant::now();
    sleep(Duration::from_millis(1)).await;
    assert!(start.elapsed() >= Duration::from_millis(1));
}
