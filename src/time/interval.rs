//! `Interval`: ticks at a fixed period, with a choice of what to do about
//! ticks that were missed.

use super::sleep::Sleep;
use super::Instant;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// The shortest period: the timers' resolution. A zero period is raised to
/// it rather than rejected.
const MIN_PERIOD: Duration = Duration::from_millis(1);

/// An interval whose first tick completes at once and whose ticks follow
/// every `period` after that; see [`Interval`].
///
/// A zero `period` is treated as 1 ms, the timers' resolution (a zero
/// period would mean "always ready", a busy loop).
///
/// ```
/// use std::time::Duration;
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let mut interval = weft::time::interval(Duration::from_millis(2));
///     let first = interval.tick().await; // immediate
///     let second = interval.tick().await;
///     assert_eq!(second - first, Duration::from_millis(2));
/// });
/// ```
///
/// # Panics
/// If called outside a weft runtime; see [`sleep`](fn@super::sleep).
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    Interval::new(Instant::now(), period, "weft::time::interval")
}

/// An interval whose first tick completes at `start` and whose ticks follow
/// every `period` after that; see [`interval`] (also for a zero period).
///
/// ```
/// use std::time::Duration;
/// use weft::time::{interval_at, Instant};
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let start = Instant::now() + Duration::from_millis(5);
///     let mut every_2ms = interval_at(start, Duration::from_millis(2));
///     assert_eq!(every_2ms.tick().await, start); // not before `start`
///     assert!(Instant::now() >= start);
///     assert_eq!(every_2ms.tick().await, start + Duration::from_millis(2));
/// });
/// ```
///
/// # Panics
/// If called outside a weft runtime; see [`sleep`](fn@super::sleep).
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    Interval::new(start, period, "weft::time::interval_at")
}

/// What an [`Interval`] does when a tick is observed late enough that the
/// next scheduled tick is already due ("behind schedule"): the task was
/// busy, blocked, or not polling the interval.
///
/// Ticks are scheduled at `start`, `start + period`, `start + 2 * period`,
/// and so on; [`Interval::tick`] returns the scheduled instant of the tick
/// it completes. Say the period is 10 ms, ticks are due at 0, 10, 20, ...
/// and the tick due at 10 is only observed at 35 ms:
///
/// | behaviour | ticks returned (scheduled instants), and when they complete |
/// | --- | --- |
/// | `Burst` | 10 (at 35), 20 (at once), 30 (at once), 40 (at 40), 50, ... |
/// | `Delay` | 10 (at 35), 45 (at 45), 55, 65, ... |
/// | `Skip` | 10 (at 35), 40 (at 40), 50, 60, ... |
///
/// A tick observed late but before the next one is due (10 observed at
/// 12) is not behind schedule: every behaviour keeps the schedule.
///
/// ```
/// use std::time::Duration;
/// use weft::time::{interval, MissedTickBehavior};
///
/// let ms = Duration::from_millis;
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     // Burst (the default) catches up on every missed tick.
///     let mut burst = interval(ms(10));
///     let t0 = burst.tick().await;
///     std::thread::sleep(ms(35)); // the task is busy: ticks 10, 20, 30 are missed
///     assert_eq!(burst.tick().await - t0, ms(10));
///     assert_eq!(burst.tick().await - t0, ms(20));
///     assert_eq!(burst.tick().await - t0, ms(30));
///
///     // Skip drops them and stays aligned with the old schedule.
///     let mut skip = interval(ms(10));
///     skip.set_missed_tick_behavior(MissedTickBehavior::Skip);
///     let t0 = skip.tick().await;
///     std::thread::sleep(ms(35));
///     let late = skip.tick().await - t0; // the late tick: 10 ms (later if this thread was slow)
///     let next = skip.tick().await - t0; // the first one past the stall: 40 ms (or later)
///     assert!(late.as_millis() % 10 == 0 && next.as_millis() % 10 == 0); // the old schedule
///     assert!(next >= late + ms(30)); // the missed ones skipped: Burst gives late + 10 ms
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MissedTickBehavior {
    /// Fire every missed tick, back to back, until caught up: the next tick
    /// is always the previous scheduled tick plus the period, so the
    /// number of ticks over a long run is exact. The default.
    #[default]
    Burst,
    /// Start a new schedule from now: the next tick is `now + period`, and
    /// later ticks follow it every period. No tick is ever closer than a
    /// period to the one before.
    Delay,
    /// Drop the missed ticks and stay on the old schedule: the next tick is
    /// the first scheduled tick (previous tick plus a whole number of
    /// periods; aligned with `start` unless a `reset` or a `Delay` moved the
    /// schedule) that is after now.
    Skip,
}

impl MissedTickBehavior {
    /// The tick after the one scheduled at `scheduled`, observed at `now`.
    fn next_tick(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        let on_schedule = scheduled.saturating_add(period);
        if on_schedule > now {
            return on_schedule;
        }
        match self {
            MissedTickBehavior::Burst => on_schedule,
            MissedTickBehavior::Delay => now.saturating_add(period),
            MissedTickBehavior::Skip => {
                // The smallest k with scheduled + k * period > now.
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let k = behind / period.as_nanos() + 1;
                let ahead = k.saturating_mul(period.as_nanos());
                match u64::try_from(ahead) {
                    Ok(nanos) => scheduled.saturating_add(Duration::from_nanos(nanos)),
                    Err(_) => scheduled.far_future(),
                }
            }
        }
    }
}

/// Ticks at a fixed period; created by [`interval`] and [`interval_at`].
///
/// [`tick`](Interval::tick) completes at each scheduled instant and returns
/// it. The first tick completes at `start` (at once, for [`interval`]).
/// What happens after a late tick is set by [`MissedTickBehavior`]
/// (default: `Burst`).
///
/// Completing a tick takes one unit of the task's cooperative budget, as
/// [`Sleep`] does. If the runtime shuts down, pending ticks complete at
/// once.
///
/// ```
/// use std::time::Duration;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let mut heartbeat = weft::time::interval(Duration::from_millis(3));
///     assert_eq!(heartbeat.period(), Duration::from_millis(3));
///     for _ in 0..3 {
///         heartbeat.tick().await; // send a heartbeat here
///     }
///     // Activity seen: push the next heartbeat a full period away.
///     let before = weft::time::Instant::now();
///     heartbeat.reset();
///     heartbeat.tick().await;
///     assert!(before.elapsed() >= Duration::from_millis(3));
/// });
/// ```
pub struct Interval {
    /// The next tick: its deadline is the tick's scheduled instant.
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    #[track_caller]
    fn new(start: Instant, period: Duration, what: &str) -> Interval {
        Interval {
            delay: Box::pin(Sleep::new(start, what)),
            period: period.max(MIN_PERIOD),
            missed_tick_behavior: MissedTickBehavior::default(),
        }
    }

    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the returned future before it completes loses
    /// no tick.
    #[track_caller]
    pub fn tick(&mut self) -> impl Future<Output = Instant> + '_ {
        crate::rt::task::wait::poll_fn(crate::rt::task::WaitKind::IntervalTick, |cx| self.poll_tick(cx))
    }

    /// Polls for the next tick: `Ready(scheduled instant)` once it is due
    /// (and the interval moves on to the following tick), `Pending`
    /// otherwise, with the waker in `cx` registered for the tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(self.delay.as_mut().poll(cx));
        let scheduled = self.delay.deadline();
        let next = self.missed_tick_behavior.next_tick(scheduled, Instant::now(), self.period);
        self.delay.as_mut().reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        let next = Instant::now().saturating_add(self.period);
        self.delay.as_mut().reset(next);
    }

    /// The period (a zero period given at creation reads as 1 ms here).
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What the interval does after missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what the interval does after missed ticks, from the next tick
    /// on.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next_tick", &self.delay.deadline())
            .field("period", &self.period)
            .field("missed_tick_behavior", &self.missed_tick_behavior)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::MissedTickBehavior::{self, *};
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The table in `MissedTickBehavior`'s docs, in the 10 ms example.
    #[test]
    fn next_tick_follows_the_documented_table() {
        let t0 = Instant::now();
        let at = |n: u64| t0 + ms(n);
        let next = |b: MissedTickBehavior, sched: u64, now: u64| b.next_tick(at(sched), at(now), ms(10)) - t0;
        for b in [Burst, Delay, Skip] {
            // On time or late but not behind: keep the schedule.
            assert_eq!(next(b, 10, 10), ms(20), "{b:?}");
            assert_eq!(next(b, 10, 12), ms(20), "{b:?}");
            assert_eq!(next(b, 10, 19), ms(20), "{b:?}");
        }
        assert_eq!(next(Burst, 10, 35), ms(20));
        assert_eq!(next(Delay, 10, 35), ms(45));
        assert_eq!(next(Skip, 10, 35), ms(40));
        // Exactly on a later tick: that tick is due, so skip past it.
        assert_eq!(next(Skip, 10, 40), ms(50));
        assert_eq!(next(Delay, 10, 20), ms(30));
    }

    #[test]
    fn next_tick_saturates() {
        let now = Instant::now();
        for b in [Burst, Delay, Skip] {
            assert!(b.next_tick(now, now, Duration::MAX) > now + Duration::from_secs(86_400 * 365 * 29));
        }
        let late = now + Duration::from_secs(3600);
        assert_eq!(Skip.next_tick(now, late, Duration::from_nanos(1)) - late, Duration::from_nanos(1));
    }
}
