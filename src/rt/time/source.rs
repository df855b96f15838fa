//! The clock of the timers: `Instant`s to wheel milliseconds and back.
//!
//! Wheel time is milliseconds since the runtime's start. A deadline is
//! rounded *up* to the next millisecond and "now" is rounded *down*, so an
//! entry fires only when `now_ms() >= deadline_ms`, which implies the real
//! time has reached the real deadline: a sleep never ends early.

use std::time::{Duration, Instant};

const NANOS_PER_MS: u32 = 1_000_000;

#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeSource {
    start: Instant,
}

impl TimeSource {
    /// A clock whose millisecond 0 is now.
    pub(crate) fn new() -> TimeSource {
        TimeSource::with_start(Instant::now())
    }

    /// A clock whose millisecond 0 is `start`.
    pub(crate) fn with_start(start: Instant) -> TimeSource {
        TimeSource { start }
    }

    /// The wheel millisecond at which a timer for `deadline` may fire: the
    /// first whole millisecond at or after it (0 for instants before the
    /// start; saturating far in the future).
    pub(crate) fn deadline_to_ms(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.start);
        // u64 arithmetic (a u128 division costs a libcall on the hot path of
        // every timer): whole ms of the seconds, plus the sub-second
        // nanoseconds rounded up.
        let sub_ms = u64::from(d.subsec_nanos().div_ceil(NANOS_PER_MS));
        d.as_secs().saturating_mul(1000).saturating_add(sub_ms)
    }

    /// The wheel millisecond of `instant`, rounded down.
    pub(crate) fn instant_to_ms_floor(&self, instant: Instant) -> u64 {
        let d = instant.saturating_duration_since(self.start);
        let sub_ms = u64::from(d.subsec_nanos() / NANOS_PER_MS);
        d.as_secs().saturating_mul(1000).saturating_add(sub_ms)
    }

    /// The current wheel millisecond, rounded down: pass it to the firing
    /// side.
    pub(crate) fn now_ms(&self) -> u64 {
        self.instant_to_ms_floor(Instant::now())
    }

    /// The instant at which wheel millisecond `ms` begins (saturating: an
    /// unrepresentable instant becomes one ~30 years out).
    pub(crate) fn ms_to_instant(&self, ms: u64) -> Instant {
        self.start
            .checked_add(Duration::from_millis(ms))
            .or_else(|| self.start.checked_add(Duration::from_secs(86_400 * 365 * 30)))
            .unwrap_or(self.start)
    }

    /// How long a parker should block to wake at wheel millisecond `ms`:
    /// zero if it has begun already. Waking at the *start* of `ms` is
    /// enough: `now_ms()` then reads `ms`.
    pub(crate) fn timeout_until(&self, ms: u64, now: Instant) -> Duration {
        self.ms_to_instant(ms).saturating_duration_since(now)
    }
}

impl Default for TimeSource {
    fn default() -> TimeSource {
        TimeSource::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_and_now_rounds_down() {
        let start = Instant::now();
        let clock = TimeSource::with_start(start);
        let at = |nanos: u64| start + Duration::from_nanos(nanos);
        assert_eq!(clock.deadline_to_ms(start), 0);
        assert_eq!(clock.deadline_to_ms(at(1)), 1);
        assert_eq!(clock.deadline_to_ms(at(999_999)), 1);
        assert_eq!(clock.deadline_to_ms(at(1_000_000)), 1);
        assert_eq!(clock.deadline_to_ms(at(1_000_001)), 2);
        assert_eq!(clock.instant_to_ms_floor(at(999_999)), 0);
        assert_eq!(clock.instant_to_ms_floor(at(1_000_000)), 1);
        assert_eq!(clock.instant_to_ms_floor(at(1_999_999)), 1);
    }

    #[test]
    fn a_deadline_is_never_reached_early() {
        // For any deadline and any "now": now_ms >= deadline_ms implies
        // now >= deadline.
        let start = Instant::now();
        let clock = TimeSource::with_start(start);
        for d in [0u64, 1, 999_999, 1_000_000, 1_000_001, 2_500_000, 63_999_999] {
            for n in [0u64, 1, 999_999, 1_000_000, 1_000_001, 2_000_000, 2_999_999, 64_000_000] {
                let (deadline, now) = (start + Duration::from_nanos(d), start + Duration::from_nanos(n));
                if clock.instant_to_ms_floor(now) >= clock.deadline_to_ms(deadline) {
                    assert!(now >= deadline, "deadline {d} ns reached at {n} ns");
                }
            }
        }
    }

    #[test]
    fn instants_before_start_and_far_future_saturate() {
        let start = Instant::now() + Duration::from_secs(10);
        let clock = TimeSource::with_start(start);
        assert_eq!(clock.deadline_to_ms(Instant::now()), 0);
        assert_eq!(clock.now_ms(), 0);
        let far = start + Duration::from_secs(u32::MAX as u64 * 1000);
        assert!(clock.deadline_to_ms(far) > (1 << 40));
        let late = clock.ms_to_instant(u64::MAX);
        assert!(late > start);
    }

    #[test]
    fn timeout_until_reaches_the_millisecond() {
        let start = Instant::now();
        let clock = TimeSource::with_start(start);
        let now = start + Duration::from_micros(1_500);
        assert_eq!(clock.timeout_until(5, now), Duration::from_micros(3_500));
        assert_eq!(clock.timeout_until(1, now), Duration::ZERO);
        assert_eq!(clock.instant_to_ms_floor(now + clock.timeout_until(5, now)), 5);
    }
}
