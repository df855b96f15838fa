//! The thread-local "current runtime": set on worker threads (through the
//! scheduler's worker context) and on threads inside `Runtime::block_on` or
//! `Handle::enter`.

use crate::rt::scheduler::{self, worker};
use std::cell::{Cell, RefCell};

crate::loom::thread_local! {
    /// The handle entered on this (non-worker) thread, innermost last.
    static ENTERED: RefCell<Vec<scheduler::Handle>> = const { RefCell::new(Vec::new()) };
    /// True while this thread is inside `block_on`.
    static IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the current scheduler handle: the innermost runtime entered
/// with `enter` / `block_on` on this thread (also inside a task, as in
/// tokio), else the worker's own runtime on a worker thread.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&scheduler::Handle>) -> R) -> R {
    if let Ok(Some(handle)) = ENTERED.try_with(|e| e.borrow().last().cloned()) {
        return f(Some(&handle));
    }
    worker::with_current(|cx| f(cx.map(|cx| &cx.handle)))
}

pub(crate) fn is_worker_thread() -> bool {
    worker::with_current(|cx| cx.is_some())
}

/// Guard returned by `enter`: pops the handle on drop.
#[derive(Debug)]
pub(crate) struct EnterGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

pub(crate) fn enter(handle: scheduler::Handle) -> EnterGuard {
    ENTERED.with(|e| e.borrow_mut().push(handle));
    EnterGuard { _not_send: std::marker::PhantomData }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let _ = ENTERED.try_with(|e| e.borrow_mut().pop());
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
            "weft: Runtime::block_on called from inside a weft worker thread. Blocking a worker \
             stops it from running other tasks and can deadlock the runtime; `.await` the future \
             instead, or run the blocking code on a thread of its own."
        );
    }
    if IN_BLOCK_ON.with(|b| b.replace(true)) {
        panic!(
            "weft: Runtime::block_on called while this thread is already inside block_on. \
             Nested block_on would block the outer future; `.await` the inner future instead."
        );
    }
    BlockOnGuard { _enter: enter(handle) }
}

impl Drop for BlockOnGuard {
    fn drop(&mut self) {
        let _ = IN_BLOCK_ON.try_with(|b| b.set(false));
    }
}

/// The netpoller of the current runtime (for creating I/O objects).
#[cfg(feature = "net")]
#[cfg_attr(all(test, loom), allow(dead_code))] // I/O objects are not built under loom
pub(crate) fn current_io_driver() -> Option<crate::loom::sync::Arc<crate::rt::netpoll::Driver>> {
    with_current(|h| h.map(|h| h.shared.services.driver().clone()))
}

/// The current runtime's scheduler handle (timers hold it).
pub(crate) fn current_handle() -> Option<scheduler::Handle> {
    with_current(|h| h.cloned())
}

/// The current worker's index, or 0 on a non-worker thread (the timer
/// shard a new timer registers in).
#[cfg_attr(not(feature = "time"), allow(dead_code))] // no timer is inserted without `time`
pub(crate) fn current_worker_index() -> usize {
    worker::with_current(|cx| cx.map_or(0, |cx| cx.index))
}
