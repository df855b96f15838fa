//! `Timer` and `Sleep`: hyper's timeouts on weft's timer wheel.

use crate::time::{self, Instant};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// hyper's timer (`hyper::rt::Timer`) on weft's timers: header-read
/// timeouts, keep-alive pings and idle timeouts of hyper's connections.
///
/// Hand it to hyper's builders (`http1::Builder::timer`,
/// `http2::Builder::timer`); [`serve`](super::serve) does. Resetting a
/// sleep that came from this timer moves its deadline in place, without a
/// new allocation.
///
/// ```
/// use hyper::rt::Timer as _;
/// use std::time::{Duration, Instant};
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let timer = weft::hyper::Timer;
///     let mut sleep = timer.sleep(Duration::from_secs(3600));
///     // Moved to now: completes at once instead of in an hour.
///     timer.reset(&mut sleep, Instant::now());
///     sleep.await;
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer;

/// A weft [`time::Sleep`] as a `hyper::rt::Sleep`, made by [`Timer`].
///
/// The weft sleep is held inline, so hyper's one box per sleep is the
/// only allocation (hyper makes a sleep per request for its header-read
/// timeout). Like the sleep it holds, it is `!Unpin`: hyper keeps it
/// pinned in that box.
#[derive(Debug)]
pub struct Sleep {
    /// Structurally pinned: never moved out of a pinned `Sleep`.
    inner: time::Sleep,
}

impl Sleep {
    /// When the sleep completes.
    pub fn deadline(&self) -> Instant {
        self.inner.deadline()
    }

    /// Moves the deadline, keeping the same timer entry.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.inner().reset(deadline);
    }

    fn inner(self: Pin<&mut Self>) -> Pin<&mut time::Sleep> {
        // SAFETY: `inner` is structurally pinned: this is the only access
        // that hands it out by `&mut`, and only pinned; `Sleep` has no
        // `Drop` of its own, is `!Unpin` because `time::Sleep` is, and
        // never moves the field out.
        unsafe { self.map_unchecked_mut(|s| &mut s.inner) }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.inner().poll(cx)
    }
}

impl hyper::rt::Sleep for Sleep {}

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Sleep { inner: time::sleep(duration) })
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Sleep { inner: time::sleep_until(Instant::from_std(deadline)) })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: std::time::Instant) {
        match sleep.as_mut().downcast_mut_pin::<Sleep>() {
            Some(ours) => ours.reset(Instant::from_std(new_deadline)),
            // Another timer's sleep: replace it with one of ours.
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
