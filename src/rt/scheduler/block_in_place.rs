//! `task::block_in_place`: run blocking code on a worker thread without
//! stalling the tasks queued behind it (Go's `entersyscallblock`: the M
//! hands its P to another thread before a blocking call, and takes one
//! back afterwards).
//!
//! On a worker, inside a poll: the worker's queued tasks (runnext and local
//! queue) go to the injector, its timer shard is announced to the rest of
//! the runtime, and the active-worker target is raised by one
//! (`Shared::begin_compensation`), which reactivates a spare worker that
//! takes the handed-back work. The worker keeps its core (its queue stays
//! empty: wakes and spawns from `f` go to the injector because the core is
//! not installed) and is not counted as stalled while `f` runs. Afterwards
//! the compensation ends (the extra worker retires at its next scheduling
//! point), the core is installed again and the rest of the poll continues
//! as usual. docs/design/stalls.md.

use super::worker::{with_current, WorkerContext};
use super::Shared;
use crate::rt::trace::Kind;

/// See [`crate::rt::task::block_in_place`].
pub(crate) fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
    with_current(|cx| {
        let Some(cx) = cx else { return f() };
        // Not inside a poll (no core installed), or nested: nothing to
        // hand off.
        let core = cx.core.try_borrow_mut().ok().and_then(|mut slot| slot.take());
        let Some(mut core) = core else { return f() };
        let shared: &Shared = &cx.handle.shared;
        let index = cx.index;
        core.hand_back(shared);
        // Stop counting as an unparked worker (an RMW after the pushes),
        // then notify (another RMW): the retire protocol's order
        // (docs/design/sleep.md, docs/design/stalls.md §4).
        shared.idle.begin_blocking();
        let compensated = shared.begin_compensation();
        let _ = shared.notify_parked();
        // Our timer shard is nobody else's to fire while we block.
        let _ = shared.announce_shard(index, None);
        let stamp = &shared.stamps[index];
        let task_id = stamp.task_id();
        // Not a stall: the blocking part is announced, not hidden; nor a
        // timed poll.
        stamp.end();
        crate::rt::clock::untime_poll();
        core.record(Kind::BlockInPlace, task_id, u64::from(compensated));
        let _back = Restore { cx, core: Some(core), compensated, task_id };
        f()
    })
}

/// Takes the worker role back when `f` returns or unwinds.
struct Restore<'a> {
    cx: &'a WorkerContext,
    core: Option<Box<super::core::Core>>,
    compensated: bool,
    task_id: u64,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let shared: &Shared = &self.cx.handle.shared;
        if self.compensated {
            shared.end_compensation();
        }
        shared.idle.end_blocking();
        if let Some(core) = self.core.as_mut() {
            core.record(Kind::BlockInPlaceEnd, self.task_id, 0);
        }
        *self.cx.core.borrow_mut() = self.core.take();
        // The rest of the poll is watched for stalls again (as a new poll:
        // the monitor times it from its next sample).
        shared.stamps[self.cx.index].begin(self.task_id);
    }
}
