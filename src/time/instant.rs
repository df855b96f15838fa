//! `Instant`: a point on the monotonic clock, the type the timer API speaks.
//!
//! A thin newtype over [`std::time::Instant`]: the same clock, the same
//! resolution, free conversion both ways, except that `now` reads the
//! current runtime's clock, which a test may pause (`time::pause`).

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A measurement of the monotonic clock, as used by [`sleep_until`],
/// [`timeout_at`] and [`interval_at`](super::interval_at).
///
/// Converts freely to and from [`std::time::Instant`].
///
/// ```
/// use std::time::Duration;
/// use weft::time::Instant;
///
/// let start = Instant::now();
/// let later = start + Duration::from_millis(5);
/// assert_eq!(later - start, Duration::from_millis(5));
/// assert_eq!(start.saturating_duration_since(later), Duration::ZERO);
/// let std_instant: std::time::Instant = later.into();
/// assert_eq!(Instant::from_std(std_instant), later);
/// ```
///
/// [`sleep_until`]: super::sleep_until
/// [`timeout_at`]: super::timeout_at
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    std: std::time::Instant,
}

impl Instant {
    /// The current time: on the current runtime's clock, which is the
    /// system's monotonic clock unless a test paused it
    /// ([`pause`](super::pause)); outside a runtime, the system's.
    pub fn now() -> Instant {
        if crate::rt::time::source::any_clock_not_real() {
            // Some runtime's clock is paused or was: ask the current one.
            let now =
                crate::rt::context::with_current(|h| h.map(|h| h.shared.services().timers().clock().now()));
            if let Some(std) = now {
                return Instant { std };
            }
        }
        Instant { std: std::time::Instant::now() }
    }

    /// Wraps a [`std::time::Instant`].
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant { std }
    }

    /// The [`std::time::Instant`] this wraps.
    pub fn into_std(self) -> std::time::Instant {
        self.std
    }

    /// Time since `earlier`, or zero if `earlier` is later than `self`
    /// (like [`std::time::Instant::duration_since`] on current Rust, which
    /// saturates rather than panicking).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time since `earlier`, or `None` if `earlier` is later than `self`.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.std.checked_duration_since(earlier.std)
    }

    /// Time since `earlier`, or zero if `earlier` is later than `self`.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time elapsed since `self` (zero if `self` is in the future).
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, or `None` if the result cannot be represented.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_add(duration).map(Instant::from_std)
    }

    /// `self - duration`, or `None` if the result cannot be represented.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_sub(duration).map(Instant::from_std)
    }

    /// `self + duration`, saturating at a point about 30 years after now
    /// instead of overflowing. Used for deadlines computed from
    /// user-supplied durations.
    pub(crate) fn saturating_add(self, duration: Duration) -> Instant {
        self.checked_add(duration).unwrap_or_else(|| self.far_future())
    }

    /// About 30 years after `self` (or `self` itself on a platform whose
    /// `Instant` cannot even represent that, which would be very odd).
    pub(crate) fn far_future(self) -> Instant {
        const THIRTY_YEARS: Duration = Duration::from_secs(86_400 * 365 * 30);
        self.checked_add(THIRTY_YEARS).unwrap_or(self)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant::from_std(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.into_std()
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    /// If the result overflows the platform's `Instant` (as
    /// [`std::time::Instant`]'s `Add` does); use
    /// [`checked_add`](Instant::checked_add) for untrusted durations.
    fn add(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    /// If the result underflows the platform's `Instant` (as
    /// [`std::time::Instant`]'s `Sub` does); use
    /// [`checked_sub`](Instant::checked_sub) for untrusted durations.
    fn sub(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// The time from `rhs` to `self`, zero if `rhs` is later.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_matches_std() {
        let std_now = std::time::Instant::now();
        let now = Instant::from_std(std_now);
        let d = Duration::from_millis(1500);
        assert_eq!((now + d).into_std(), std_now + d);
        assert_eq!((now + d - d), now);
        let mut t = now;
        t += d;
        t -= Duration::from_millis(500);
        assert_eq!(t - now, Duration::from_secs(1));
        assert_eq!(now - t, Duration::ZERO);
        assert_eq!(now.checked_duration_since(t), None);
        assert_eq!(t.duration_since(now), Duration::from_secs(1));
        assert!(now < t);
    }

    #[test]
    fn huge_durations_saturate_instead_of_panicking() {
        let now = Instant::now();
        assert_eq!(now.checked_add(Duration::MAX), None);
        let far = now.saturating_add(Duration::MAX);
        assert!(far > now + Duration::from_secs(86_400 * 365 * 29));
    }
}
