//! `Sleep`: the future behind [`sleep`] and [`sleep_until`].
//!
//! A `Sleep` embeds a [`Timer`] (entry inline, no allocation) holding the
//! runtime's scheduler handle, which implements `TimerHandle`. It is
//! created against the current runtime and registers lazily, on its first
//! poll, in the timer shard of the worker polling it.

use super::Instant;
use crate::rt::context;
use crate::rt::scheduler;
use crate::rt::time::timer::Timer;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// Waits until `duration` has elapsed.
///
/// The returned [`Sleep`] does nothing until polled; it completes no earlier
/// than `duration` after this call, usually within a millisecond or two of
/// it (the timers have 1 ms resolution; deadlines are rounded up, so a
/// sleep never ends early). A duration too large to represent (such as
/// [`Duration::MAX`]) is treated as "about 30 years", never as an overflow.
///
/// Dropping the `Sleep` before it completes cancels the timer (in O(1)).
///
/// ```
/// use std::time::Duration;
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let start = std::time::Instant::now();
///     weft::time::sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
///
/// # Panics
/// If called outside a weft runtime (the timer would have nobody to fire
/// it). Call it from a task, from inside `Runtime::block_on`, or after
/// `Runtime::enter()`.
///
/// # Cancel safety
///
/// Dropping a `Sleep` loses nothing, but a new `sleep` is a new timer: a
/// `sleep(d)` branch written inside a `select!` loop starts over at every
/// iteration (a timeout for each iteration, not a deadline for the loop). For a
/// deadline, create the `Sleep` once before the loop, pin it (`std::pin::pin!`)
/// and select on `&mut` it; `reset` moves it.
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::after(duration, "weft::time::sleep")
}

/// Waits until `deadline` is reached. A deadline in the past completes on
/// the first poll.
///
/// ```
/// use std::time::Duration;
/// use weft::time::{sleep_until, Instant};
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(3);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
///     sleep_until(deadline).await; // already past: completes at once
/// });
/// ```
///
/// # Panics
/// If called outside a weft runtime; see [`sleep`].
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline, "weft::time::sleep_until")
}

/// Future returned by [`sleep`] and [`sleep_until`]; its output is `()`.
///
/// `Sleep` is `!Unpin` (its timer entry is linked into the runtime's wheel
/// by address): to poll it by hand or call [`reset`](Sleep::reset), pin it
/// first, with `std::pin::pin!` or `Box::pin`.
///
/// Completing takes one unit of the task's cooperative budget; a task that
/// has spent its budget sees an elapsed `Sleep` as pending and is
/// rescheduled at once, so it gives other tasks a turn first.
///
/// If the runtime shuts down while the sleep is pending, the sleep
/// completes (early): shutdown wakes every task waiting on a timer so that
/// it can observe the shutdown and finish.
///
/// ```
/// use std::time::Duration;
/// use weft::time::{sleep, Instant};
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     // An idle timeout that moves each time there is activity.
///     let mut idle = std::pin::pin!(sleep(Duration::from_secs(60)));
///     assert!(!idle.is_elapsed());
///     let soon = Instant::now() + Duration::from_millis(2);
///     idle.as_mut().reset(soon);
///     assert_eq!(idle.deadline(), soon);
///     idle.as_mut().await;
///     assert!(idle.is_elapsed());
/// });
/// ```
///
/// # Cancel safety
///
/// Dropping a `Sleep` loses nothing, but a new `sleep` is a new timer: a
/// `sleep(d)` branch written inside a `select!` loop starts over at every
/// iteration (a timeout for each iteration, not a deadline for the loop). For a
/// deadline, create the `Sleep` once before the loop, pin it (`std::pin::pin!`)
/// and select on `&mut` it; `reset` moves it.
pub struct Sleep {
    /// The deadline as given (the timer holds it rounded up to the wheel's
    /// millisecond).
    deadline: Instant,
    /// The deadline was in the future when the timer was armed (it was
    /// computed as now plus a non-zero duration), so its first poll may
    /// skip reading the clock (see `Timer::poll_elapsed_future_deadline`).
    /// Cleared by `reset`.
    armed_in_future: bool,
    /// Structurally pinned: never moved out of a pinned `Sleep`.
    timer: Timer<scheduler::Handle>,
    /// Where the sleep was made (the caller of `sleep`), for task dumps.
    site: &'static std::panic::Location<'static>,
}

impl Sleep {
    #[track_caller]
    pub(crate) fn new(deadline: Instant, what: &str) -> Sleep {
        let Some(handle) = context::current_handle() else {
            panic!(
                "{what} called outside a weft runtime: a timer needs a runtime to fire it. \
                 Create it from a task, from inside Runtime::block_on, or after Runtime::enter()."
            );
        };
        Sleep {
            deadline,
            armed_in_future: false,
            timer: Timer::at(handle, deadline.into_std()),
            site: std::panic::Location::caller(),
        }
    }

    /// A sleep for `duration` from now. A non-zero duration puts the
    /// deadline after now (`floor(now) <= now < deadline <= ceil(deadline)`
    /// in wheel ms), which spares the first poll a clock read.
    #[track_caller]
    pub(crate) fn after(duration: Duration, what: &str) -> Sleep {
        let mut sleep = Sleep::new(Instant::now().saturating_add(duration), what);
        sleep.armed_in_future = !duration.is_zero();
        sleep
    }

    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has been reached and the timer has fired
    /// (or the runtime's timers were shut down), and the sleep has not been
    /// reset since.
    pub fn is_elapsed(&self) -> bool {
        self.timer.is_elapsed()
    }

    /// Moves the deadline to `deadline`, whether or not the sleep has
    /// completed; the next poll waits for the new deadline. Cancelling the
    /// old registration is O(1); the new one happens on the next poll.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        // SAFETY: `deadline` is plain data, not structurally pinned; the
        // timer is only ever reached as `Pin<&mut Timer>` (below) and is not
        // moved.
        let this = unsafe { self.get_unchecked_mut() };
        this.deadline = deadline;
        this.armed_in_future = false;
        let ms = this.timer.clock().deadline_to_ms(deadline.into_std());
        // SAFETY: structural pinning of `timer`, see `timer_pin`.
        unsafe { Pin::new_unchecked(&mut this.timer) }.reset(ms);
    }

    fn timer_pin(self: Pin<&mut Self>) -> Pin<&mut Timer<scheduler::Handle>> {
        // SAFETY: `timer` is structurally pinned: `Sleep` has no `Drop` of
        // its own, never moves the timer out, and is `!Unpin` because
        // `Timer` is, so a pinned `Sleep` means a pinned timer.
        unsafe { self.map_unchecked_mut(|s| &mut s.timer) }
    }

    /// Polls the timer alone, without charging the cooperative budget
    /// (for `Timeout`, whose inner future does the charging). Ready when the
    /// deadline passed or the timers were shut down.
    pub(crate) fn poll_timer(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let shard = context::current_worker_index();
        let armed_in_future = self.armed_in_future;
        let timer = self.timer_pin();
        let polled = if armed_in_future {
            timer.poll_elapsed_future_deadline(cx, shard)
        } else {
            timer.poll_elapsed(cx, shard)
        };
        // Ok: the deadline passed. Err(Shutdown): the runtime is shutting
        // down; completing lets the task see that and finish.
        polled.map(|_| ())
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let site = self.site;
        ready!(crate::rt::task::wait::WaitSite::at(crate::rt::task::WaitKind::Sleep, site)
            .pending(self.poll_timer(cx)));
        // Only a completion costs budget. Out of budget: `poll_proceed`
        // wakes us and we stay pending; the timer stays fired, so the next
        // poll completes at once.
        let progress = ready!(crate::rt::coop::poll_proceed(cx));
        progress.made_progress();
        Poll::Ready(())
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep").field("deadline", &self.deadline).field("timer", &self.timer).finish()
    }
}
