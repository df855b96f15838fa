//! `yield_now`: let other tasks run before this one continues.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the scheduler once: the task goes to the back of its worker's
/// run queue (not the runnext slot), so every task already queued there runs
/// before it continues.
///
/// Works because a task that wakes itself during its own poll is
/// re-scheduled with `Schedule::yield_now` once the poll returns; when the
/// waker is the task's own, the "wake" is a mark the task's harness reads
/// after the poll (`waker::yield_self`), with no atomic operation.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
/// use std::sync::Arc;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(rt.spawn(async {
///     let other_ran = Arc::new(AtomicBool::new(false));
///     let flag = other_ran.clone();
///     let other = weft::spawn(async move { flag.store(true, SeqCst) });
///     // One worker: the other task is queued behind this one until we yield.
///     weft::task::yield_now().await;
///     assert!(other_ran.load(SeqCst));
///     other.await.unwrap();
/// }))
/// .unwrap();
/// ```
pub async fn yield_now() {
    struct YieldNow {
        yielded: bool,
    }

    impl Future for YieldNow {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.yielded {
                return Poll::Ready(());
            }
            self.yielded = true;
            crate::rt::task::waker::yield_self(cx.waker());
            Poll::Pending
        }
    }

    YieldNow { yielded: false }.await
}
