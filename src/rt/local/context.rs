//! The owner-thread half of a `LocalSet` (its local run queue) and the
//! "current set" that `spawn_local` and local wakes use (the thread
//! context's `local_set`).
//!
//! # Invariants
//! - A `Context` lives in an `Rc`: it never leaves its thread.
//! - The current set is a context only while that set is being polled on
//!   this thread (`enter`), so a wake that finds its own set there is on
//!   the owner thread, inside a poll that will run the local queue. The
//!   pointer owns nothing: the guard of `enter` borrows the set's `Rc`
//!   while it is current and puts back the outer set when dropped, so a
//!   non-null pointer always refers to a live context of this thread.
//! - The local queue is borrowed only for a push or a pop, never across a
//!   task's poll (which may wake or spawn and push again).

use super::shared::LocalSetShared;
use crate::loom::sync::Arc;
use crate::rt::context as thread_context;
use crate::rt::task::Notified;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::ptr;
use std::rc::Rc;

pub(crate) struct Context {
    pub(crate) shared: Arc<LocalSetShared>,
    pub(crate) queue: RefCell<VecDeque<Notified>>,
    /// The runtime whose task dumps list this set's tasks: the first one
    /// the set was driven under (`LocalSet::drive`); the set leaves its
    /// registry when it is dropped.
    pub(crate) registered: RefCell<Option<crate::rt::scheduler::Handle>>,
}

/// Makes `cx` current until the guard drops.
pub(crate) fn enter(cx: &Rc<Context>) -> EnterGuard<'_> {
    // No context only while a loom thread ends; then the set is simply not
    // current (wakes go remote, spawn_local panics).
    let outer = thread_context::with(|c| c.local_set.replace(Rc::as_ptr(cx)));
    EnterGuard { outer, _set: PhantomData }
}

/// Keeps a set current while it lives; borrows the set's `Rc`, which keeps
/// the pointer in the thread's context valid.
pub(crate) struct EnterGuard<'a> {
    /// The set current before `enter` (`None`: nothing was entered).
    outer: Option<*const Context>,
    _set: PhantomData<&'a Rc<Context>>,
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        if let Some(outer) = self.outer {
            let _ = thread_context::with(|c| c.local_set.set(outer));
        }
    }
}

/// Runs `f` with the set being polled on this thread, if any.
fn with_current<R>(f: impl FnOnce(Option<&Context>) -> R) -> R {
    let ptr = thread_context::with(|c| c.local_set.get()).unwrap_or(ptr::null());
    // SAFETY: a non-null pointer was set by `enter` from a live `Rc`, which
    // its guard borrows until it puts back the outer value (see the module
    // invariants), so it refers to a live context of this thread.
    f(unsafe { ptr.as_ref() })
}

/// The set being polled on this thread, if any.
pub(crate) fn current() -> Option<Rc<Context>> {
    let ptr = thread_context::with(|c| c.local_set.get()).unwrap_or(ptr::null());
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` came from `Rc::as_ptr` of an `Rc` that is alive while
    // it is current (see `with_current`); the count is raised before
    // `from_raw` takes one, so the new `Rc` owns its own reference.
    unsafe {
        Rc::increment_strong_count(ptr);
        Some(Rc::from_raw(ptr))
    }
}

/// True if `shared`'s set is the one being polled on this thread.
pub(crate) fn is_current(shared: &Arc<LocalSetShared>) -> bool {
    with_current(|cx| cx.is_some_and(|cx| Arc::ptr_eq(&cx.shared, shared)))
}

/// Pushes `task` to the local queue if its set is the one being polled on
/// this thread; gives it back otherwise.
pub(crate) fn push_if_current(shared: &Arc<LocalSetShared>, task: Notified) -> Result<(), Notified> {
    with_current(|cx| match cx {
        Some(cx) if Arc::ptr_eq(&cx.shared, shared) => {
            cx.queue.borrow_mut().push_back(task);
            Ok(())
        }
        _ => Err(task),
    })
}
