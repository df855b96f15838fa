//! Feature `tracing`: each task's future runs inside a `tracing` span.
//!
//! The span lives in a wrapper around the future (`Traced`), made when the
//! task is created, not in the task header: the header stays the size
//! the cell cache's size class needs (docs/design/task.md), a build
//! without the feature has no trace of it, and the span is dropped with
//! the future, so it closes when the task's future is gone. The cost is
//! in the cell of each task with the feature on: the span handle, about
//! as large as a subscriber's `Dispatch` plus an id.
//!
//! Each poll enters the span (so events from the task carry it) and
//! tells the worker's poll stamp the span's id, so the monitor can emit
//! a stall event inside it (`monitor::stall`, docs/design/stalls.md,
//! "Stalls as `tracing` events"). With no subscriber interested in
//! `weft::task` spans, `info_span!` returns a disabled span after a
//! cached interest check, entering it does nothing, and it has no id to
//! tell.

use super::{Id, Meta};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A task's future and its span.
pub(crate) struct Traced<F> {
    /// Dropped in `drop`, inside the span.
    inner: ManuallyDrop<F>,
    span: tracing::Span,
}

impl<F> Traced<F> {
    /// Wraps the future of task `id`.
    pub(crate) fn new(inner: F, id: Id, meta: &Meta) -> Traced<F> {
        let span = tracing::info_span!(
            target: "weft::task",
            "task",
            task.id = id.as_u64(),
            task.name = tracing::field::Empty,
            task.spawned_at = %meta.spawned_at,
        );
        if let Some(name) = &meta.name {
            span.record("task.name", &**name);
        }
        Traced { inner: ManuallyDrop::new(inner), span }
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of
        // `self` (only dropped in place, in `drop`), and `Traced` has no
        // `Unpin` impl of its own that would let it move while pinned.
        // `span` is not pinned and only used by reference.
        let this = unsafe { self.get_unchecked_mut() };
        let _entered = this.span.enter();
        if let Some(id) = this.span.id() {
            crate::rt::scheduler::worker::note_task_span(id.into_u64());
        }
        // SAFETY: see above; `inner` is pinned because `self` is.
        unsafe { Pin::new_unchecked(&mut *this.inner) }.poll(cx)
    }
}

impl<F> Drop for Traced<F> {
    fn drop(&mut self) {
        // The future's own destructors (a guard that logs, a connection
        // that says goodbye) run inside the task's span too.
        let _entered = self.span.enter();
        // SAFETY: `inner` is dropped here only, once, and never used
        // after; dropping in place keeps the pinning guarantee.
        unsafe { ManuallyDrop::drop(&mut self.inner) };
    }
}
