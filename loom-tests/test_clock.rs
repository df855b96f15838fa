//! The paused test clock's idleness hand-off (docs/design/test-clock.md)
//! on a real runtime with its clock paused: the clock may move only when
//! the runtime is idle, and whoever ends up idle last (a worker parking,
//! the `block_on` thread falling asleep) must make the netpoller's owner
//! look again. A lost look shows as a loom deadlock: the worker blocked in
//! the netpoller with no timeout, the main thread asleep in `block_on`,
//! and a timer nobody moves the clock to.

use super::{model, model_min_preemptions};
use crate::time::{self, sleep, Instant};
use crate::Runtime;
use std::time::Duration;

fn paused_runtime() -> Runtime {
    Runtime::builder().worker_threads(1).start_paused(true).build().expect("loom runtime")
}

/// `block_on` sleeps on a paused clock: the worker parks in the netpoller
/// while the main thread polls, registers the timer and falls asleep, in
/// every order; auto-advance must then move the clock to the deadline.
#[test]
fn auto_advance_reaches_a_sleep_in_block_on() {
    model(|| {
        let rt = paused_runtime();
        let elapsed = rt.block_on(async {
            let start = Instant::now();
            sleep(Duration::from_millis(3)).await;
            start.elapsed()
        });
        assert_eq!(elapsed, Duration::from_millis(3));
        drop(rt);
    });
}

/// `advance` from `block_on` while a task sleeps on a worker: the advance
/// fires the task's timer and completes only once the task has run (its
/// `JoinHandle` is finished when `advance` returns). At least 4
/// preemptions: the interleaving where the netpoller's owner computes its
/// timeout before the `advance` and checks idleness after it (a due timer
/// left unfired) needs them.
#[test]
fn advance_returns_after_the_woken_task_ran() {
    model_min_preemptions(4, || {
        let rt = paused_runtime();
        rt.block_on(async {
            let nap = sleep(Duration::from_millis(1));
            let task = crate::spawn(nap);
            time::advance(Duration::from_millis(2)).await;
            assert!(task.is_finished(), "advance returned before the woken task ran");
        });
        drop(rt);
    });
}

/// Two workers: a task sleeps on one of them while the other and the
/// `block_on` thread go idle in any order; whichever is idle last must
/// make the netpoller's owner look again (a worker parking off the
/// poller writes its waker), and auto-advance reaches the task's timer.
#[test]
fn auto_advance_reaches_a_task_sleeping_on_two_workers() {
    model(|| {
        let rt = Runtime::builder().worker_threads(2).start_paused(true).build().expect("loom runtime");
        let elapsed = rt.block_on(rt.spawn(async {
            let start = Instant::now();
            sleep(Duration::from_millis(2)).await;
            start.elapsed()
        }));
        assert_eq!(elapsed.expect("task ran"), Duration::from_millis(2));
        drop(rt);
    });
}
