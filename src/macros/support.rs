//! What the expansions of `select!`, `join!` and `try_join!` name, under
//! `$crate::macros::support`. Public only because a macro's expansion
//! lives in the caller's crate; not part of the API.

use std::mem;

pub use std::future::{poll_fn, Future, IntoFuture};
pub use std::pin::Pin;
pub use std::task::{Context, Poll};

/// `Pending` (the task then runs again after the others queued) when the
/// cooperative budget of this task poll is spent, else `Ready`; spends
/// nothing. `select!` checks it before polling any branch: with the
/// budget spent each weft branch would refuse anyway, and a branch that
/// does not count against the budget (a future from another crate) must
/// not keep the task running past it.
#[inline]
pub fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
    crate::rt::coop::poll_budget_available(cx)
}

/// A number in `0..n` (`n > 0`) from this thread's generator: the branch
/// `select!` polls first.
#[inline]
pub fn thread_rng_n(n: u32) -> u32 {
    crate::rt::rand::thread_rng_n(n)
}

/// The `i`th branch (or future) of `n` in a walk that starts at `start`
/// (`start < n`, `i < n`). A function, not an inline `%`: with one branch
/// the expansion would read `x % 1`, which lints in the caller's crate
/// flag.
#[inline]
pub fn nth_from(start: u32, i: u32, n: u32) -> u32 {
    let k = start + i;
    if k >= n {
        k - n
    } else {
        k
    }
}

/// `select!` with every branch disabled and no `else` branch.
#[track_caller]
pub fn all_branches_disabled() -> ! {
    panic!(
        "weft::select!: all branches are disabled (completed, failed their `if` precondition, or \
         their output did not match the pattern) and there is no `else` branch"
    )
}

/// A future of `join!`/`try_join!` and, once it completed, its output.
#[derive(Debug)]
pub enum MaybeDone<F: Future> {
    /// Not completed yet.
    Future(F),
    /// Completed; the output waits to be taken.
    Done(F::Output),
    /// The output was taken.
    Gone,
}

/// Wraps `f` (anything `IntoFuture`) for `join!`.
pub fn maybe_done<F: IntoFuture>(f: F) -> MaybeDone<F::IntoFuture> {
    MaybeDone::Future(f.into_future())
}

impl<F: Future> MaybeDone<F> {
    /// Polls the future if it has not completed: `Ready` once it has.
    pub fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: the `Future` variant's future is pinned structurally:
        // it is never moved out; it is dropped in place when the variant
        // is overwritten below, which `Pin` allows (drop runs before the
        // memory is reused). The other variants hold no pinned data.
        let this = unsafe { self.get_unchecked_mut() };
        if let MaybeDone::Future(f) = this {
            // SAFETY: `f` lives in `self`, which is pinned (see above).
            let f = unsafe { Pin::new_unchecked(f) };
            match f.poll(cx) {
                Poll::Ready(out) => *this = MaybeDone::Done(out),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(())
    }

    /// Takes the output (`None` if not completed or already taken).
    pub fn take_output(self: Pin<&mut Self>) -> Option<F::Output> {
        // SAFETY: only a `Done` value is moved out (it is an output, not
        // pinned); a `Future` variant is left as it is.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Done(_) => match mem::replace(this, MaybeDone::Gone) {
                MaybeDone::Done(out) => Some(out),
                _ => None,
            },
            _ => None,
        }
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> MaybeDone<F> {
    /// The error, taken out, if the future completed with one.
    pub fn take_err(self: Pin<&mut Self>) -> Option<E> {
        // SAFETY: as in `take_output`: only a `Done` value moves.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Done(Err(_)) => match mem::replace(this, MaybeDone::Gone) {
                MaybeDone::Done(Err(e)) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    /// The success value, taken out (`None` if not completed with one).
    pub fn take_ok(self: Pin<&mut Self>) -> Option<T> {
        self.take_output().and_then(Result::ok)
    }
}
