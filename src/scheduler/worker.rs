//! The worker run loop: pick a task, run it; with nothing local, search the
//! injector and the other workers' queues; with nothing anywhere, park.
//!
//! Order of sources (Go's `findRunnable`, tokio's `next_task`):
//! 1. every `GLOBAL_POLL_INTERVAL` ticks, one task from the injector (so a
//!    busy worker cannot starve remote spawns);
//! 2. runnext (bounded streak), then the local queue;
//! 3. a batch from the injector;
//! 4. if allowed to search (`Idle::transition_to_searching`), steal half of a
//!    victim's queue, victims visited once each from a random start, then
//!    the injector again;
//! 5. park (docs/design/sleep.md).

use super::idle::Parked;
use super::queue::Core;
use super::{Handle, Shared, GLOBAL_POLL_INTERVAL};
use crate::loom::deque::Steal;
use crate::task::Notified;
use std::cell::{Cell, RefCell};
use std::ptr;

/// What the thread-local context of a worker thread points to.
pub(crate) struct WorkerContext {
    pub(crate) handle: Handle,
    /// The worker's core while a task is polled; `None` while the run loop
    /// holds it (then schedules go through the injector).
    pub(crate) core: RefCell<Option<Box<Core>>>,
}

crate::loom::thread_local! {
    static CURRENT: Cell<*const WorkerContext> = const { Cell::new(ptr::null()) };
}

/// Runs `f` with the current thread's worker context, if it is a worker.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&WorkerContext>) -> R) -> R {
    let ptr = CURRENT.try_with(|c| c.get()).unwrap_or(ptr::null());
    // SAFETY: CURRENT is set only by `run` to a WorkerContext on its stack
    // and reset before that frame returns (also on unwind, by the guard), so
    // a non-null pointer refers to a live context of this thread.
    f(unsafe { ptr.as_ref() })
}

impl Handle {
    /// Queues a woken or spawned task: on one of this runtime's workers, to
    /// its runnext slot (or the back of its queue for a yield); elsewhere, to
    /// the injector.
    pub(crate) fn schedule_task(&self, task: Notified, is_yield: bool) {
        let remote = with_current(|cx| {
            let Some(cx) = cx.filter(|cx| cx.handle.ptr_eq(self)) else { return Some(task) };
            let Ok(mut slot) = cx.core.try_borrow_mut() else { return Some(task) };
            let Some(core) = slot.as_mut() else { return Some(task) };
            let stealable = core.schedule(task, is_yield, &self.shared);
            drop(slot);
            if stealable {
                self.shared.notify_parked_local();
            }
            None
        });
        if let Some(task) = remote {
            self.shared.schedule_remote(task);
        }
    }
}

/// Resets CURRENT when the worker's frame ends, even by unwinding.
struct ResetCurrent;

impl Drop for ResetCurrent {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(ptr::null()));
    }
}

/// The body of a worker thread.
pub(crate) fn run(handle: Handle, core: Box<Core>) {
    let cx = WorkerContext { handle, core: RefCell::new(None) };
    CURRENT.with(|c| c.set(&cx));
    let _reset = ResetCurrent;
    let worker = Worker { cx: &cx, shared: &cx.handle.shared };
    let core = worker.run_loop(core);
    worker.exit(core);
}

struct Worker<'a> {
    cx: &'a WorkerContext,
    shared: &'a Shared,
}

impl Worker<'_> {
    fn run_loop(&self, mut core: Box<Core>) -> Box<Core> {
        loop {
            core.tick = core.tick.wrapping_add(1);
            if core.tick % GLOBAL_POLL_INTERVAL == 0 {
                self.maintenance(&core);
                if self.shared.is_shutdown() {
                    return core;
                }
            }
            if let Some(task) = self.next_task(&mut core) {
                core = self.run_task(core, task);
                continue;
            }
            if let Some(task) = self.search(&mut core) {
                core = self.run_task(core, task);
                continue;
            }
            if self.shared.is_shutdown() {
                return core;
            }
            core = self.park(core);
            if self.shared.is_shutdown() {
                return core;
            }
        }
    }

    fn maintenance(&self, core: &Core) {
        self.shared.stats[core.index].publish(&core.stats);
    }

    fn next_task(&self, core: &mut Core) -> Option<Notified> {
        if core.tick % GLOBAL_POLL_INTERVAL == 0 {
            if let Steal::Success(task) = self.shared.injector.steal() {
                core.stats.injector_pulls += 1;
                return Some(task);
            }
        }
        core.next_local(self.shared).or_else(|| core.pull_injector_and_pop(self.shared))
    }

    /// Steal from other workers (if the searching limit allows), then the
    /// injector once more.
    fn search(&self, core: &mut Core) -> Option<Notified> {
        if !core.is_searching {
            core.is_searching = self.shared.idle.transition_to_searching();
            if !core.is_searching {
                return None;
            }
        }
        let n = self.shared.num_workers();
        let start = core.rand.below(n);
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == core.index {
                continue;
            }
            let stealer = &self.shared.remotes[victim].stealer;
            let before = core.local.len();
            loop {
                match stealer.steal_batch_with_limit_and_pop(&core.local, usize::MAX) {
                    Steal::Success(task) => {
                        core.stats.steal_operations += 1;
                        core.stats.steals += (core.local.len() - before) as u64 + 1;
                        return Some(task);
                    }
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        core.pull_injector_and_pop(self.shared)
    }

    fn run_task(&self, mut core: Box<Core>, task: Notified) -> Box<Core> {
        if core.is_searching {
            core.is_searching = false;
            if self.shared.idle.transition_from_searching() {
                // We were the last searcher and may have taken a batch: keep
                // one worker searching (Go's `resetspinning`).
                let _ = self.shared.notify_parked();
            }
        }
        core.stats.polls += 1;
        *self.cx.core.borrow_mut() = Some(core);
        task.run();
        self.cx.core.borrow_mut().take().expect("weft: worker core missing after a poll")
    }

    fn park(&self, mut core: Box<Core>) -> Box<Core> {
        debug_assert!(!core.has_local_work());
        core.stats.parks += 1;
        self.maintenance(&core);
        let index = core.index;
        let parked = self.shared.idle.transition_to_parked(index, core.is_searching);
        core.is_searching = false;
        if parked == Parked::RecheckQueues && self.shared.has_stealable_work() {
            // We were the last to stop looking: make sure the work we see is
            // picked up (possibly by waking ourselves).
            let _ = self.shared.notify_parked();
        }
        let parker = &self.shared.remotes[index].parker;
        loop {
            if self.shared.is_shutdown() {
                return core;
            }
            parker.park();
            if self.shared.is_shutdown() {
                return core;
            }
            if !self.shared.idle.is_parked(index) {
                break;
            }
        }
        // The notifier counted us as unparked and searching.
        core.is_searching = true;
        core
    }

    /// Shutdown: cancel every task (any worker may; it is idempotent), drop
    /// what is left in our queues, report.
    fn exit(&self, mut core: Box<Core>) {
        self.shared.owned.close_and_shutdown_all();
        core.drain();
        self.maintenance(&core);
        self.shared.worker_exited();
    }
}
