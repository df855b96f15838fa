//! The active-worker target (docs/design/topology.md, "retiring a
//! worker"): the monitor lowers or raises it while workers run, search and
//! park. A task left in a retired worker's queue, or a retired worker that
//! misses its reactivation, shows as a loom deadlock (the main thread
//! parked in `block_on` forever); a task run twice or never dropped fails
//! the counters.

use super::{model, Counter, DropCount};
use crate::Runtime;

fn runtime() -> Runtime {
    Runtime::builder().worker_threads(2).build().expect("loom runtime")
}

/// The target drops to 1 while a task spawned from outside spawns a child
/// (into the local queue of whichever worker runs the parent) and waits
/// for it. Worker 1 may retire before it starts, while searching, while
/// parked, or between the parent and the child: the child must still run
/// exactly once, on worker 0.
#[test]
fn lowering_the_target_hands_back_queued_work() {
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

/// A second thread (the monitor's role) lowers and then raises the target
/// while a task is spawned and awaited: a worker that retired must be
/// woken by the raise (or never retire), and shutdown must still join
/// every worker, retired or not.
#[test]
fn raising_the_target_races_retirement() {
    model(|| {
        let rt = runtime();
        let shared = rt.handle().inner.shared.clone();
        let monitor = loom::thread::spawn(move || {
            shared.set_active_workers(1);
            shared.set_active_workers(2);
        });
        let drops = Counter::default();
        let guard = DropCount(drops.clone());
        let join = rt.spawn(async move {
            let _guard = guard;
            3
        });
        assert_eq!(rt.block_on(join).expect("task ran"), 3);
        monitor.join().expect("monitor thread");
        assert_eq!(rt.metrics().active_workers(), 2);
        drop(rt);
        assert_eq!(drops.get(), 1, "the future was not dropped exactly once");
    });
}
