//! `JoinHandle<T>`: awaits a task's output, aborts it, or detaches it.

use super::raw::RawTask;
use super::{AbortHandle, Id, JoinError};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An owned permission to await a spawned task's output.
///
/// Awaiting it yields `Ok(output)`, or a [`JoinError`] if the task panicked
/// or was cancelled. Dropping it detaches the task, which keeps running.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     // Await it for the output.
///     let square = weft::spawn(async { 12 * 12 });
///     assert_eq!(square.await.unwrap(), 144);
///
///     // Abort it: awaiting then yields a cancelled JoinError.
///     let forever = weft::spawn(std::future::pending::<()>());
///     assert!(!forever.is_finished());
///     forever.abort();
///     assert!(forever.await.unwrap_err().is_cancelled());
///
///     // Drop it: the task is detached and still runs to the end.
///     let (tx, rx) = std::sync::mpsc::channel();
///     drop(weft::spawn(async move { tx.send("detached, still ran").unwrap() }));
///     let got = weft::task::spawn_blocking(move || rx.recv().unwrap()).await.unwrap();
///     assert_eq!(got, "detached, still ran");
/// });
/// ```
///
/// # Cancel safety
///
/// Awaiting `&mut handle` (it is `Unpin`) in a `select!` loop is cancel-safe: a
/// lost race leaves the output in the task for the next poll. Dropping the
/// handle itself detaches the task; it does not cancel it (use `abort`).
pub struct JoinHandle<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves the output (T: Send) across threads.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort`, `is_finished` and `id`, which
// touch the atomic state word.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle { raw, _output: PhantomData }
    }

    /// Cancels the task. Its future is dropped on a worker thread (at once if
    /// it is idle, after the current poll if it is running), and awaiting the
    /// handle yields a `JoinError` whose `is_cancelled()` is true. A task that
    /// has already completed keeps its output.
    pub fn abort(&self) {
        super::abort::abort_task(self.raw);
    }

    /// A handle that can cancel the task (from any thread, any number of
    /// times) without owning its output.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle::new(self.raw)
    }

    /// True once the task has finished (output, panic or cancellation).
    pub fn is_finished(&self) -> bool {
        self.raw.state().load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.header().id()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `out` has the task's output type (the handle was created
        // with it), and we are the task's only JoinHandle.
        unsafe { self.raw.try_read_output(&mut out as *mut _ as *mut (), cx.waker()) };
        if out.is_pending() {
            // A handle is awaited directly (`handle.await`), so it has no
            // construction site of the awaiting task's to show.
            super::wait::record_unsited(super::wait::WaitKind::Join);
        }
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: called once, giving up the handle's reference.
        unsafe { self.raw.drop_join_handle() };
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id()).field("state", self.raw.state()).finish()
    }
}
