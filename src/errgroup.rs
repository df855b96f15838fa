//! Go's `errgroup`: run a group of fallible tasks, get the first error,
//! cancel the rest.
//!
//! A [`Group`] spawns tasks that return `Result<T, E>`.
//! [`wait`](Group::wait) waits for all of them and returns the first
//! error (in the order the errors happened). The group owns a
//! [`Context`]: the first error cancels it, so tasks that watch
//! [`Group::context`] stop early. [`set_limit`](Group::set_limit) bounds
//! how many tasks run at once: [`spawn`](Group::spawn) then waits for a
//! free place and [`try_spawn`](Group::try_spawn) gives the future back.
//!
//! ```
//! use weft::errgroup::Group;
//!
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     let mut group = Group::new();
//!     group.set_limit(2);
//!     for n in 0..5u32 {
//!         let ctx = group.context().clone();
//!         group
//!             .spawn(async move {
//!                 if n == 1 {
//!                     return Err(format!("job {n} failed"));
//!                 }
//!                 ctx.cancelled().await; // the others run until the failure
//!                 Ok(())
//!             })
//!             .await; // with 2 running, waits for one of them to end
//!     }
//!     assert_eq!(group.wait().await, Err("job 1 failed".to_string()));
//! });
//! ```
//!
//! # Dropping a group
//!
//! Dropping a `Group` before `wait` returns cancels its context and aborts
//! every task it still runs. A drop cannot wait (it may run on a worker
//! thread, which must not block), so what is guaranteed is: no task is
//! polled again after the drop, except one whose poll is running on
//! another worker at that moment, which finishes that poll; each task's
//! future is then dropped by the runtime. To be sure every task has
//! stopped, await [`shutdown`](Group::shutdown) instead.
//!
//! A task that panics makes `wait` cancel the others and resume the panic.

use crate::context::{CancelHandle, Context};
use crate::loom::sync::{Arc, Mutex};
use crate::sync::{OwnedSemaphorePermit, Semaphore};
use crate::task::JoinSet;
use std::fmt;
use std::future::Future;

/// A group of tasks that fail together: see the [module docs](self).
pub struct Group<E> {
    shared: Arc<Shared<E>>,
    ctx: Context,
    tasks: JoinSet<()>,
    /// Places for running tasks, when limited.
    limit: Option<Arc<Semaphore>>,
}

/// What the tasks share with the group.
struct Shared<E> {
    first_err: Mutex<Option<E>>,
    cancel: CancelHandle,
}

impl<E> Shared<E> {
    /// Keeps the first error and cancels the group's context.
    fn fail(&self, err: E) {
        let mut first = self.first_err.lock();
        let later = if first.is_none() {
            *first = Some(err);
            None
        } else {
            Some(err)
        };
        drop(first);
        // Dropped outside the lock: an error's drop is user code.
        drop(later);
        self.cancel.cancel();
    }
}

impl<E: Send + 'static> Group<E> {
    /// A group whose context is a child of the current one
    /// ([`Context::current`]: the background context outside any scope).
    pub fn new() -> Group<E> {
        Group::with_context(&Context::current())
    }

    /// A group whose context is a child of `parent` (Go's
    /// `errgroup.WithContext`): cancelling `parent` cancels the group's
    /// tasks' context too.
    ///
    /// ```
    /// use weft::{context::Context, errgroup::Group};
    /// let (parent, cancel) = Context::background().with_cancel();
    /// let group = Group::<()>::with_context(&parent);
    /// cancel.cancel();
    /// assert!(group.context().is_done());
    /// ```
    pub fn with_context(parent: &Context) -> Group<E> {
        let (ctx, cancel) = parent.with_cancel();
        Group {
            shared: Arc::new(Shared { first_err: Mutex::new(None), cancel }),
            ctx,
            tasks: JoinSet::new(),
            limit: None,
        }
    }

    /// The group's context: cancelled by the first error, by `wait`
    /// returning, by the group's drop, or with its parent.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Limits the tasks running at once to `n` (Go's `SetLimit`); tasks
    /// spawned before keep running and are not counted. `0` is taken as 1
    /// (a limit of 0 could never run anything).
    pub fn set_limit(&mut self, n: usize) {
        self.limit = Some(Arc::new(Semaphore::new(n.max(1))));
    }

    /// Removes the limit for tasks spawned from now on.
    pub fn clear_limit(&mut self) {
        self.limit = None;
    }

    /// Spawns `future` in the group, first waiting for a free place if
    /// the group is limited. Its error, if it is the first, is what
    /// [`wait`](Group::wait) returns; its `Ok` value is dropped.
    ///
    /// # Panics
    ///
    /// Outside a weft runtime, as [`weft::spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F, T>(&mut self, future: F) -> impl std::future::Future<Output = ()> + '_
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::SemaphoreAcquire, async move {
            let permit = match &self.limit {
                Some(sem) => sem.clone().acquire_owned().await.ok(),
                None => None,
            };
            self.start(future, permit);
        })
    }

    /// Spawns `future` if the group has a free place now (always, if it
    /// is not limited); otherwise gives it back (Go's `TryGo`).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let mut group = weft::errgroup::Group::<()>::new();
    ///     group.set_limit(1);
    ///     assert!(group.try_spawn(std::future::pending::<Result<(), ()>>()).is_ok());
    ///     assert!(group.try_spawn(async { Ok::<(), ()>(()) }).is_err(), "the only place is taken");
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a weft runtime, as [`weft::spawn`](crate::spawn).
    pub fn try_spawn<F, T>(&mut self, future: F) -> Result<(), F>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        let permit = match &self.limit {
            Some(sem) => match sem.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => return Err(future),
            },
            None => None,
        };
        self.start(future, permit);
        Ok(())
    }

    #[track_caller]
    fn start<F, T>(&mut self, future: F, permit: Option<OwnedSemaphorePermit>)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        let shared = self.shared.clone();
        self.tasks.spawn(async move {
            let result = future.await;
            // The place is free as soon as the work is done.
            drop(permit);
            if let Err(e) = result {
                shared.fail(e);
            }
        });
    }

    /// Waits for every task, then returns the first error, if any. The
    /// group's context is cancelled once the first error happens (so the
    /// other tasks can stop early) and in any case when this returns.
    ///
    /// # Panics
    ///
    /// If a task panicked: the others are cancelled and aborted, and the
    /// panic is resumed here.
    #[track_caller]
    pub fn wait(mut self) -> impl std::future::Future<Output = Result<(), E>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::JoinSet, async move {
            while let Some(res) = self.tasks.join_next().await {
                if let Err(err) = res {
                    if err.is_panic() {
                        self.shared.cancel.cancel();
                        self.tasks.abort_all();
                        std::panic::resume_unwind(err.into_panic());
                    }
                }
            }
            self.shared.cancel.cancel();
            match self.shared.first_err.lock().take() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })
    }

    /// Cancels the context, aborts every task and waits until all have
    /// stopped. Returns the first error that happened before, if any.
    #[track_caller]
    pub fn shutdown(mut self) -> impl std::future::Future<Output = Result<(), E>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::JoinSet, async move {
            self.shared.cancel.cancel();
            self.tasks.shutdown().await;
            match self.shared.first_err.lock().take() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })
    }

    /// Tasks spawned and not yet collected by `wait`.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no task is left.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl<E: Send + 'static> Default for Group<E> {
    fn default() -> Self {
        Group::new()
    }
}

impl<E> Drop for Group<E> {
    /// Cancels the context; the `JoinSet`'s drop then aborts the tasks
    /// (see "Dropping a group" in the module docs).
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

impl<E> fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("tasks", &self.tasks.len())
            .field("context", &self.ctx)
            .field("limited", &self.limit.is_some())
            .finish()
    }
}
