//! The current context of a thread: set by [`Scoped`] around each poll of
//! its future, read by [`Context::current`], carried into tasks by
//! [`spawn`].
//!
//! The slot is a thread-local swapped in and out around each poll (no
//! reference count is touched per poll), and restored by a guard if the
//! poll panics, so an outer scope sees its own context again.

use super::Context;
use crate::task::JoinHandle;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

crate::loom::thread_local! {
    /// The context of the innermost `Scoped` being polled on this thread.
    static CURRENT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

pub(super) fn current() -> Context {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten().unwrap_or_default()
}

/// Future of [`Context::scope`]: polls the inner future with the context
/// as the current one.
#[must_use = "futures do nothing unless polled"]
pub struct Scoped<F> {
    /// The scope's context; moved into the thread-local during a poll.
    ctx: Option<Context>,
    fut: F,
}

impl<F> Scoped<F> {
    pub(super) fn new(ctx: Context, fut: F) -> Scoped<F> {
        Scoped { ctx: Some(ctx), fut }
    }
}

/// Puts the previous context back in the thread-local, and the scope's
/// back in its future, also when the poll panics.
struct Restore<'a> {
    slot: &'a mut Option<Context>,
    prev: Option<Context>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let prev = self.prev.take();
        if let Ok(ours) = CURRENT.try_with(|c| c.replace(prev)) {
            *self.slot = ours;
        }
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        // SAFETY: `fut` is structurally pinned: it is never moved out of
        // `self` and is dropped in place with it; `ctx` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let fut = unsafe { Pin::new_unchecked(&mut this.fut) };
        let mut ctx = this.ctx.take();
        // Swapped by reference: afterwards `ctx` holds the previous one.
        if CURRENT.try_with(|c| std::mem::swap(&mut *c.borrow_mut(), &mut ctx)).is_err() {
            // The thread is tearing down its thread-locals: poll without.
            this.ctx = ctx;
            return fut.poll(cx);
        }
        let _restore = Restore { slot: &mut this.ctx, prev: ctx };
        fut.poll(cx)
    }
}

impl<F> fmt::Debug for Scoped<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped").field("ctx", &self.ctx).finish_non_exhaustive()
    }
}

/// Spawns `future` as a new task running inside the
/// [current](Context::current) context, like `weft::spawn` otherwise.
///
/// Cost: one reference-count increment to capture the context, and two
/// thread-local swaps per poll of the task. `weft::spawn` itself never
/// looks at contexts, so code that does not use this pays nothing.
///
/// # Panics
///
/// Outside a weft runtime, as [`weft::spawn`](crate::spawn).
///
/// ```
/// use weft::context::{self, Context};
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (ctx, _cancel) = Context::background().with_cancel();
///     let seen = ctx.scope(async { context::spawn(async { Context::current() }) }).await;
///     assert!(seen.await.unwrap().same(&ctx));
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    crate::spawn(current().scope(future))
}
