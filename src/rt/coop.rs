//! The cooperative budget: each task poll may complete at most
//! [`BUDGET`] leaf operations (a socket read or write that was ready, a
//! timer that had fired); after that every leaf operation returns
//! `Pending` and wakes the task at once, so it goes to the back of the run
//! queue and one task looping over an always-ready socket cannot starve
//! the others (tokio's coop, Go's preemption by other means).
//!
//! The budget lives in the thread's context (`rt::context`, field
//! `budget`), set around each task poll by the worker (and around each
//! poll of a `block_on` future). Outside a budgeted
//! poll (plain `futures::executor` code, a foreign runtime), operations are
//! unconstrained.

use crate::rt::context;
use std::cell::Cell;
use std::task::{Context, Poll};

/// Leaf operations per task poll.
pub(crate) const BUDGET: u8 = 128;

/// Runs `f` (one task poll) with a fresh budget, restoring the previous
/// one afterwards (polls may nest: `block_on` inside a non-worker thread
/// that was itself inside a budgeted scope).
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(Option<u8>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = context::with(|c| c.budget.set(self.0));
        }
    }
    let prev = context::with(|c| c.budget.replace(Some(BUDGET))).flatten();
    let _reset = Reset(prev);
    f()
}

/// Runs `f` outside any budget (a blocking closure: it may run its own
/// loops over weft objects without being told to yield), restoring the
/// previous budget afterwards.
pub(crate) fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(Option<u8>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = context::with(|c| c.budget.set(self.0));
        }
    }
    let prev = context::with(|c| c.budget.replace(None)).flatten();
    let _reset = Reset(prev);
    f()
}

/// Budget left in the current poll (`None`: unconstrained).
#[cfg(all(test, not(loom)))]
pub(crate) fn remaining() -> Option<u8> {
    context::with(|c| c.budget.get()).flatten()
}

/// Charged on a leaf operation: returns it to the budget if the operation
/// turns out not to be ready after all (`made_progress` was not called).
#[must_use]
pub(crate) struct RestoreOnPending(Cell<Option<u8>>);

impl RestoreOnPending {
    /// The operation completed: keep the unit spent.
    #[inline]
    pub(crate) fn made_progress(&self) {
        self.0.set(None);
    }
}

impl Drop for RestoreOnPending {
    #[inline]
    fn drop(&mut self) {
        if let Some(prev) = self.0.get() {
            let _ = context::with(|c| c.budget.set(Some(prev)));
        }
    }
}

/// Takes one unit of budget, or (budget spent) wakes the task and returns
/// `Pending`. Inlined: every leaf operation starts here.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let cur = context::with(|c| c.budget.get()).flatten();
    match cur {
        None => Poll::Ready(RestoreOnPending(Cell::new(None))),
        Some(0) => {
            // Re-schedule to the back of the queue: with the task's own
            // waker a mark the harness reads after the poll, otherwise a
            // wake (docs/design/task.md, "Yield without a wake").
            crate::rt::task::waker::yield_self(cx.waker());
            Poll::Pending
        }
        Some(n) => {
            let _ = context::with(|c| c.budget.set(Some(n - 1)));
            Poll::Ready(RestoreOnPending(Cell::new(Some(n))))
        }
    }
}

/// `Pending` (with the task asked to run again after the others) when the
/// budget of the current poll is spent, else `Ready` without spending a
/// unit: for combinators such as `select!` that poll several leaf futures,
/// so a task whose every branch would be refused for lack of budget
/// yields at once instead of polling each of them for nothing.
pub(crate) fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
    match context::with(|c| c.budget.get()).flatten() {
        Some(0) => {
            crate::rt::task::waker::yield_self(cx.waker());
            Poll::Pending
        }
        _ => Poll::Ready(()),
    }
}

/// Was the budget of the current poll spent? (for tests and for futures
/// that want to yield voluntarily).
#[cfg(all(test, not(loom)))]
pub(crate) fn has_budget_remaining() -> bool {
    remaining() != Some(0)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn unconstrained_outside_a_budgeted_poll() {
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..1000 {
            let r = poll_proceed(&mut cx);
            assert!(r.is_ready());
        }
        assert_eq!(remaining(), None);
    }

    #[test]
    fn budget_runs_out_after_128_and_is_restored_after() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..BUDGET {
                match poll_proceed(&mut cx) {
                    Poll::Ready(r) => r.made_progress(),
                    Poll::Pending => panic!("ran out early"),
                }
            }
            assert!(poll_proceed(&mut cx).is_pending());
            assert!(!has_budget_remaining());
        });
        assert_eq!(remaining(), None);
    }

    #[test]
    fn budget_available_until_spent_and_never_spends() {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(poll_budget_available(&mut cx).is_ready(), "unconstrained");
        budget(|| {
            assert!(poll_budget_available(&mut cx).is_ready());
            assert_eq!(remaining(), Some(BUDGET), "checking spends nothing");
            for _ in 0..BUDGET {
                if let Poll::Ready(r) = poll_proceed(&mut cx) {
                    r.made_progress();
                }
            }
            assert!(poll_budget_available(&mut cx).is_pending());
        });
    }

    #[test]
    fn an_operation_that_did_not_progress_gives_its_unit_back() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            let r = poll_proceed(&mut cx);
            drop(r);
            assert_eq!(remaining(), Some(BUDGET));
        });
    }
}
