//! The monitor's compensation hand-off (docs/design/stalls.md, "The
//! compensation hand-off under loom"): a poll blocks its worker, the
//! monitor moves the worker's runnext task to the injector and begins a
//! compensation (a retired slot comes in and runs it), then ends it while
//! the poll still blocks (the slot retires and hands whatever it holds
//! back to the injector), then the poll returns.
//!
//! Under loom the runtime has no spare slots, so the model lowers the quota
//! part of the target to 1 on a 2-worker runtime: slot 1 is then exactly
//! what a spare is (a retired slot that `begin_compensation` reactivates
//! and `end_compensation` retires again). A lost task (left in a retired
//! slot's queue, or in a runnext slot nobody takes) or a missed
//! reactivation shows as a loom deadlock; a task run twice or never
//! dropped fails the counters.

use super::{model, Counter, DropCount};

/// loom at a preemption bound of 1 (not CI's 2): a whole runtime with a
/// stalled worker, a reactivated slot and the monitor's thread is too large
/// to search deeper in minutes.
fn one_preemption<F: Fn() + Sync + Send + 'static>(f: F) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(1);
    let start = std::time::Instant::now();
    builder.check(f);
    println!("loom: compensation model done in {:.1?} (preemption bound 1)", start.elapsed());
}
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::Runtime;

/// Steps of the model, in order; the parent, the children and the
/// "monitor" (the main thread) wait for each other through them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Step {
    /// The parent spawned its child and now blocks its worker.
    Stalled,
    /// Child A ran (on the other worker: the parent's blocks).
    ChildRan,
    /// The monitor ended the compensation; the parent's poll may return.
    Released,
}

struct Steps {
    at: Mutex<Option<Step>>,
    cv: Condvar,
}

impl Steps {
    fn new() -> Steps {
        Steps { at: Mutex::new(None), cv: Condvar::new() }
    }

    fn set(&self, step: Step) {
        let mut at = self.at.lock();
        if at.is_none_or(|s| s < step) {
            *at = Some(step);
        }
        self.cv.notify_all();
    }

    fn wait(&self, step: Step) {
        let mut at = self.at.lock();
        while at.is_none_or(|s| s < step) {
            at = self.cv.wait(at);
        }
    }
}

/// The core of the hand-off: as below without the grandchild and the release step. The parent on
/// slot 0 spawns A into its runnext slot and blocks until A has run; the
/// monitor moves A to the injector, begins a compensation, waits for A
/// and ends the compensation (racing the reactivated slot's search, run
/// and park). A lost A or a missed reactivation is a deadlock; A must be
/// dropped exactly once.
#[test]
fn a_compensating_slot_runs_the_stalled_workers_runnext_task() {
    one_preemption(|| {
        let rt = Runtime::builder().worker_threads(2).build().expect("loom runtime");
        let shared = rt.handle().inner.shared.clone();
        shared.set_quota_target(1);
        while !shared.is_retired(1) {
            loom::thread::yield_now();
        }
        let steps = Arc::new(Steps::new());
        let drops = Counter::default();
        let guard = DropCount(drops.clone());
        let parent = {
            let steps = steps.clone();
            rt.spawn(async move {
                let s2 = steps.clone();
                let a = crate::spawn(async move {
                    let _guard = guard;
                    s2.set(Step::ChildRan);
                });
                steps.set(Step::Stalled);
                steps.wait(Step::ChildRan);
                a.await.expect("child A ran");
            })
        };
        steps.wait(Step::Stalled);
        if let Some(task) = shared.remotes()[0].runnext.steal() {
            shared.schedule_remote(task);
        }
        assert!(shared.begin_compensation(), "a retired slot is free to come in");
        steps.wait(Step::ChildRan);
        shared.end_compensation();
        rt.block_on(parent).expect("parent ran");
        drop(rt);
        assert_eq!(drops.get(), 1, "task A's future was not dropped exactly once");
    });
}

/// The long model (not finished in 14 minutes of CPU at two preemptions
/// on a loaded 2-core machine; `--ignored` runs it).
/// Slot 1 retires before the model's race begins (the main thread waits
/// for it, so the start-up race of `active.rs` stays out of this model).
/// The parent, on slot 0, spawns child A (into slot 0's runnext slot) and
/// blocks its worker until A has run and the monitor lets it go. The
/// monitor does what `stall::hand_off` does for a stalled worker (runnext
/// task to the injector, `begin_compensation`) and waits for A, which
/// only the reactivated slot can run. A spawns grandchild C (into the
/// reactivated slot's runnext slot) before it signals; the monitor then
/// ends the compensation while the parent still blocks, so the slot may
/// retire holding C and must hand it back. A and C must each run exactly
/// once and the parent must finish.
#[test]
#[ignore = "long: run with --ignored (docs/design/stalls.md, section 8)"]
fn a_stalled_workers_task_survives_compensation_begin_and_end() {
    model(|| {
        let rt = Runtime::builder().worker_threads(2).build().expect("loom runtime");
        let shared = rt.handle().inner.shared.clone();
        // Slot 1 retires: the spare of this model.
        shared.set_quota_target(1);
        while !shared.is_retired(1) {
            loom::thread::yield_now();
        }
        let steps = Arc::new(Steps::new());
        let drops = [Counter::default(), Counter::default()];
        let guards = [DropCount(drops[0].clone()), DropCount(drops[1].clone())];
        let parent = {
            let steps = steps.clone();
            rt.spawn(async move {
                let [guard_a, guard_c] = guards;
                let s2 = steps.clone();
                // Child A hands its own child's handle back: the parent
                // awaits both, in order.
                #[allow(clippy::async_yields_async)]
                let a = crate::spawn(async move {
                    let _guard = guard_a;
                    let c = crate::spawn(async move {
                        let _guard = guard_c;
                    });
                    s2.set(Step::ChildRan);
                    c
                });
                // The stalled poll: the worker thread blocks.
                steps.set(Step::Stalled);
                steps.wait(Step::Released);
                let c = a.await.expect("child A ran");
                c.await.expect("grandchild C ran");
            })
        };
        // The monitor.
        steps.wait(Step::Stalled);
        if let Some(task) = shared.remotes()[0].runnext.steal() {
            shared.schedule_remote(task);
        }
        assert!(shared.begin_compensation(), "a retired slot is free to come in");
        steps.wait(Step::ChildRan);
        shared.end_compensation();
        assert_eq!(shared.compensations(), 0);
        steps.set(Step::Released);
        rt.block_on(parent).expect("parent ran");
        drop(rt);
        for (d, name) in drops.iter().zip(["A", "C"]) {
            assert_eq!(d.get(), 1, "task {name}'s future was not dropped exactly once");
        }
    });
}
