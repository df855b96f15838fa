//! The monitor's compensation hand-off (docs/design/stalls.md, "The
//! compensation hand-off under loom"): a poll blocks its worker, the
//! monitor moves the worker's runnext task to the injector and begins a
//! compensation (a retired slot comes in and steals the blocked worker's
//! queue), then ends it while the poll still blocks (the slot retires and
//! hands whatever it holds back to the injector), then the poll returns.
//!
//! Under loom the runtime has no spare slots, so the model lowers the quota
//! part of the target to 1 on a 2-worker runtime: slot 1 is then exactly
//! what a spare is (a retired slot that `begin_compensation` reactivates
//! and `end_compensation` retires again). A lost task (left in a retired
//! slot's queue, or in a runnext slot nobody takes) or a missed
//! reactivation shows as a loom deadlock; a task run twice or never
//! dropped fails the counters.

use super::{model, Counter, DropCount};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::Runtime;

/// Steps of the model, in order; the parent, the children and the
/// "monitor" (the main thread) wait for each other through them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Step {
    /// The parent spawned both children and now blocks its worker.
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

/// The parent spawns child A (into its worker's runnext slot) and child B
/// (which pushes A into the local queue and takes the slot), then blocks
/// its worker until A has run and the monitor lets it go. The monitor
/// does what `stall::hand_off` does for a stalled worker (runnext to the
/// injector, `begin_compensation`), waits for A, and ends the compensation
/// before the poll returns, so the slot that came in may retire holding B
/// (taken from the injector into its own queue) and must hand it back.
/// Both children must run exactly once and the parent must finish.
#[test]
fn a_stalled_workers_queue_survives_compensation_begin_and_end() {
    model(|| {
        let rt = Runtime::builder().worker_threads(2).build().expect("loom runtime");
        let shared = rt.handle().inner.shared.clone();
        // Slot 1 retires (it may take work first): the spare of this model.
        shared.set_quota_target(1);
        let steps = Arc::new(Steps::new());
        let drops = [Counter::default(), Counter::default()];
        let guards = [DropCount(drops[0].clone()), DropCount(drops[1].clone())];
        let parent = {
            let steps = steps.clone();
            rt.spawn(async move {
                let [guard_a, guard_b] = guards;
                let s2 = steps.clone();
                let a = crate::spawn(async move {
                    let _guard = guard_a;
                    s2.set(Step::ChildRan);
                });
                let b = crate::spawn(async move {
                    let _guard = guard_b;
                });
                // The stalled poll: the worker thread blocks.
                steps.set(Step::Stalled);
                steps.wait(Step::Released);
                a.await.expect("child A ran");
                b.await.expect("child B ran");
            })
        };
        // The monitor.
        steps.wait(Step::Stalled);
        for remote in shared.remotes.iter() {
            if let Some(task) = remote.runnext.steal() {
                shared.schedule_remote(task);
            }
        }
        assert!(shared.begin_compensation(), "a retired slot is free to come in");
        steps.wait(Step::ChildRan);
        shared.end_compensation();
        assert_eq!(shared.compensations(), 0);
        steps.set(Step::Released);
        rt.block_on(parent).expect("parent ran");
        drop(rt);
        for (d, name) in drops.iter().zip(["A", "B"]) {
            assert_eq!(d.get(), 1, "child {name}'s future was not dropped exactly once");
        }
    });
}
