//! The active-worker target (docs/design/topology.md, "retiring a
//! worker"): the monitor lowers or raises it while workers run, search and
//! park. A task left in a retired worker's queue, or a retired worker that
//! misses its reactivation, shows as a loom deadlock (the main thread
//! parked in `block_on` forever); a task run twice or never dropped fails
//! the counters.

use super::{model, model_min_preemptions, Counter, DropCount};
use crate::loom::sync::Arc;
use crate::rt::scheduler::idle::Idle;
use crate::rt::scheduler::park::Parker;
use crate::Runtime;

fn runtime() -> Runtime {
    Runtime::builder().worker_threads(2).build().expect("loom runtime")
}

/// The target drops to 1 as the runtime starts, racing a task spawned
/// from outside: worker 1 may take the task before it notices (then it
/// runs it, or hands it back when it retires), retire while searching, or
/// retire from its parked state. The task must run exactly once and the
/// main thread must be woken (a lost hand-back is a deadlock).
#[test]
fn lowering_the_target_races_a_remote_spawn() {
    model(|| {
        let rt = runtime();
        let shared = rt.handle().inner.shared.clone();
        shared.set_active_workers(1);
        let drops = Counter::default();
        let guard = DropCount(drops.clone());
        let join = rt.spawn(async move {
            let _guard = guard;
            5
        });
        assert_eq!(rt.block_on(join).expect("task ran"), 5);
        drop(rt);
        assert_eq!(drops.get(), 1, "the future was not dropped exactly once");
    });
}

/// As above, but the task spawns a child and waits for it: when the parent
/// runs on worker 1, the child sits in worker 1's runnext slot (which no
/// other worker can steal from) when worker 1 may notice the lowered target.
/// `Worker::retire` must hand it to the injector; without that the child
/// never runs and the main thread deadlocks (checked by hand).
#[test]
fn retiring_hands_back_the_runnext_task() {
    model(|| {
        let rt = runtime();
        let shared = rt.handle().inner.shared.clone();
        let drops = Counter::default();
        let guard = DropCount(drops.clone());
        let parent = rt.spawn(async move {
            let child = crate::spawn(async move {
                let _guard = guard;
                5
            });
            child.await.expect("child ran")
        });
        shared.set_active_workers(1);
        assert_eq!(rt.block_on(parent).expect("parent ran"), 5);
        drop(rt);
        assert_eq!(drops.get(), 1, "the child's future was not dropped exactly once");
    });
}

/// The raise-vs-retire hand-off on the idle state and the parkers alone
/// (a whole-runtime model of this race has too many interleavings to
/// finish at LOOM_MAX_PREEMPTIONS=2). Worker 1, running, sees the
/// target below it and retires as `Worker::retire` does (`Idle::retire`,
/// then park until no longer retired) while the monitor lowers the target
/// to 1 and raises it back to 2, unparking whom `set_active` names. Worker 1
/// must end active: it never retired (`retire` saw the raise under the
/// lock), or it retired and the raise reactivated and woke it. A missed
/// reactivation is a deadlock; the counts must add up at the end.
#[test]
fn raise_races_retire() {
    model_min_preemptions(4, || {
        let idle = Arc::new(Idle::new(2, 2));
        let parkers = Arc::new([Parker::new(), Parker::new()]);
        let worker = {
            let idle = idle.clone();
            let parkers = parkers.clone();
            loom::thread::spawn(move || {
                if idle.active() <= 1 && idle.retire(1) {
                    while idle.is_retired(1) {
                        parkers[1].park();
                    }
                    return true;
                }
                false
            })
        };
        for target in [1, 2] {
            let change = idle.set_active(target);
            for &i in change.reactivated.iter().chain(&change.to_retire) {
                parkers[i].unpark();
            }
        }
        let retired_and_back = worker.join().expect("worker thread");
        let s = idle.load();
        assert_eq!(s.num_retired(), 0, "worker 1 is still retired");
        assert_eq!(s.num_unparked(), 2);
        // A reactivated worker comes back as a searcher, like a woken one.
        assert_eq!(s.num_searching(), usize::from(retired_and_back));
        assert_eq!(idle.active(), 2);
    });
}

/// `task::block_in_place` (docs/design/stalls.md): the parent spawns a
/// child (it lands in the parent worker's runnext slot, which no other
/// worker can steal) and then blocks its worker until the child has run.
/// The hand-off must move the child to the injector and wake the other
/// worker; without `hand_back` (or without the notify after it) the child
/// never runs and the model deadlocks. Under loom the runtime has no spare
/// slots, so this checks the hand-off itself, not the compensation (which
/// is the active-target raise the models above cover).
#[test]
fn block_in_place_hands_the_runnext_task_to_another_worker() {
    use crate::loom::sync::{Condvar, Mutex};
    model(|| {
        let rt = runtime();
        let drops = Counter::default();
        let guard = DropCount(drops.clone());
        let parent = rt.spawn(async move {
            let done = Arc::new((Mutex::new(false), Condvar::new()));
            let done2 = done.clone();
            let child = crate::spawn(async move {
                let _guard = guard;
                *done2.0.lock() = true;
                done2.1.notify_one();
            });
            crate::task::block_in_place(|| {
                let mut ran = done.0.lock();
                while !*ran {
                    ran = done.1.wait(ran);
                }
            });
            child.await.expect("child ran");
        });
        rt.block_on(parent).expect("parent ran");
        drop(rt);
        assert_eq!(drops.get(), 1, "the child's future was not dropped exactly once");
    });
}
