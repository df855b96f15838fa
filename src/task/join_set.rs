//! `JoinSet<T>`: a set of spawned tasks whose outputs are taken in
//! completion order.
//!
//! # Invariants
//! - Every task of the set has one occupied slot: its `JoinHandle`, its
//!   [`Entry`] and the entry's waker. The slot is vacated only by
//!   `join_next` / `try_join_next` returning that task's result, or by
//!   `detach_all` / drop.
//! - Every occupied slot whose entry is *queued* (ready_list.rs) is, or
//!   will be, in `queue`, or on the shared stack: a slot that is not
//!   queued has its entry's waker registered as its task's join waker, so
//!   its completion pushes it. So a completion costs O(1) to find, and
//!   `join_next` polls only entries that were woken (plus each new entry
//!   once, to register its waker).
//! - A result leaves the set only in the same call that returns it: the
//!   `join_next` future can be dropped at any await point without losing
//!   one (it holds nothing the set does not).
//!
//! docs/design/joinset.md has the argument; loom-tests/joinset.rs the models.

use super::ready_list::{entry_waker, Entry, ReadyList};
use super::{AbortHandle, Builder, Id, JoinError, JoinHandle};
use crate::loom::sync::Arc;
use crate::runtime::Handle;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

/// A set of tasks spawned onto a weft runtime, awaited in the order they
/// finish.
///
/// [`join_next`](JoinSet::join_next) returns the next result (`None` once
/// the set is empty); finding a finished task costs the same whether the
/// set holds ten tasks or a hundred thousand. Dropping the set aborts every
/// task it still holds; [`detach_all`](JoinSet::detach_all) lets them run
/// on instead.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let mut set = weft::task::JoinSet::new();
///     for i in 0..10u32 {
///         set.spawn(async move { i * 2 });
///     }
///     let mut sum = 0;
///     while let Some(res) = set.join_next().await {
///         sum += res.unwrap();
///     }
///     assert_eq!(sum, 90);
///     assert!(set.is_empty());
/// });
/// ```
pub struct JoinSet<T> {
    slots: Vec<Slot<T>>,
    /// Vacant slot indices, reused before the vector grows.
    free: Vec<usize>,
    len: usize,
    list: Arc<ReadyList>,
    /// Entries to poll, oldest first: new ones and those taken off the
    /// shared stack.
    queue: VecDeque<Arc<Entry>>,
    /// Reused buffer for `ReadyList::take_all`.
    scratch: Vec<Arc<Entry>>,
    /// Handle polls made (the O(1)-per-completion test counts them).
    #[cfg(test)]
    handle_polls: usize,
}

enum Slot<T> {
    Vacant,
    Occupied { handle: JoinHandle<T>, entry: Arc<Entry>, waker: Waker },
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            list: ReadyList::new(),
            queue: VecDeque::new(),
            scratch: Vec::new(),
            #[cfg(test)]
            handle_polls: 0,
        }
    }

    /// Tasks in the set: spawned and not yet returned by `join_next` (a
    /// finished task counts until its result is taken).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a task that is already spawned; returns a handle that can
    /// abort it.
    pub(crate) fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let key = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::Vacant);
            self.slots.len() - 1
        });
        // New entries start queued, in `queue`: the first `join_next` polls
        // the handle, which registers the entry's waker with the task.
        let entry = ReadyList::new_entry(&self.list, key);
        let waker = entry_waker(&entry);
        self.queue.push_back(entry.clone());
        self.slots[key] = Slot::Occupied { handle, entry, waker };
        self.len += 1;
        abort
    }

    /// Asks every task in the set to stop. Their results (cancelled
    /// `JoinError`s, or outputs of tasks that had already finished) still
    /// come out of `join_next`.
    pub fn abort_all(&mut self) {
        for slot in &self.slots {
            if let Slot::Occupied { handle, .. } = slot {
                handle.abort();
            }
        }
    }

    /// Empties the set without aborting anything: the tasks run on, and
    /// their results are dropped.
    pub fn detach_all(&mut self) {
        // Dropping each JoinHandle detaches its task. A task completing
        // meanwhile may still push its entry; the slot check in
        // `poll_entry` discards such stale entries.
        self.slots.clear();
        self.free.clear();
        self.queue.clear();
        self.len = 0;
    }

    /// Polls for the next result: as [`join_next`](JoinSet::join_next),
    /// for hand-written futures.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx).map(|out| out.map(|res| res.map(|(_, v)| v)))
    }

    /// As [`poll_join_next`](JoinSet::poll_join_next), also giving the id
    /// of the task that finished.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        // One budget unit per result (the leaf operation of a JoinSet).
        let coop = ready!(crate::rt::coop::poll_proceed(cx));
        let mut registered = false;
        loop {
            if let Some(out) = self.next_ready() {
                coop.made_progress();
                return Poll::Ready(Some(out));
            }
            if registered {
                return Poll::Pending;
            }
            // Nothing woken: register, then look once more (a wake that
            // raced with the look above either finds our waker or is seen
            // by the next look; ready_list.rs).
            self.list.register(cx.waker());
            registered = true;
        }
    }

    /// Takes the next result of a finished task without waiting: `None` if
    /// the set is empty or no task has finished yet.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id().map(|res| res.map(|(_, v)| v))
    }

    /// As [`try_join_next`](JoinSet::try_join_next), also giving the id.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        if self.len == 0 {
            return None;
        }
        self.next_ready()
    }

    /// Polls queued entries (taking the shared stack when the local queue
    /// runs dry) until one's task is finished. `None`: nothing is ready.
    fn next_ready(&mut self) -> Option<Result<(Id, T), JoinError>> {
        loop {
            if let Some(entry) = self.queue.pop_front() {
                if let Some(out) = self.poll_entry(entry) {
                    return Some(out);
                }
                continue;
            }
            self.list.take_all(&mut self.scratch);
            if self.scratch.is_empty() {
                return None;
            }
            self.queue.extend(self.scratch.drain(..));
        }
    }

    /// Polls one queued entry's handle; returns its result and vacates the
    /// slot if the task is finished.
    fn poll_entry(&mut self, entry: Arc<Entry>) -> Option<Result<(Id, T), JoinError>> {
        let key = entry.key;
        let Some(Slot::Occupied { handle, entry: owner, waker }) = self.slots.get_mut(key) else {
            return None; // stale: the slot was vacated (detach_all)
        };
        if !Arc::ptr_eq(owner, &entry) {
            return None; // stale: the slot now holds another task
        }
        // Before the poll: a completion from now on pushes the entry again.
        entry.unqueue();
        #[cfg(test)]
        {
            self.handle_polls += 1;
        }
        let mut cx = Context::from_waker(waker);
        let res = match Pin::new(&mut *handle).poll(&mut cx) {
            Poll::Pending => return None,
            Poll::Ready(res) => res,
        };
        let id = handle.id();
        self.slots[key] = Slot::Vacant;
        self.free.push(key);
        self.len -= 1;
        Some(res.map(|v| (id, v)))
    }

    /// Waits for the next task to finish and returns its result; `None`
    /// when the set is empty.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes (in a
    /// `select!`, on a timeout), no result is lost; it stays in the set for
    /// the next call.
    #[track_caller]
    pub fn join_next(&mut self) -> impl std::future::Future<Output = Option<Result<T, JoinError>>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::JoinSet, async move {
            poll_fn(|cx| self.poll_join_next(cx)).await
        })
    }

    /// As [`join_next`](JoinSet::join_next), also giving the id of the task
    /// that finished (also cancel-safe).
    #[track_caller]
    pub fn join_next_with_id(
        &mut self,
    ) -> impl std::future::Future<Output = Option<Result<(Id, T), JoinError>>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::JoinSet, async move {
            poll_fn(|cx| self.poll_join_next_with_id(cx)).await
        })
    }

    /// Aborts every task and waits until all of them have stopped; their
    /// results are dropped. The set is empty afterwards.
    #[track_caller]
    pub fn shutdown(&mut self) -> impl std::future::Future<Output = ()> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::JoinSet, async move {
            self.abort_all();
            while self.join_next().await.is_some() {}
        })
    }

    /// Waits for every task and returns the outputs in completion order.
    ///
    /// # Panics
    /// If a task panicked, its panic is resumed here (the other tasks are
    /// aborted as the set drops); if a task was cancelled, with a message
    /// naming it. Use `join_next` to handle those cases yourself.
    #[track_caller]
    pub fn join_all(mut self) -> impl std::future::Future<Output = Vec<T>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::JoinSet, async move {
            let mut out = Vec::with_capacity(self.len);
            while let Some(res) = self.join_next().await {
                match res {
                    Ok(v) => out.push(v),
                    Err(err) if err.is_panic() => {
                        drop(self);
                        std::panic::resume_unwind(err.into_panic());
                    }
                    Err(err) => panic!(
                    "weft: JoinSet::join_all: task {} was cancelled; use join_next to handle cancelled tasks",
                    err.id()
                ),
                }
            }
            out
        })
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns a task onto the current runtime and adds it to the set.
    ///
    /// # Panics
    /// Outside a weft runtime, as [`crate::spawn`]; use
    /// [`spawn_on`](JoinSet::spawn_on) with a [`Handle`] there.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Spawns a task onto the runtime of `handle` (from any thread) and
    /// adds it to the set.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(handle.spawn(future))
    }

    /// Spawns a task configured by a [`Builder`] (a name for task dumps)
    /// onto the current runtime and adds it to the set.
    ///
    /// # Errors
    /// As [`Builder::spawn`] (an invalid name); nothing is spawned then.
    ///
    /// # Panics
    /// Outside a weft runtime, as [`Builder::spawn`].
    #[track_caller]
    pub fn spawn_with<F>(&mut self, builder: Builder<'_>, future: F) -> io::Result<AbortHandle>
    where
        F: Future<Output = T> + Send + 'static,
    {
        Ok(self.insert(builder.spawn(future)?))
    }

    /// Runs blocking code on the current runtime's blocking pool (see
    /// [`spawn_blocking`](super::spawn_blocking)) and adds it to the set.
    /// Aborting it only has an effect before it starts.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(super::spawn_blocking(f))
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns a `!Send` task onto the [`LocalSet`](super::LocalSet) running
    /// on this thread (see [`spawn_local`](super::spawn_local)) and adds it
    /// to the set.
    ///
    /// # Panics
    /// Outside a `LocalSet`, as [`spawn_local`](super::spawn_local).
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(super::spawn_local(future))
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
        // Drop the handles (and their results) first, then refuse pushes:
        // a task completing from now on drops its entry reference instead
        // of parking it on the stack (ready_list.rs, "Closing").
        self.slots.clear();
        self.queue.clear();
        self.list.close();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::JoinSet;
    use std::sync::{Arc, Mutex};
    use std::task::{Poll, Waker};

    /// Open flag and the waiting task's waker.
    type Gate = Arc<Mutex<(bool, Option<Waker>)>>;

    /// A completion costs O(1) handle polls, not one per task in the set.
    #[test]
    fn a_completion_polls_only_its_own_entry() {
        const N: usize = 1_000;
        let rt = crate::Runtime::builder().worker_threads(1).build().unwrap();
        // One gate per task, opened one at a time.
        let gates: Vec<Gate> = (0..N).map(|_| Default::default()).collect();
        rt.block_on(async {
            let mut set = JoinSet::new();
            for (i, gate) in gates.iter().enumerate() {
                let gate = gate.clone();
                set.spawn(std::future::poll_fn(move |cx| {
                    let mut g = gate.lock().unwrap();
                    if g.0 {
                        Poll::Ready(i)
                    } else {
                        g.1 = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }));
            }
            assert!(set.try_join_next().is_none());
            // Each new entry was polled once, to register its waker.
            assert_eq!(set.handle_polls, N);
            for (i, gate) in gates.iter().enumerate() {
                let waker = {
                    let mut g = gate.lock().unwrap();
                    g.0 = true;
                    g.1.take()
                };
                // (A task that has not run yet finds the gate open.)
                if let Some(waker) = waker {
                    waker.wake();
                }
                let before = set.handle_polls;
                assert_eq!(set.join_next().await.unwrap().unwrap(), i);
                assert_eq!(set.handle_polls - before, 1, "completion {i} polled other entries");
            }
        });
    }
}
