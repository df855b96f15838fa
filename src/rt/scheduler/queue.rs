//! A worker's own run queue: a crossbeam `Worker` (FIFO; other workers steal
//! from it through its `Stealer`) bounded at `LOCAL_QUEUE_CAPACITY`, plus the
//! runnext slot, which only the owner sees.

use super::core::Core;
use super::{Shared, LOCAL_QUEUE_CAPACITY, MAX_INJECTOR_BATCH, MAX_RUNNEXT_STREAK};
use crate::loom::deque::Steal;
use crate::rt::task::Notified;
use crate::rt::task::Priority;

impl Core {
    /// Pushes to the back of the local queue. When the queue is full, the
    /// older half goes to the injector first (Go's `runqputslow`), so other
    /// workers can take it and the owner's queue stays cache-sized.
    ///
    /// Inlined: every yield and every displaced runnext task comes through
    /// here, and the overflow is out of line so that the push itself needs
    /// no registers of its own in the caller.
    #[inline(always)]
    pub(crate) fn push_back(&mut self, task: Notified, shared: &Shared) {
        if self.local.len() >= LOCAL_QUEUE_CAPACITY {
            self.overflow_half(shared);
        }
        self.local.push(task);
    }

    /// Moves the older half of the full local queue to the injector.
    #[cold]
    #[inline(never)]
    fn overflow_half(&mut self, shared: &Shared) {
        for _ in 0..LOCAL_QUEUE_CAPACITY / 2 {
            match self.local.pop() {
                Some(t) => shared.injector.push(t),
                None => break,
            }
        }
        self.stats.overflows += 1;
    }

    /// Schedules a woken or spawned task from the running task (a yield
    /// goes through `schedule_yield`). Returns true if the task
    /// landed where other workers can steal it (so one should be woken).
    ///
    /// By class (docs/design/priority.md, "runnext"): a Background task
    /// never takes the runnext slot; a task displaced from the slot goes to
    /// its own class's queue. The class is read from the task's immutable
    /// id word, in the header line this schedule has just written.
    #[inline]
    pub(crate) fn schedule(&mut self, task: Notified, shared: &Shared) -> bool {
        // A Normal task with a Normal task (or none) in runnext: the path
        // of a runtime without classes, behind one compare of the id word
        // and one of a field of ours.
        if !(task.0.raw().header().ident.is_normal() && self.runnext_class == Priority::Normal) {
            return self.schedule_classed(task, false, shared);
        }
        match self.runnext.replace(task) {
            Some(prev) => {
                self.push_back(prev, shared);
                true
            }
            None => false,
        }
    }

    /// `schedule` for a task that yielded: to the back of its queue, always
    /// where other workers can steal it. The path every yield takes is the
    /// class test, two emptiness tests and the push; the rest is out of
    /// line.
    #[inline(always)]
    pub(crate) fn schedule_yield(&mut self, task: Notified, shared: &Shared) {
        if task.0.raw().header().ident.is_normal()
            && self.runnext_class == Priority::Normal
            && self.runnext.is_empty()
            && shared.injector.is_empty()
        {
            self.push_back(task, shared);
        } else {
            self.schedule_yield_slow(task, shared);
        }
    }

    /// `schedule_yield` with a class in play, a runnext task or injected
    /// work.
    #[inline(never)]
    fn schedule_yield_slow(&mut self, task: Notified, shared: &Shared) {
        if !(task.0.raw().header().ident.is_normal() && self.runnext_class == Priority::Normal) {
            let _ = self.schedule_classed(task, true, shared);
            return;
        }
        // Everything already runnable goes ahead of the yielder: the
        // runnext task, and a batch of what waits in the injector (else,
        // on a lone worker, remote work would wait up to 61 ticks while
        // the yielder keeps coming back).
        if let Some(prev) = self.runnext.take() {
            self.push_back(prev, shared);
        }
        if !shared.injector.is_empty() {
            self.pull_injector_batch(shared);
        }
        self.push_back(task, shared);
    }

    /// `schedule` where the task or the runnext slot's task has a class.
    #[inline(never)]
    fn schedule_classed(&mut self, task: Notified, is_yield: bool, shared: &Shared) -> bool {
        let class = task.0.raw().header().priority();
        if class == Priority::Background {
            self.push_class(class, task, shared);
            return true;
        }
        if is_yield {
            // As in `schedule`. The slot is left empty, so its class goes
            // back to Normal (the fast path's condition).
            let prev_class = std::mem::replace(&mut self.runnext_class, Priority::Normal);
            if let Some(prev) = self.runnext.take() {
                self.push_class(prev_class, prev, shared);
            }
            if !shared.injector.is_empty() {
                self.pull_injector_batch(shared);
            }
            self.push_class(class, task, shared);
            return true;
        }
        let prev_class = std::mem::replace(&mut self.runnext_class, class);
        match self.runnext.replace(task) {
            Some(prev) => {
                self.push_class(prev_class, prev, shared);
                true
            }
            None => false,
        }
    }

    /// Moves a batch from the injector into the local queue: Go's
    /// `globrunqget` size, `min(len / workers + 1, 128)`. crossbeam takes at
    /// most half of a block per call, so this calls again until the batch is
    /// complete or the injector is empty. Returns the first task of the
    /// batch, which the caller runs, or `None` if the injector was empty.
    #[inline]
    pub(crate) fn pull_injector_and_pop(&mut self, shared: &Shared) -> Option<Notified> {
        self.pull_class_injector_and_pop(Priority::Normal, shared)
    }

    /// `pull_injector_and_pop` for `class`'s injector and local deque.
    pub(crate) fn pull_class_injector_and_pop(
        &mut self,
        class: Priority,
        shared: &Shared,
    ) -> Option<Notified> {
        let injector = shared.injector_of(class);
        if injector.is_empty() {
            return None;
        }
        let want = (injector.len() / shared.active_workers() + 1).min(MAX_INJECTOR_BATCH);
        let local = self.queue_of(class);
        let before = local.len();
        let first = loop {
            match injector.steal_batch_with_limit_and_pop(local, want) {
                Steal::Success(task) => break task,
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        };
        // Bounded: thieves may be draining our queue while we fill it, which
        // would keep `taken` low; a few rounds are plenty (each moves up to
        // half a block).
        for _ in 0..8 {
            let taken = 1 + local.len().saturating_sub(before);
            if taken >= want {
                break;
            }
            match injector.steal_batch_with_limit(local, want - taken) {
                Steal::Success(()) | Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
        self.stats.injector_pulls += 1;
        Some(first)
    }

    /// As `pull_injector_and_pop`, keeping the whole batch queued.
    fn pull_injector_batch(&mut self, shared: &Shared) {
        if let Some(first) = self.pull_injector_and_pop(shared) {
            self.push_back(first, shared);
        }
    }

    /// The next local task: runnext (at most `MAX_RUNNEXT_STREAK` in a row,
    /// then it yields to the queue), else the front of the local queue.
    #[inline]
    pub(crate) fn next_local(&mut self, shared: &Shared) -> Option<Notified> {
        if let Some(task) = self.runnext.take() {
            if self.runnext_streak < MAX_RUNNEXT_STREAK {
                self.runnext_streak += 1;
                self.stats.runnext_hits += 1;
                return Some(task);
            }
            self.end_runnext_streak(task, shared);
        }
        self.runnext_streak = 0;
        self.local.pop()
    }

    /// Two tasks waking each other would starve the queue: `task`, taken
    /// from runnext at the end of its streak, goes to the back (of its
    /// class's queue). Out of line: it keeps the push off the run loop.
    #[cold]
    #[inline(never)]
    fn end_runnext_streak(&mut self, task: Notified, shared: &Shared) {
        self.push_class(self.runnext_class, task, shared);
    }

    /// Any task in the runnext slot or a local deque of any class.
    pub(crate) fn has_local_work(&self) -> bool {
        !self.runnext.is_empty() || self.has_queued_work()
    }

    /// Any task in a local deque of any class (what thieves can take).
    pub(crate) fn has_queued_work(&self) -> bool {
        !self.local.is_empty() || !self.crit.is_empty() || !self.bg.is_empty()
    }

    /// Moves every queued task (runnext first, then each class's local
    /// queue in order) to its class's injector, for a worker that retires or
    /// blocks. Returns how many.
    pub(crate) fn hand_back(&mut self, shared: &Shared) -> usize {
        let mut n = 0;
        if let Some(task) = self.runnext.take() {
            shared.injector_of(self.runnext_class).push(task);
            n += 1;
        }
        for class in Priority::ALL {
            while let Some(task) = self.queue_of(class).pop() {
                shared.injector_of(class).push(task);
                n += 1;
            }
        }
        self.runnext_streak = 0;
        n
    }

    /// Drops every queued task (shutdown: the owned list cancels them).
    pub(crate) fn drain(&mut self) {
        drop(self.runnext.take());
        for class in Priority::ALL {
            while let Some(task) = self.queue_of(class).pop() {
                drop(task);
            }
        }
    }
}
