//! The owned-tasks list: every live task of a runtime, so that shutdown can
//! cancel tasks that sit in no queue (waiting on a waker nobody will call)
//! and so that later task dumps can walk them.
//!
//! An intrusive doubly linked list per shard; a task's shard is chosen by its
//! id, so spawns and completions on different workers rarely meet on a lock.
//! The links live in the task header and are only touched under the shard's
//! lock. `closed` is set before shutdown drains the shards and is checked
//! under the shard lock on insert, so a task spawned during shutdown is
//! either drained or refused, never missed.
//!
//! A task whose `JoinHandle` still exists when it completes stays listed
//! until the handle reads the output or is dropped (`remove` from the join
//! side): task dumps show it as complete-but-unjoined (its state word says
//! COMPLETE). The completer does not touch the list then, so a joined
//! task costs one shard lock at spawn and one at join, as a detached one
//! costs one at spawn and one at completion. `len` therefore counts listed
//! tasks, complete or not; the scheduler counts "not yet completed" apart
//! (`Shared::num_alive_tasks`). The reference argument is in
//! docs/design/task.md ("List membership").
//!
//! Several threads may drain the list at shutdown (each exiting worker and
//! the thread that shuts the runtime down). A drain that found a shard
//! empty cannot tell whether another drain is still cancelling what it took
//! from it, so every drain is counted from before its first shard lock to
//! after its last cancellation, and `wait_for_drains` waits for the count
//! to reach zero: the shutting-down thread returns only once every task
//! that was idle is cancelled (docs/design/shutdown.md).

use super::raw::{Header, RawTask};
use super::{Notified, Task};
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::{Condvar, Mutex};
use crossbeam_utils::CachePadded;
use std::ptr::NonNull;

/// A task's place in its shard. Guarded by the shard lock.
///
/// Two words: the `linked` flag rides in the low bit of the `prev` pointer
/// (headers are at least 8-aligned), which keeps a small task's cell
/// within glibc's 128-byte fast bins (docs/design/task.md, "Cell size").
pub(crate) struct Links {
    /// The previous task's header (null: none) | `LINKED`.
    prev_and_flags: *mut Header,
    next: Option<NonNull<Header>>,
}

/// In the shard's list.
const LINKED: usize = 1;
const FLAGS: usize = LINKED;
const _: () = assert!(std::mem::align_of::<Header>() > FLAGS);

impl Default for Links {
    fn default() -> Links {
        Links { prev_and_flags: std::ptr::null_mut(), next: None }
    }
}

impl Links {
    fn prev(&self) -> Option<NonNull<Header>> {
        NonNull::new(self.prev_and_flags.map_addr(|a| a & !FLAGS))
    }

    fn set_prev(&mut self, prev: Option<NonNull<Header>>) {
        let flags = self.prev_and_flags.addr() & FLAGS;
        let p = prev.map_or(std::ptr::null_mut(), NonNull::as_ptr);
        self.prev_and_flags = p.map_addr(|a| a | flags);
    }

    fn linked(&self) -> bool {
        self.prev_and_flags.addr() & LINKED != 0
    }

    fn set_linked(&mut self, linked: bool) {
        let flags = if linked { LINKED } else { 0 };
        self.prev_and_flags = self.prev_and_flags.map_addr(|a| (a & !FLAGS) | flags);
    }
}

struct Shard {
    head: Option<NonNull<Header>>,
    len: usize,
    /// Tasks ever bound to this shard, refused ones included (counted
    /// here, under a lock we take anyway, instead of in a shared atomic).
    spawned: u64,
}

// SAFETY: the raw pointers are task headers, which are Send + Sync; they are
// only dereferenced under this shard's lock.
unsafe impl Send for Shard {}

pub(crate) struct OwnedTasks {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    mask: usize,
    closed: AtomicBool,
    /// Drains in progress (`close_and_shutdown_all` calls that have not
    /// finished cancelling what they took).
    drains: Mutex<usize>,
    /// Signalled when `drains` drops to zero.
    drains_done: Condvar,
}

/// Counts one drain in progress; its drop (also on unwind) ends it.
struct DrainInProgress<'a>(&'a OwnedTasks);

impl Drop for DrainInProgress<'_> {
    fn drop(&mut self) {
        let mut drains = self.0.drains.lock();
        *drains -= 1;
        if *drains == 0 {
            self.0.drains_done.notify_all();
        }
    }
}

/// Runs `f` on a task's links. Caller holds the lock of the task's shard.
fn with_links<R>(task: NonNull<Header>, f: impl FnOnce(&mut Links) -> R) -> R {
    // SAFETY: the header is live (the list holds a reference to every linked
    // task, and the caller holds one to the task it passes in), and the links
    // are only accessed under the shard lock, which the caller holds.
    unsafe { task.as_ref() }.links.with_mut(|ptr| f(unsafe { &mut *ptr }))
}

impl OwnedTasks {
    pub(crate) fn new(num_shards: usize) -> OwnedTasks {
        let n = num_shards.max(1).next_power_of_two();
        OwnedTasks {
            shards: (0..n)
                .map(|_| CachePadded::new(Mutex::new(Shard { head: None, len: 0, spawned: 0 })))
                .collect(),
            mask: n - 1,
            closed: AtomicBool::new(false),
            drains: Mutex::new(0),
            drains_done: Condvar::new(),
        }
    }

    fn shard(&self, task: &RawTask) -> &Mutex<Shard> {
        &self.shards[task.header().ident.shard_key() & self.mask]
    }

    /// Adds a new task. Returns its first `Notified`, or `None` if the list
    /// is closed, in which case the task has been cancelled on this thread.
    pub(crate) fn bind(&self, task: Task, notified: Notified) -> Option<Notified> {
        let raw = task.raw();
        {
            let mut shard = self.shard(&raw).lock();
            // A refused task is cancelled below, which counts as a
            // completion (`Schedule::task_completing`): count it spawned
            // too, so that spawned - completed stays the live count.
            shard.spawned += 1;
            // Relaxed: `closed` is only written before a drain that takes
            // every shard lock; reading it under our shard's lock orders us
            // against that drain.
            if !self.closed.load(Ordering::Relaxed) {
                let ptr = raw.header_ptr();
                let old_head = shard.head;
                with_links(ptr, |l| {
                    l.set_prev(None);
                    l.next = old_head;
                    l.set_linked(true);
                });
                if let Some(h) = old_head {
                    with_links(h, |l| l.set_prev(Some(ptr)));
                }
                shard.head = Some(ptr);
                shard.len += 1;
                // The list keeps the Task reference.
                std::mem::forget(task);
                return Some(notified);
            }
        }
        // Closed: the runtime is shutting down. Cancel now.
        drop(notified);
        task.shutdown();
        None
    }

    /// Unlinks a task (completed, or joined after completion); returns the
    /// list's reference if it was still linked (shutdown or an earlier
    /// `remove` may have taken it already). Caller holds a reference.
    pub(crate) fn remove(&self, raw: RawTask) -> Option<Task> {
        let mut shard = self.shard(&raw).lock();
        let ptr = raw.header_ptr();
        let (linked, prev, next) = with_links(ptr, |l| {
            let out = (l.linked(), l.prev(), l.next.take());
            l.set_prev(None);
            l.set_linked(false);
            out
        });
        if !linked {
            return None;
        }
        match prev {
            Some(p) => with_links(p, |l| l.next = next),
            None => shard.head = next,
        }
        if let Some(n) = next {
            with_links(n, |l| l.set_prev(prev));
        }
        shard.len -= 1;
        Some(Task::from_raw(raw))
    }

    /// Refuses new tasks from now on and cancels every task in the list.
    /// Idempotent; several threads may call it at once.
    pub(crate) fn close_and_shutdown_all(&self) {
        // Counted before the first shard lock: a drain that later finds a
        // shard empty because we emptied it takes that lock after us, and
        // so (through the lock) sees this count in `wait_for_drains`.
        *self.drains.lock() += 1;
        let _in_progress = DrainInProgress(self);
        // Relaxed: see `bind`; the shard locks below order the flag.
        self.closed.store(true, Ordering::Relaxed);
        for shard in self.shards.iter() {
            let drained: Vec<Task> = {
                let mut shard = shard.lock();
                let mut out = Vec::with_capacity(shard.len);
                while let Some(ptr) = shard.head {
                    let next = with_links(ptr, |l| {
                        l.set_linked(false);
                        l.set_prev(None);
                        l.next.take()
                    });
                    if let Some(n) = next {
                        with_links(n, |l| l.set_prev(None));
                    }
                    shard.head = next;
                    out.push(Task::from_raw(RawTask::from_raw(ptr)));
                }
                shard.len = 0;
                out
            };
            // Outside the lock: cancelling drops futures, whose destructors
            // may spawn or complete other tasks.
            for task in drained {
                task.shutdown();
            }
        }
    }

    /// Waits until no drain is in progress on any thread. Called after the
    /// caller's own `close_and_shutdown_all`: every task that was listed
    /// then has been taken by some drain, and each of those drains was
    /// counted before it took anything, so when the count is zero every
    /// such task has been through `Task::shutdown` (cancelled if it was
    /// idle; marked CANCELLED for the worker running it otherwise).
    pub(crate) fn wait_for_drains(&self) {
        let mut drains = self.drains.lock();
        while *drains > 0 {
            drains = self.drains_done.wait(drains);
        }
    }

    /// Number of listed tasks, complete-but-unjoined ones included (locks
    /// each shard briefly; for `LocalSet::len` and tests).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len).sum()
    }

    /// Appends `copy(header)` to `out` for every listed task, shard by
    /// shard, holding that shard's lock (and no other) while it copies the
    /// shard; `out` grows at most once per shard, by the shard's length. The
    /// list's reference keeps each header alive during its copy. For task
    /// dumps: `copy` must only read plain data out of the header (never
    /// call into the task, never block).
    pub(crate) fn copy_all<T>(&self, out: &mut Vec<T>, mut copy: impl FnMut(&Header) -> T) {
        for shard in self.shards.iter() {
            let shard = shard.lock();
            out.reserve(shard.len);
            let mut cur = shard.head;
            while let Some(ptr) = cur {
                // SAFETY: `ptr` is linked in this shard, whose lock we hold:
                // the list owns a reference to it, so the header is live,
                // and only shared access is made (immutable fields and
                // atomics).
                out.push(copy(unsafe { ptr.as_ref() }));
                cur = with_links(ptr, |l| l.next);
            }
        }
    }

    /// How many listed tasks `pred` holds for, shard by shard, holding
    /// that shard's lock (and no other) while it walks the shard, as
    /// `copy_all` does; allocates nothing. `pred` must only read plain
    /// data out of the header (never call into the task, never block).
    pub(crate) fn count(&self, mut pred: impl FnMut(&Header) -> bool) -> usize {
        let mut n = 0;
        for shard in self.shards.iter() {
            let shard = shard.lock();
            let mut cur = shard.head;
            while let Some(ptr) = cur {
                // SAFETY: as in `copy_all`: linked in this locked shard,
                // so live, and only shared access is made.
                n += usize::from(pred(unsafe { ptr.as_ref() }));
                cur = with_links(ptr, |l| l.next);
            }
        }
        n
    }

    /// The name and spawn location of live task `id` (walks one shard
    /// under its lock; for stall reports, not for hot paths).
    #[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's; no monitor under loom
    pub(crate) fn describe(
        &self,
        id: super::Id,
    ) -> Option<(Option<String>, &'static std::panic::Location<'static>)> {
        let shard = self.shards[id.shard_key() & self.mask].lock();
        let mut cur = shard.head;
        while let Some(ptr) = cur {
            // SAFETY: linked tasks are live (the list holds a reference to
            // each) and we hold the shard lock, so the links are stable.
            let header = unsafe { ptr.as_ref() };
            if header.id() == id {
                return Some((header.meta.name().map(|n| n.to_string()), header.meta.location()));
            }
            cur = with_links(ptr, |l| l.next);
        }
        None
    }

    /// Tasks ever spawned (bound, or refused at shutdown) onto this list.
    /// Each shard's count is read under its lock, which orders it after
    /// every bind that released that lock before.
    pub(crate) fn spawned_count(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().spawned).sum()
    }
}
