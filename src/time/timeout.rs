//! `Timeout`: a future with a deadline.

use super::error::Elapsed;
use super::sleep::Sleep;
use super::Instant;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Runs `future`, giving up after `duration`: `Ok(output)` if it completes
/// first, `Err(Elapsed)` otherwise (the future is then dropped with the
/// `Timeout`).
///
/// The future is polled before the deadline is checked, so a future that
/// is ready on its first poll wins even with a zero `duration`. A huge
/// `duration` saturates to "about 30 years".
///
/// ```
/// use std::time::Duration;
/// use weft::time::timeout;
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     assert_eq!(timeout(Duration::from_millis(50), async { 7 }).await, Ok(7));
///     assert!(timeout(Duration::from_millis(1), std::future::pending::<()>()).await.is_err());
/// });
/// ```
///
/// # Panics
/// If called outside a weft runtime; see [`sleep`](fn@super::sleep).
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), Sleep::after(duration, "weft::time::timeout"))
}

/// Runs `future`, giving up at `deadline`; see [`timeout`].
///
/// One deadline shared by several steps:
///
/// ```
/// use std::time::Duration;
/// use weft::time::{sleep, timeout_at, Instant};
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let deadline = Instant::now() + Duration::from_secs(5);
///     let step1 = timeout_at(deadline, async { 1 }).await;
///     let step2 = timeout_at(deadline, sleep(Duration::from_millis(1))).await;
///     assert_eq!(step1, Ok(1));
///     assert!(step2.is_ok());
///     let past = Instant::now() - Duration::from_millis(1);
///     assert!(timeout_at(past, std::future::pending::<()>()).await.is_err());
/// });
/// ```
///
/// # Panics
/// If called outside a weft runtime; see [`sleep`](fn@super::sleep).
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), Sleep::new(deadline, "weft::time::timeout_at"))
}

/// Future returned by [`timeout`] and [`timeout_at`]; its output is
/// `Result<F::Output, Elapsed>`.
///
/// The deadline's timer does not charge the task's cooperative budget (the
/// inner future does), so a future that keeps spending its budget still
/// times out.
///
/// If the runtime shuts down while it is pending, its timer completes
/// early and the timeout reports `Err(Elapsed)`.
///
/// ```
/// use std::time::Duration;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let limited = weft::time::timeout(Duration::from_secs(1), async { "done" });
///     assert!(limited.deadline() > weft::time::Instant::now());
///     // Changed our mind: take the future back, without a deadline.
///     let unlimited = limited.into_inner();
///     assert_eq!(unlimited.await, "done");
/// });
/// ```
pub struct Timeout<F> {
    /// Structurally pinned.
    value: F,
    /// Structurally pinned.
    delay: Sleep,
}

impl<F> Timeout<F> {
    fn new(value: F, delay: Sleep) -> Timeout<F> {
        Timeout { value, delay }
    }

    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.delay.deadline()
    }

    /// The inner future.
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// The inner future, mutably (only reachable while the `Timeout` is not
    /// pinned, so the inner future has not been pinned either).
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.value
    }

    /// Gives up the deadline and returns the inner future.
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: both fields are structurally pinned: `Timeout` has no
        // `Drop`, never moves them out while pinned (`into_inner` and
        // `get_mut` need it unpinned), and is `!Unpin` through `Sleep`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above, `value` stays in place.
        let value = unsafe { Pin::new_unchecked(&mut this.value) };
        if let Poll::Ready(out) = value.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        // SAFETY: as above, `delay` stays in place.
        let delay = unsafe { Pin::new_unchecked(&mut this.delay) };
        delay.poll_timer(cx).map(|()| Err(Elapsed::new()))
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout").field("value", &self.value).field("delay", &self.delay).finish()
    }
}
