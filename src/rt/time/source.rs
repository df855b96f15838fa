//! The clock of the timers: `Instant`s to wheel milliseconds and back, and
//! the runtime's test clock.
//!
//! Wheel time is milliseconds since the runtime's start. A deadline is
//! rounded *up* to the next millisecond and "now" is rounded *down*, so an
//! entry fires only when `now_ms() >= deadline_ms`, which implies the
//! clock has reached the real deadline: a sleep never ends early.
//!
//! The clock is one of three modes (docs/design/test-clock.md):
//! - real: `now` is `std::time::Instant::now()`;
//! - paused (`time::pause`): `now` is a stored instant that moves only
//!   when `advance` or the auto-advance moves it;
//! - shifted (after `resume`): real time plus the offset the paused
//!   period left behind, so time goes on at its real rate from where the
//!   paused clock stood and never jumps back.
//!
//! Readers never lock: the mode is one atomic word, and each mode's value
//! is stored before the mode that makes it visible (Release, paired with
//! the Acquire load in `now`). Writers (`pause`, `resume`, `advance_to`)
//! serialise on a mutex.

use std::sync::atomic::{
    AtomicI64, AtomicU64, AtomicU8, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const NANOS_PER_MS: u32 = 1_000_000;

const REAL: u8 = 0;
const PAUSED: u8 = 1;
const SHIFTED: u8 = 2;

/// Clocks (one per runtime) that are not in real mode. While it is zero,
/// `time::Instant::now` reads the system clock without looking up the
/// current runtime: the test clock costs a program that never pauses one
/// load of this word.
static NOT_REAL: AtomicUsize = AtomicUsize::new(0);

/// True if some runtime's clock is paused or shifted (so `Instant::now`
/// must ask the current runtime's clock).
pub(crate) fn any_clock_not_real() -> bool {
    // Acquire: pairs with the Release increment in `pause`, so a thread
    // that sees the count also sees the paused clock's value.
    NOT_REAL.load(Acquire) != 0
}

// Plain std atomics, not loom's: the test clock is not part of any loom
// model, and loom atomics would add a scheduling point to every reading of
// the clock in the timer models.
#[derive(Debug)]
pub(crate) struct TimeSource {
    start: Instant,
    /// `REAL`, `PAUSED` or `SHIFTED`.
    mode: AtomicU8,
    /// While paused: nanoseconds since `start`.
    paused_ns: AtomicU64,
    /// While shifted: virtual minus real, in nanoseconds.
    offset_ns: AtomicI64,
    /// Serialises the writers.
    control: Mutex<()>,
}

impl TimeSource {
    /// A clock whose millisecond 0 is now.
    pub(crate) fn new() -> TimeSource {
        TimeSource::with_start(Instant::now())
    }

    /// A clock whose millisecond 0 is `start`.
    pub(crate) fn with_start(start: Instant) -> TimeSource {
        TimeSource {
            start,
            mode: AtomicU8::new(REAL),
            paused_ns: AtomicU64::new(0),
            offset_ns: AtomicI64::new(0),
            control: Mutex::new(()),
        }
    }

    /// Now, on this clock.
    pub(crate) fn now(&self) -> Instant {
        // Acquire: pairs with the Release stores of the mode in `pause` and
        // `resume`, which follow the stores of the values read here.
        match self.mode.load(Acquire) {
            REAL => Instant::now(),
            PAUSED => self.at_ns(self.paused_ns.load(Acquire)),
            _ => {
                // Relaxed: the Acquire load of the mode above already
                // orders it after `resume`'s store of the offset.
                let offset = self.offset_ns.load(Relaxed);
                let real = Instant::now();
                if offset >= 0 {
                    real + Duration::from_nanos(offset as u64)
                } else {
                    real.checked_sub(Duration::from_nanos(offset.unsigned_abs())).unwrap_or(self.start)
                }
            }
        }
    }

    /// True while paused.
    pub(crate) fn is_paused(&self) -> bool {
        // Acquire: as in `now`.
        self.mode.load(Acquire) == PAUSED
    }

    fn at_ns(&self, ns: u64) -> Instant {
        self.start.checked_add(Duration::from_nanos(ns)).unwrap_or(self.start)
    }

    fn ns_since_start(&self, instant: Instant) -> u64 {
        u64::try_from(instant.saturating_duration_since(self.start).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Stops the clock. It stops on the next whole millisecond of wheel
    /// time, so that deadlines of whole milliseconds from a paused "now"
    /// fall exactly on wheel ticks (a paused `sleep(10ms)` then takes
    /// exactly 10 ms of the clock). Returns false if it was paused already.
    pub(crate) fn pause(&self) -> bool {
        let _control = self.control.lock().unwrap_or_else(|e| e.into_inner());
        let mode = self.mode.load(Acquire);
        if mode == PAUSED {
            return false;
        }
        let ns = self.ns_since_start(self.now()).div_ceil(u64::from(NANOS_PER_MS)) * u64::from(NANOS_PER_MS);
        // Release (both): pairs with the Acquire loads in `now`; the value
        // is in place before the mode says to read it.
        self.paused_ns.store(ns, Release);
        if mode == REAL {
            NOT_REAL.fetch_add(1, Release);
        }
        self.mode.store(PAUSED, Release);
        true
    }

    /// Lets the clock run again, at the real rate from where it stands.
    /// Returns false if it was not paused.
    pub(crate) fn resume(&self) -> bool {
        let _control = self.control.lock().unwrap_or_else(|e| e.into_inner());
        if self.mode.load(Acquire) != PAUSED {
            return false;
        }
        let virtual_ns = self.paused_ns.load(Acquire) as i128;
        let real_ns = self.ns_since_start(Instant::now()) as i128;
        let offset = (virtual_ns - real_ns).clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        // Relaxed: published by the Release store of the mode below.
        self.offset_ns.store(offset, Relaxed);
        // Release: pairs with the Acquire load in `now`, which then reads
        // the offset stored above.
        self.mode.store(SHIFTED, Release);
        true
    }

    /// Moves a paused clock forward to `instant` (never back). Returns
    /// false if the clock is not paused.
    pub(crate) fn advance_to(&self, instant: Instant) -> bool {
        let _control = self.control.lock().unwrap_or_else(|e| e.into_inner());
        if self.mode.load(Acquire) != PAUSED {
            return false;
        }
        let ns = self.ns_since_start(instant);
        // Release: pairs with the Acquire load in `now`; only ever moves
        // forward (under the control lock).
        self.paused_ns.fetch_max(ns, Release);
        true
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
        self.instant_to_ms_floor(self.now())
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

    /// How long a parker may block in real time before wheel millisecond
    /// `ms` begins on this clock (zero if it has begun); `None` while
    /// paused before `ms` (paused time does not pass by itself: only
    /// `advance` or the auto-advance moves it).
    pub(crate) fn park_timeout(&self, ms: u64) -> Option<Duration> {
        let now = self.now();
        if self.is_paused() && self.ms_to_instant(ms) > now {
            return None;
        }
        Some(self.timeout_until(ms, now))
    }
}

impl Drop for TimeSource {
    fn drop(&mut self) {
        if *self.mode.get_mut() != REAL {
            // Release: as in `pause` (a count, nothing published with it).
            NOT_REAL.fetch_sub(1, Release);
        }
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
