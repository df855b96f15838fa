//! Helpers for the task-dump tests: a runtime, a hang-guarded wait for a
//! condition the dump will show, and a task's entry in a dump.

use std::thread;
use std::time::{Duration, Instant};
use weft::task::{Id, TaskDump, TaskInfo};

pub fn rt(workers: usize) -> weft::Runtime {
    weft::Runtime::builder().worker_threads(workers).build().expect("build runtime")
}

/// Looks at `f` every millisecond until it returns `Some`; panics after a
/// minute (a hang guard, not a verdict).
#[track_caller]
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Task `id`'s entry in `dump`, if it is listed.
pub fn find(dump: &TaskDump, id: Id) -> Option<TaskInfo> {
    dump.tasks().iter().find(|t| t.id() == id).cloned()
}
