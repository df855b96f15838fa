//! Go-style contexts: a tree of cancellation signals with deadlines.
//!
//! A [`Context`] tells the work it is passed to when to give up: when it
//! is cancelled by its [`CancelHandle`], when its deadline passes, or when
//! any ancestor is cancelled. Derive children with
//! [`with_cancel`](Context::with_cancel),
//! [`with_timeout`](Context::with_timeout) and
//! [`with_deadline`](Context::with_deadline); wait for the end with
//! [`cancelled`](Context::cancelled), or check it with
//! [`err`](Context::err), which tells [`ContextError::Cancelled`] from
//! [`ContextError::DeadlineExceeded`].
//!
//! ```
//! use std::time::Duration;
//! use weft::context::{Context, ContextError};
//!
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     let (ctx, cancel) = Context::background().with_cancel();
//!     let (req, _req_cancel) = ctx.with_timeout(Duration::from_secs(30));
//!     let worker = weft::spawn(async move {
//!         req.cancelled().await; // e.g. raced against I/O in select!
//!         req.err()
//!     });
//!     cancel.cancel(); // cancels `ctx` and every context derived from it
//!     assert_eq!(worker.await.unwrap(), Some(ContextError::Cancelled));
//! });
//! ```
//!
//! - A `Context` is one `Arc`: `clone` is cheap, and
//!   [`Context::background`] allocates nothing.
//! - Cancelling a context cancels its descendants, each once, in time
//!   proportional to their number. Cancelling twice, or while children are
//!   being derived on other threads, is safe: a child derived from a
//!   cancelled parent is born cancelled.
//! - Dropping every handle of a child (its `Context` clones and its
//!   `CancelHandle`) unregisters it from its parent, so a long-lived
//!   parent does not grow with the requests derived from it. Unlike Go, a
//!   `CancelHandle` need not be called to release anything.
//! - Deadlines cost nothing until someone waits: [`err`](Context::err)
//!   compares with the clock, and a pending
//!   [`cancelled`](Context::cancelled) future arms one timer on weft's
//!   timer wheel.
//!
//! # Inheritance
//!
//! [`Context::scope`] runs a future with a context as the
//! [current](Context::current) one, and [`spawn`] starts a task inside the
//! current context. Plain `weft::spawn` does not look at contexts at all:
//! inheritance costs nothing unless it is used (see [`spawn`] for what it
//! costs when it is).
//!
//! ```
//! use weft::context::{self, Context};
//!
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     let (ctx, cancel) = Context::background().with_cancel();
//!     let child = ctx
//!         .scope(async {
//!             // Inherits the scope's context without being passed it.
//!             context::spawn(async { Context::current().cancelled().await })
//!         })
//!         .await;
//!     cancel.cancel();
//!     child.await.unwrap();
//! });
//! ```

// The tree and its invariants are in `node.rs`; the argument (why a
// cancel racing a new child or a second cancel stays consistent) in
// docs/design/context.md.

mod node;
mod scope;

pub use scope::{spawn, Scoped};

use crate::loom::sync::Arc;
use crate::time::Instant;
use node::{Node, CANCELLED, DEADLINE, NONE};
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// A cancellation signal with an optional deadline, part of a tree: see
/// the [module docs](self).
#[derive(Clone, Default)]
pub struct Context {
    /// `None`: the background context, never cancelled.
    node: Option<Arc<Node>>,
}

/// Cancels the context it was created with (and that context's
/// descendants). Dropping it does not cancel.
///
/// ```
/// use weft::context::{Context, ContextError};
/// let (ctx, cancel) = Context::background().with_cancel();
/// assert_eq!(ctx.err(), None);
/// cancel.cancel();
/// cancel.cancel(); // a second cancel changes nothing
/// assert_eq!(ctx.err(), Some(ContextError::Cancelled));
/// ```
#[derive(Clone)]
pub struct CancelHandle {
    node: Arc<Node>,
}

/// Why a context is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// Its `CancelHandle`, or an ancestor's, was called.
    Cancelled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl Context {
    /// The root context: never cancelled, no deadline. Allocates nothing.
    ///
    /// ```
    /// let ctx = weft::context::Context::background();
    /// assert!(ctx.err().is_none() && ctx.deadline().is_none());
    /// ```
    pub fn background() -> Context {
        Context { node: None }
    }

    fn derive(&self, deadline: Option<Instant>) -> (Context, CancelHandle) {
        let node = match &self.node {
            Some(parent) => Node::child(parent, deadline),
            None => Node::root(deadline),
        };
        (Context { node: Some(node.clone()) }, CancelHandle { node })
    }

    /// A child that is cancelled by the returned handle or with this
    /// context.
    ///
    /// ```
    /// use weft::context::Context;
    /// let (parent, cancel_parent) = Context::background().with_cancel();
    /// let (child, _cancel_child) = parent.with_cancel();
    /// cancel_parent.cancel();
    /// assert!(child.err().is_some());
    /// ```
    pub fn with_cancel(&self) -> (Context, CancelHandle) {
        self.derive(None)
    }

    /// A child that is also done at `deadline` (or at this context's
    /// deadline, if that is earlier), with
    /// [`ContextError::DeadlineExceeded`].
    ///
    /// ```
    /// use weft::context::{Context, ContextError};
    /// use weft::time::Instant;
    /// let (ctx, _cancel) = Context::background().with_deadline(Instant::now());
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// ```
    pub fn with_deadline(&self, deadline: Instant) -> (Context, CancelHandle) {
        self.derive(Some(deadline))
    }

    /// A child that is also done `timeout` from now. A timeout too large
    /// to represent means no deadline of its own.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::context::{Context, ContextError};
    ///
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(5));
    ///     ctx.cancelled().await;
    ///     assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// });
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> (Context, CancelHandle) {
        self.derive(Instant::now().checked_add(timeout))
    }

    /// Why this context is done, or `None` while it is not.
    pub fn err(&self) -> Option<ContextError> {
        match self.node.as_ref().map_or(NONE, Node::err) {
            CANCELLED => Some(ContextError::Cancelled),
            DEADLINE => Some(ContextError::DeadlineExceeded),
            _ => None,
        }
    }

    /// Whether this context is done (cancelled or past its deadline).
    pub fn is_done(&self) -> bool {
        self.err().is_some()
    }

    /// The deadline: the earliest of this context's and its ancestors'.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::context::Context;
    /// let (outer, _c1) = Context::background().with_timeout(Duration::from_secs(1));
    /// let (inner, _c2) = outer.with_timeout(Duration::from_secs(60));
    /// assert_eq!(inner.deadline(), outer.deadline(), "a child never outlives its parent's deadline");
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.node.as_ref().and_then(|n| n.deadline)
    }

    /// Completes when this context is done: cancelled (itself or an
    /// ancestor) or past its deadline. Never completes for the background
    /// context. Cancel-safe: dropping it loses nothing.
    ///
    /// While pending on a context with a deadline it holds a timer, so it
    /// must be polled inside a weft runtime (the deadline is checked
    /// lazily; [`err`](Context::err) works anywhere).
    #[track_caller]
    pub fn cancelled(&self) -> impl std::future::Future<Output = ()> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::ContextDone, async move {
            let Some(node) = &self.node else {
                return std::future::pending().await;
            };
            // Created before the check: a cancel after the check runs
            // `notify_waiters` after setting `err`, which completes every
            // `Notified` that exists by then (no lost wake-up).
            let mut notified = pin!(node.notify.notified());
            let _ = notified.as_mut().enable();
            if node.err() != NONE {
                return;
            }
            let Some(deadline) = node.deadline else {
                return notified.await;
            };
            let mut timer = pin!(crate::time::sleep_until(deadline));
            std::future::poll_fn(|cx| {
                if notified.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                if timer.as_mut().poll(cx).is_ready() {
                    node.cancel(DEADLINE);
                    return Poll::Ready(());
                }
                Poll::Pending
            })
            .await
        })
    }

    /// Whether both are the same context (clones of one another).
    pub fn same(&self, other: &Context) -> bool {
        match (&self.node, &other.node) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    /// Runs `fut` with this context as [`Context::current`] during each of
    /// its polls. See [`spawn`] to carry it into spawned tasks.
    ///
    /// ```
    /// use weft::context::Context;
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let (ctx, _cancel) = Context::background().with_cancel();
    ///     let inside = ctx.scope(async { Context::current() }).await;
    ///     assert!(inside.same(&ctx));
    ///     assert!(Context::current().same(&Context::background()));
    /// });
    /// ```
    pub fn scope<F: Future>(&self, fut: F) -> Scoped<F> {
        Scoped::new(self.clone(), fut)
    }

    /// The context of the innermost [`scope`](Context::scope) being
    /// polled on this thread, or the background context outside any.
    pub fn current() -> Context {
        scope::current()
    }

    #[cfg(test)]
    fn child_count(&self) -> usize {
        self.node.as_ref().map_or(0, |n| n.child_count())
    }
}

impl CancelHandle {
    /// Cancels the context (and its descendants) with
    /// [`ContextError::Cancelled`], unless it is already done. Idempotent.
    pub fn cancel(&self) {
        self.node.cancel(CANCELLED);
    }

    /// The context this handle cancels.
    pub fn context(&self) -> Context {
        Context { node: Some(self.node.clone()) }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("background", &self.node.is_none())
            .field("err", &self.err())
            .field("deadline", &self.deadline())
            .finish()
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle").field("context", &self.context()).finish()
    }
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Cancelled => "context cancelled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

#[cfg(test)]
mod tests;
