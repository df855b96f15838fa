//! The thread's runtime context: one thread-local that holds every piece of
//! per-thread engine state (the worker this thread is, the runtime it
//! entered, the task it polls, the coop budget, the poll clock, the
//! `LocalSet` it drives, its block of task ids, the blocking pool it
//! serves, its random state), read through one accessor, [`with`].
//!
//! # Invariants
//! - `Context` needs no destructor (checked below), so with its `const`
//!   initialiser an access is a plain TLS load: no lazy registration, no
//!   "being destroyed" state, and `with` never fails outside loom (under
//!   loom the value is initialised lazily and `with` may fail while the
//!   model's thread ends; every caller has a fallback for that).
//! - Hence no field owns anything through `Drop`. What must be owned (the
//!   entered runtime) is held as a raw pointer that owns one reference,
//!   given up by the guard that restores the previous value.
//! - Each field is read and written only by this thread, and only by the
//!   module named in its doc; nothing here is part of any cross-thread
//!   protocol.
//!
//! The task-cell stash (`task::cell_cache`) is the one per-thread state
//! kept outside: it owns memory that must be freed when the thread exits.

use crate::loom::sync::Arc;
use crate::rt::scheduler::{self, worker::WorkerContext, Shared};
use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ptr;

/// Per-thread engine state; see the module doc.
pub(crate) struct Context {
    /// `scheduler::worker`: the `WorkerContext` on the stack of this
    /// worker thread's run frame; null on any other thread. Set by
    /// `worker::run` on entry and reset by its guard when that frame ends
    /// (also on unwind).
    pub(crate) worker: Cell<*const WorkerContext>,
    /// This module: the runtime entered with `enter` / `enter_block_on`,
    /// innermost (null: none). Owns one reference to the runtime's
    /// `Shared` (`Arc::into_raw`); `enter` sets it, and its guard puts back
    /// the previous value when dropped.
    entered: Cell<*const Shared>,
    /// This module: how many `EnterGuard`s of this thread are alive. The
    /// last one to drop leaves nothing entered, whatever order the guards
    /// were dropped in.
    enter_guards: Cell<usize>,
    /// This module: true while this thread is inside `block_on`. Set by
    /// `enter_block_on`, cleared by its guard.
    in_block_on: Cell<bool>,
    /// `coop`: the budget of the poll in progress (`None`: unconstrained,
    /// `Some(n)`: n leaf operations left). Set by `coop::budget` around
    /// each task poll (worker, `LocalSet`, `block_on`) and by
    /// `coop::unconstrained`, each restoring the outer value after; spent
    /// by `coop::poll_proceed`.
    pub(crate) budget: Cell<Option<u8>>,
    /// `clock`: the worker's cached clock for the poll in progress (0
    /// outside a worker's poll) and whether that poll is timed. Set by the
    /// worker around each task poll (`clock::enter_poll` / `leave_poll`);
    /// a timed task poll leaves its end reading here (`clock::refresh`);
    /// `block_in_place` clears the flag (`clock::untime_poll`).
    pub(crate) poll_clock: Cell<(u64, bool)>,
    /// `task::waker`: the header address of the task this thread polls (0:
    /// none), bit 0 set once its future asked to run again
    /// (`waker::yield_self`). Set by the task harness around each poll,
    /// restoring the outer value after.
    pub(crate) polling: Cell<usize>,
    /// `local::context`: the `LocalSet` driven on this thread, innermost
    /// (null: none). Set by `local::context::enter` for a set's tick; its
    /// guard, which borrows the set, restores the outer value.
    pub(crate) local_set: Cell<*const crate::rt::local::context::Context>,
    /// `task::id`: this thread's reserved block of task ids, as (next,
    /// end). Refilled by `Id::next` when it runs out.
    pub(crate) task_ids: Cell<(u64, u64)>,
    /// `blocking::pool`: the pool (its shared state's address) whose
    /// thread this is; 0 elsewhere. Set once when a pool thread starts.
    pub(crate) blocking_pool: Cell<usize>,
    /// `task::wait`: notifications this thread queues before the next one
    /// it stamps for the schedule-latency sample (`runnable_stamp_ns`).
    pub(crate) runnable_countdown: Cell<u32>,
    /// `rand`: this thread's xorshift state for `select!`'s branch order
    /// (0: not seeded yet). Advanced by `rand::thread_rng_n`.
    pub(crate) rng: Cell<u64>,
}

// The whole point of one `const`-initialised context: no destructor, so no
// lazy registration or liveness check on access.
const _: () = assert!(!std::mem::needs_drop::<Context>());

impl Context {
    const fn new() -> Context {
        Context {
            worker: Cell::new(ptr::null()),
            entered: Cell::new(ptr::null()),
            enter_guards: Cell::new(0),
            in_block_on: Cell::new(false),
            budget: Cell::new(None),
            poll_clock: Cell::new((0, false)),
            polling: Cell::new(0),
            local_set: Cell::new(ptr::null()),
            task_ids: Cell::new((0, 0)),
            blocking_pool: Cell::new(0),
            runnable_countdown: Cell::new(0),
            rng: Cell::new(0),
        }
    }
}

crate::loom::thread_local! {
    static CONTEXT: Context = const { Context::new() };
}

/// Runs `f` with this thread's context. `None` only under loom while the
/// model's thread is ending (its thread-locals being dropped).
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&Context) -> R) -> Option<R> {
    CONTEXT.try_with(f).ok()
}

/// Runs `f` with the current scheduler handle: the innermost runtime entered
/// with `enter` / `block_on` on this thread (also inside a task, as in
/// tokio), else the worker's own runtime on a worker thread.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&scheduler::Handle>) -> R) -> R {
    let entered = with(|cx| cx.entered.get()).unwrap_or(ptr::null());
    if !entered.is_null() {
        // SAFETY: a non-null `entered` came from `Arc::into_raw` in `enter`
        // and owns one reference until a guard takes it back on this thread,
        // so the `Shared` is alive here. ManuallyDrop: that reference stays
        // with the context; the handle takes its own (so `f` may leave the
        // runtime).
        let shared = ManuallyDrop::new(unsafe { Arc::from_raw(entered) });
        let handle = scheduler::Handle { shared: Arc::clone(&shared) };
        return f(Some(&handle));
    }
    scheduler::worker::with_current(|cx| f(cx.map(|cx| &cx.handle)))
}

pub(crate) fn is_worker_thread() -> bool {
    scheduler::worker::with_current(|cx| cx.is_some())
}

/// Guard returned by `enter`: makes the runtime entered before it current
/// again on drop. Guards dropped out of order restore each other's outer
/// runtimes in the wrong order, but the last one dropped leaves nothing
/// entered, and every reference is given back once.
#[derive(Debug)]
pub(crate) struct EnterGuard {
    /// The value of `entered` before this guard, with the reference it
    /// owns; `None`: nothing was entered (no context: loom thread teardown).
    outer: Option<*const Shared>,
}

pub(crate) fn enter(handle: scheduler::Handle) -> EnterGuard {
    let this = Arc::into_raw(handle.shared);
    let outer = with(|cx| {
        cx.enter_guards.set(cx.enter_guards.get() + 1);
        cx.entered.replace(this)
    });
    if outer.is_none() {
        // SAFETY: from `into_raw` just above, not stored, taken back once.
        drop(unsafe { Arc::from_raw(this) });
    }
    EnterGuard { outer }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let Some(outer) = self.outer.take() else { return };
        let released = with(|cx| {
            let guards = cx.enter_guards.get() - 1;
            cx.enter_guards.set(guards);
            let inner = cx.entered.replace(outer);
            if guards == 0 {
                // The last guard: nothing stays entered, also what
                // out-of-order drops put back.
                [inner, cx.entered.replace(ptr::null())]
            } else {
                [inner, ptr::null()]
            }
        });
        // No context (loom thread teardown): give back ours only.
        for shared in released.unwrap_or([outer, ptr::null()]) {
            if !shared.is_null() {
                // SAFETY: a value taken out of `entered` owns one reference
                // from `Arc::into_raw` (as does a guard's `outer` while the
                // guard holds it), given back exactly once here.
                drop(unsafe { Arc::from_raw(shared) });
            }
        }
    }
}

/// Guard for the duration of `block_on`.
pub(crate) struct BlockOnGuard {
    _enter: EnterGuard,
}

/// Marks this thread as blocking on a runtime. Panics with a message that
/// says what to do instead when that would deadlock or stall a worker.
#[track_caller]
pub(crate) fn enter_block_on(handle: scheduler::Handle) -> BlockOnGuard {
    if is_worker_thread() {
        panic!(
            "weft: block_on (Runtime::block_on or Handle::block_on) called from inside a weft worker thread. Blocking a worker \
             stops it from running other tasks and can deadlock the runtime; `.await` the future \
             instead, or run the blocking code on a thread of its own."
        );
    }
    if with(|cx| cx.in_block_on.replace(true)) == Some(true) {
        panic!(
            "weft: block_on (Runtime::block_on or Handle::block_on) called while this thread is already inside block_on. \
             Nested block_on would block the outer future; `.await` the inner future instead."
        );
    }
    BlockOnGuard { _enter: enter(handle) }
}

impl Drop for BlockOnGuard {
    fn drop(&mut self) {
        let _ = with(|cx| cx.in_block_on.set(false));
    }
}

/// The netpoller of the current runtime (for creating I/O objects).
#[cfg(any(feature = "net", feature = "signal"))]
#[cfg_attr(all(test, loom), allow(dead_code))] // I/O objects are not built under loom
pub(crate) fn current_io_driver() -> Option<crate::loom::sync::Arc<crate::rt::netpoll::Driver>> {
    with_current(|h| h.map(|h| h.shared.services().driver().clone()))
}

/// The current runtime's scheduler handle (timers hold it).
pub(crate) fn current_handle() -> Option<scheduler::Handle> {
    with_current(|h| h.cloned())
}

/// The current worker's index, or 0 on a non-worker thread (the timer
/// shard a new timer registers in).
#[cfg_attr(not(feature = "time"), allow(dead_code))] // no timer is inserted without `time`
pub(crate) fn current_worker_index() -> usize {
    scheduler::worker::with_current(|cx| cx.map_or(0, |cx| cx.index))
}
