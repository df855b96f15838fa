//! Task ids: unique for the life of the process, handed out without a shared
//! write per spawn (each thread reserves a block of ids at a time).

use crate::loom::sync::atomic::{Ordering, StaticAtomicU64};
use crate::rt::context;
use std::fmt;

/// A task's id, unique among all tasks of the process.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// let (a, b) = (rt.spawn(async {}), rt.spawn(async {}));
/// assert_ne!(a.id(), b.id());
/// println!("task {} and task {}", a.id(), b.id().as_u64());
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub(crate) u64);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

const BLOCK: u64 = 1024;
static NEXT_BLOCK: StaticAtomicU64 = StaticAtomicU64::new(1);

impl Id {
    pub(crate) fn next() -> Id {
        // The thread's reserved block: the context's `task_ids`.
        context::with(|cx| {
            let cell = &cx.task_ids;
            let (mut next, mut end) = cell.get();
            if next == end {
                // Relaxed: only uniqueness matters, which the RMW gives.
                next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                end = next + BLOCK;
            }
            cell.set((next + 1, end));
            Id(next)
        })
        // No context (loom thread teardown): take a single id.
        .unwrap_or_else(|| Id(NEXT_BLOCK.fetch_add(1, Ordering::Relaxed)))
    }

    /// The id as a number.
    pub fn as_u64(&self) -> u64 {
        self.0
    }
}
