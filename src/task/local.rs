//! `LocalSet` and `spawn_local`: `!Send` futures run on the thread that
//! polls the set.
//!
//! # Invariants
//! - A local task is an ordinary weft task (same cell, state word,
//!   `JoinHandle`, wakers) whose scheduler is [`LocalScheduler`]; it is
//!   created by `new_local_task`, whose contract this module keeps: every
//!   `Notified` of the task is run by the set's owner thread (the local
//!   queue is the owner's; the remote queue is drained into it by the
//!   owner), and the set cancels its remaining tasks on that thread when
//!   it is dropped.
//! - Local wakes (on the owner thread, while the set is being polled) go to
//!   the local queue; every other wake goes to the remote queue and wakes
//!   whoever polls the set (shared.rs has the protocol).
//! - One poll of the set runs at most [`MAX_TASKS_PER_POLL`] tasks, then
//!   yields (waking itself), so a busy set cannot starve the future or
//!   runtime that drives it.
//!
//! docs/design/joinset.md ("LocalSet") has the argument.

use super::JoinHandle;
use crate::rt::local::context::{self, Context as SetContext};
use crate::rt::local::shared::{LocalScheduler, LocalSetShared, Park};
use crate::rt::task::Meta;
use crate::runtime::Runtime;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};

/// Local tasks run per poll of the set before it yields.
pub(crate) const MAX_TASKS_PER_POLL: usize = 64;

/// Every this many tasks, the remote queue is looked at even if the local
/// queue is not empty (so remote wakes are not starved by local ones).
const REMOTE_INTERVAL: usize = 31;

/// A set of tasks that run on the current thread, so they need not be
/// `Send` (they may hold `Rc`, `RefCell`, thread-bound handles).
///
/// The tasks run while the set is driven: by
/// [`run_until`](LocalSet::run_until) (with a future of its own), by
/// [`block_on`](LocalSet::block_on) on a runtime, or by awaiting the set
/// itself (it is a `Future` that completes once all its tasks have). Inside
/// them [`spawn_local`] adds more tasks. They can await anything weft
/// offers (timers, sockets, the `JoinHandle` of a task spawned onto the
/// runtime's workers): wakes from other threads reach the set.
///
/// Dropping the set cancels its remaining tasks, dropping their futures on
/// the set's thread. Once the set has been driven inside a runtime (its
/// `block_on`, or a task of it), that runtime's task dumps list the set's
/// tasks too ([`TaskInfo::is_local`](crate::task::TaskInfo::is_local)).
///
/// ```
/// use std::rc::Rc;
/// use std::cell::RefCell;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// let local = weft::task::LocalSet::new();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let out = local.block_on(&rt, {
///     let log = log.clone();
///     async move {
///         let child = weft::task::spawn_local({
///             let log = log.clone();
///             async move { log.borrow_mut().push("child") }
///         });
///         child.await.unwrap();
///         log.borrow_mut().push("parent");
///         log.borrow().len()
///     }
/// });
/// assert_eq!(out, 2);
/// assert_eq!(*log.borrow(), ["child", "parent"]);
/// ```
pub struct LocalSet {
    cx: Rc<SetContext>,
    /// `!Send` and `!Sync` (the `Rc` already is; said explicitly).
    _not_send: PhantomData<*const ()>,
}

impl LocalSet {
    /// An empty set, owned by the current thread.
    pub fn new() -> LocalSet {
        LocalSet {
            cx: Rc::new(SetContext {
                shared: LocalSetShared::new(),
                queue: RefCell::new(VecDeque::new()),
                registered: RefCell::new(None),
            }),
            _not_send: PhantomData,
        }
    }

    /// Spawns a `!Send` task onto this set. It runs when the set is next
    /// driven (`run_until`, `block_on`, or awaiting the set).
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_into(&self.cx, future, Location::caller())
    }

    /// Drives the set's tasks while polling `future`, until `future`
    /// completes; returns its output. Tasks still running then stay in the
    /// set (drive it again, or drop it to cancel them).
    pub async fn run_until<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        poll_fn(|cx| {
            // The future runs inside the set's context, so it can
            // spawn_local, and its wakes of local tasks stay local.
            let out = {
                let _enter = context::enter(&self.cx);
                crate::rt::coop::budget(|| future.as_mut().poll(cx))
            };
            if out.is_pending() {
                self.drive(cx);
            }
            out
        })
        .await
    }

    /// Runs `future` with the set on `rt`: `rt.block_on(self.run_until(future))`.
    ///
    /// # Panics
    /// As [`Runtime::block_on`] (inside a runtime worker or a nested
    /// `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &Runtime, future: F) -> F::Output {
        rt.block_on(self.run_until(future))
    }

    /// Tasks of the set that have not completed yet.
    pub fn len(&self) -> usize {
        self.cx.shared.owned().len()
    }

    /// True once every task of the set has completed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first time the set is driven inside a runtime (in its
    /// `block_on`, or in one of its tasks), lists the set with that
    /// runtime so that its task dumps include the set's tasks. Later
    /// drives cost one `RefCell` check.
    fn register_for_dumps(&self) {
        if self.cx.registered.borrow().is_some() {
            return;
        }
        if let Some(handle) = crate::rt::context::current_handle() {
            handle.shared.services().register_local_set(self.cx.shared.clone());
            *self.cx.registered.borrow_mut() = Some(handle);
        }
    }

    /// Runs up to `MAX_TASKS_PER_POLL` queued tasks. True if the budget ran
    /// out with work possibly left (the caller yields and wakes itself).
    fn tick(&self) -> bool {
        let _enter = context::enter(&self.cx);
        // The harness stamps each task from the worker's cached clock (a
        // timed task's end reading starts the next one), or outside a
        // worker reads the clock for every task (src/rt/clock.rs).
        for n in 0..MAX_TASKS_PER_POLL {
            if n % REMOTE_INTERVAL == REMOTE_INTERVAL - 1 {
                self.cx.shared.take_remote(&mut self.cx.queue.borrow_mut());
            }
            let next = self.cx.queue.borrow_mut().pop_front();
            let task = match next {
                Some(task) => task,
                None => {
                    self.cx.shared.take_remote(&mut self.cx.queue.borrow_mut());
                    match self.cx.queue.borrow_mut().pop_front() {
                        Some(task) => task,
                        None => return false,
                    }
                }
            };
            // Each task poll gets the cooperative budget, as on a worker.
            crate::rt::coop::budget(|| task.run());
        }
        true
    }

    /// Runs the set's work until the budget is spent (then wakes `cx`'s
    /// waker, to yield) or there is none (then registers that waker for
    /// remote wakes, after a last look at the remote queue under its lock).
    fn drive(&self, cx: &mut Context<'_>) {
        self.register_for_dumps();
        let more = self.tick();
        // Budget spent, or remote work arrived after the tick's last look:
        // yield and come back (one tick per poll keeps the poll bounded
        // even if other threads keep waking tasks).
        if more || self.cx.shared.park(cx.waker()) == Park::Work {
            // Inside a task's poll with the task's own waker: a mark for
            // the harness, no atomic wake (docs/design/task.md, "Yield
            // without a wake"); under `block_on` or a wrapping waker: a wake.
            crate::rt::task::waker::yield_self(cx.waker());
        }
    }
}

/// Spawns a `!Send` task onto the `LocalSet` that is running on this thread.
///
/// # Panics
/// Outside a `LocalSet` (not inside `run_until`, `block_on` or a poll of a
/// set on this thread), with a message that says how to get one.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match context::current() {
        Some(cx) => spawn_into(&cx, future, Location::caller()),
        None => panic!(
            "weft::task::spawn_local called outside a LocalSet. Call it from a task or future \
             run by a LocalSet (LocalSet::run_until, LocalSet::block_on, or awaiting the set), \
             or use LocalSet::spawn_local on the set itself."
        ),
    }
}

fn spawn_into<F>(
    cx: &Rc<SetContext>,
    future: F,
    spawned_at: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let scheduler = LocalScheduler(cx.shared.clone());
    // SAFETY: `new_local_task`'s contract: the `LocalScheduler` runs tasks
    // only from `tick`, on the set's thread (the `Rc` context cannot leave
    // it); the set's owned list is shut down in `LocalSet::drop`, on the
    // same thread; `JoinHandle<T>` is `Send` only if `T` is.
    let (task, notified, join) = unsafe {
        crate::rt::task::new_local_task(
            future,
            scheduler,
            Meta { spawned_at, name: None, priority: crate::task::Priority::Normal },
        )
    };
    if let Some(notified) = cx.shared.owned().bind(task, notified) {
        cx.queue.borrow_mut().push_back(notified);
        if !context::is_current(&cx.shared) {
            // Spawned from outside the set's polls: whoever drives the set
            // may be parked on it.
            cx.shared.wake_poller();
        }
    }
    join
}

impl Future for LocalSet {
    type Output = ();

    /// Drives the set until every task has completed.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.drive(cx);
        // A completed task leaves the owned list at once (the default
        // `complete_joinable`), so an empty list means all are done. A task
        // still listed has its wake pending or will be woken later.
        if self.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        // Cancel every task on this thread (the futures drop here), inside
        // the set's context (a destructor may call spawn_local: the closed
        // list then cancels that task at once).
        {
            let _enter = context::enter(&self.cx);
            self.cx.shared.owned().close_and_shutdown_all();
        }
        // Out of the runtime's dumps (its tasks are gone).
        if let Some(handle) = self.cx.registered.borrow_mut().take() {
            handle.shared.services().unregister_local_set(&self.cx.shared);
        }
        // Then refuse remote pushes and drop what is queued: only
        // references now.
        let (remote, waker) = self.cx.shared.close();
        drop(remote);
        drop(waker);
        let local = std::mem::take(&mut *self.cx.queue.borrow_mut());
        drop(local);
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet").field("len", &self.len()).finish()
    }
}
