//! A cheap process-wide monotonic clock in nanoseconds, for poll timing,
//! task ages and stall detection.
//!
//! Stamps are `u64` nanoseconds since a process epoch (the first call), plus
//! one, so that `0` can mean "no stamp" in atomics. Reading it is one
//! `Instant::now()` (a vDSO `clock_gettime` on Linux).
//!
//! Reading the clock (vDSO `clock_gettime`) costs about as much as a
//! whole cheap poll, so the hot path avoids it: a worker keeps a cached
//! reading (refreshed at timed polls, every 61 ticks and around parks) and
//! times only one poll in `POLL_TIMING_SAMPLE` (`scheduler::stats`). It
//! publishes the cached reading and "this poll is timed" in the thread's
//! context (`rt::context`, field `poll_clock`) around each poll, for what
//! runs inside it: the task harness (which stamps the task with the cached
//! reading), spawns (`coarse_now_ns`), `block_in_place` (`untime_poll`).
//! For a timed poll the harness reads the clock when the poll returns, for
//! the task's own statistics, and leaves that reading in the context
//! (`refresh`): the worker takes it as its new cached clock and the end of
//! its timing, and a `LocalSet`'s next task as its start, so nobody reads
//! the clock twice. Per-thread state outside any protocol.

use crate::rt::context;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The process epoch as an `Instant` and, on Linux, as a raw
/// `CLOCK_MONOTONIC` reading taken right after it (for `coarse_clock_ns`).
static EPOCH: OnceLock<(Instant, u64)> = OnceLock::new();

fn epoch_pair() -> (Instant, u64) {
    *EPOCH.get_or_init(|| {
        let now = Instant::now();
        (now, raw_monotonic_ns(RawClock::Precise))
    })
}

/// The process epoch (the first time anything asked for the clock).
pub(crate) fn epoch() -> Instant {
    epoch_pair().0
}

#[derive(Clone, Copy)]
enum RawClock {
    Precise,
    /// `CLOCK_MONOTONIC_COARSE`: the same clock as `Instant` (Linux's
    /// `CLOCK_MONOTONIC`) as of the last scheduler tick (1-4 ms old), read
    /// in a few ns without the TSC arithmetic.
    Coarse,
}

#[cfg(target_os = "linux")]
fn raw_monotonic_ns(clock: RawClock) -> u64 {
    let id = match clock {
        RawClock::Precise => libc::CLOCK_MONOTONIC,
        RawClock::Coarse => libc::CLOCK_MONOTONIC_COARSE,
    };
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes
    // it. Both clock ids exist on every Linux since 2.6.32.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

#[cfg(not(target_os = "linux"))]
fn raw_monotonic_ns(_: RawClock) -> u64 {
    0
}

/// A stamp on the `now_ns` scale that may be a few ms old, for task
/// creation times (ages): `CLOCK_MONOTONIC_COARSE` where it exists, else
/// `now_ns`. A spawn from outside any worker reads this instead of the
/// precise clock, whose cost is a sizeable part of a remote spawn
/// (docs/benchmarks.md).
#[inline(never)]
fn coarse_clock_ns() -> u64 {
    match (raw_monotonic_ns(RawClock::Coarse), epoch_pair().1) {
        // No raw clock here (or it failed): the precise one.
        (0, _) | (_, 0) => now_ns(),
        // The coarse clock lags; right after the epoch it may read before
        // it, which saturates to the epoch itself.
        (coarse, base) => coarse.saturating_sub(base) + 1,
    }
}

/// Nanoseconds since the process epoch, plus one (never 0).
pub(crate) fn now_ns() -> u64 {
    let epoch = epoch();
    Instant::now().saturating_duration_since(epoch).as_nanos() as u64 + 1
}

/// The `Instant` of a stamp from [`now_ns`].
#[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's; no monitor under loom
pub(crate) fn instant_of(ns: u64) -> Instant {
    epoch() + Duration::from_nanos(ns.saturating_sub(1))
}

/// Set by a worker just before it polls a task: `cached` is the worker's
/// latest clock reading (exact when `timed`), `timed` asks the task harness
/// to read the clock when the poll returns.
pub(crate) fn enter_poll(cached: u64, timed: bool) {
    let _ = context::with(|c| c.poll_clock.set((cached, timed)));
}

/// The poll is over (or the worker is leaving it, as `block_in_place`).
/// Returns the cached clock as the poll left it (a timed poll's end
/// reading, if the harness took one: `refresh`) and whether the poll was
/// still timed (`untime_poll` clears that).
pub(crate) fn leave_poll() -> (u64, bool) {
    context::with(|c| c.poll_clock.replace((0, false))).unwrap_or((0, false))
}

/// `block_in_place`: the rest of this poll is not timed (it blocks by
/// design); the cached clock stays.
pub(crate) fn untime_poll() {
    let _ = context::with(|c| c.poll_clock.set((c.poll_clock.get().0, false)));
}

/// A task poll inside a worker's poll read the clock at its end (`now`):
/// that becomes the cached clock, for what runs next on this thread.
pub(crate) fn refresh(now: u64) {
    let _ = context::with(|c| c.poll_clock.set((now, c.poll_clock.get().1)));
}

/// The cached clock of the poll this thread is in, or 0 outside a worker's
/// poll.
#[inline]
pub(crate) fn poll_clock() -> u64 {
    poll_clock_and_timed().0
}

/// The cached clock of the poll this thread is in and whether that poll
/// is timed, in one read; `(0, _)` outside a worker's poll.
#[inline]
pub(crate) fn poll_clock_and_timed() -> (u64, bool) {
    context::with(|c| c.poll_clock.get()).unwrap_or((0, false))
}

/// True if the poll in progress is timed.
#[cfg(all(test, not(loom)))]
pub(crate) fn poll_timed() -> bool {
    poll_clock_and_timed().1
}

/// A stamp for "now" that is free inside a worker's poll (the worker's
/// cached clock: at most a few polls or one park old) and a coarse clock
/// read elsewhere (a few ms old at most, `coarse_clock_ns`). Used for task
/// creation times, so `spawn` reads no precise clock.
#[inline]
pub(crate) fn coarse_now_ns() -> u64 {
    match poll_clock() {
        0 => coarse_clock_ns(),
        ns => ns,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_nonzero_monotonic_and_map_back_to_instants() {
        let a = now_ns();
        let b = now_ns();
        assert!(a >= 1 && b >= a);
        let i = instant_of(b);
        assert!(i <= Instant::now());
    }

    #[test]
    fn the_coarse_clock_is_on_the_same_scale_and_at_most_a_few_ms_behind() {
        let before = now_ns();
        let coarse = coarse_clock_ns();
        let after = now_ns();
        assert!(coarse <= after, "coarse {coarse} ahead of {after}");
        assert!(coarse + 50_000_000 >= before, "coarse {coarse} more than 50 ms behind {before}");
    }

    #[test]
    fn coarse_now_uses_the_poll_clock_inside_a_poll() {
        // A stamp far in the future, so a clock read after leave_poll can
        // never be mistaken for it.
        const FAR: u64 = u64::MAX / 2;
        enter_poll(FAR, true);
        assert_eq!(coarse_now_ns(), FAR);
        assert!(poll_timed());
        untime_poll();
        assert!(!poll_timed());
        assert_eq!(poll_clock(), FAR);
        let _ = leave_poll();
        let outside = coarse_now_ns();
        assert!((1..FAR).contains(&outside), "outside a poll: {outside}");
    }

    #[test]
    fn an_end_reading_left_by_a_poll_is_what_the_worker_takes_back() {
        enter_poll(10, true);
        refresh(25);
        assert_eq!(poll_clock_and_timed(), (25, true), "the next poll on this thread starts from it");
        assert_eq!(leave_poll(), (25, true));
        assert_eq!(poll_clock_and_timed(), (0, false), "outside a poll again");
    }
}
