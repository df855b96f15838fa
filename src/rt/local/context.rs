//! The owner-thread half of a `LocalSet` (its local run queue) and the
//! thread-local "current set" that `spawn_local` and local wakes use.
//!
//! # Invariants
//! - A `Context` lives in an `Rc`: it never leaves its thread.
//! - `CURRENT` holds a context only while that set is being polled on this
//!   thread (`enter`), so a wake that finds its own set there is on the
//!   owner thread, inside a poll that will run the local queue.
//! - The local queue is borrowed only for a push or a pop, never across a
//!   task's poll (which may wake or spawn and push again).

use super::shared::LocalSetShared;
use crate::loom::sync::Arc;
use crate::rt::task::Notified;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

pub(crate) struct Context {
    pub(crate) shared: Arc<LocalSetShared>,
    pub(crate) queue: RefCell<VecDeque<Notified>>,
    /// The runtime whose task dumps list this set's tasks: the first one
    /// the set was driven under (`LocalSet::drive`); the set leaves its
    /// registry when it is dropped.
    pub(crate) registered: RefCell<Option<crate::rt::scheduler::Handle>>,
}

crate::loom::thread_local! {
    /// The set being polled on this thread, innermost last.
    static CURRENT: RefCell<Vec<Rc<Context>>> = const { RefCell::new(Vec::new()) };
}

/// Makes `cx` current until the guard drops.
pub(crate) fn enter(cx: &Rc<Context>) -> EnterGuard {
    // Fails only while the thread's locals are being destroyed; then the
    // set is simply not current (wakes go remote, spawn_local panics).
    let entered = CURRENT.try_with(|c| c.borrow_mut().push(cx.clone())).is_ok();
    EnterGuard { entered }
}

pub(crate) struct EnterGuard {
    entered: bool,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if self.entered {
            let _ = CURRENT.try_with(|c| c.borrow_mut().pop());
        }
    }
}

/// The set being polled on this thread, if any.
pub(crate) fn current() -> Option<Rc<Context>> {
    CURRENT.try_with(|c| c.borrow().last().cloned()).ok().flatten()
}

/// True if `shared`'s set is the one being polled on this thread.
pub(crate) fn is_current(shared: &Arc<LocalSetShared>) -> bool {
    CURRENT.try_with(|c| c.borrow().last().is_some_and(|cx| Arc::ptr_eq(&cx.shared, shared))).unwrap_or(false)
}

/// Pushes `task` to the local queue if its set is the one being polled on
/// this thread; gives it back otherwise.
pub(crate) fn push_if_current(shared: &Arc<LocalSetShared>, task: Notified) -> Result<(), Notified> {
    let mut task = Some(task);
    let pushed = CURRENT.try_with(|c| match c.borrow().last() {
        Some(cx) if Arc::ptr_eq(&cx.shared, shared) => {
            cx.queue.borrow_mut().push_back(task.take().expect("pushed once"));
            true
        }
        _ => false,
    });
    match (pushed, task) {
        (Ok(true), _) => Ok(()),
        (_, Some(task)) => Err(task),
        (_, None) => unreachable!("the task was pushed"),
    }
}
