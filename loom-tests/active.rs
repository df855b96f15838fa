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

/// Lowered, a task spawned, raised again, all while the workers start,
/// search, retire and park: a worker that retired must be woken by the
/// raise (or never retire), the task must run once, and shutdown must join
/// every worker, retired or not.
#[test]
fn raising_the_target_races_retirement() {
    model(|| {
        let rt = runtime();
        let shared = rt.handle().inner.shared.clone();
        shared.set_active_workers(1);
        let drops = Counter::default();
        let guard = DropCount(drops.clone());
        let join = rt.spawn(async move {
            let _guard = guard;
            3
        });
        shared.set_active_workers(2);
        assert_eq!(rt.block_on(join).expect("task ran"), 3);
        assert_eq!(rt.metrics().active_workers(), 2);
        drop(rt);
        assert_eq!(drops.get(), 1, "the future was not dropped exactly once");
    });
}
