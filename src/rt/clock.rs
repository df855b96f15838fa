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
//! passes the cached reading and "this poll is timed" to the task harness
//! as arguments of the poll (`RawTask::poll`); the harness stamps the task
//! with the cached reading and, for a timed poll, reads the clock at the
//! end and returns that reading to the worker. The worker also publishes
//! both in the `POLL` thread-local around each poll, for what runs inside
//! it: spawns (`coarse_now_ns`), a `LocalSet`'s polls, `block_in_place`
//! (`untime_poll`). A plain thread-local outside any protocol (also under
//! loom, where it is never part of a model's state).

use std::cell::Cell;
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

thread_local! {
    /// The worker's cached clock for the poll in progress (0 outside a
    /// worker's poll) and whether this poll is timed.
    static POLL: Cell<(u64, bool)> = const { Cell::new((0, false)) };
}

/// Set by a worker just before it polls a task: `cached` is the worker's
/// latest clock reading (exact when `timed`), `timed` asks the task harness
/// to read the clock when the poll returns.
pub(crate) fn enter_poll(cached: u64, timed: bool) {
    let _ = POLL.try_with(|c| c.set((cached, timed)));
}

/// The poll is over (or the worker is leaving it, as `block_in_place`).
/// Returns whether it was still timed (`untime_poll` clears that).
pub(crate) fn leave_poll() -> bool {
    POLL.try_with(|c| c.replace((0, false)).1).unwrap_or(false)
}

/// `block_in_place`: the rest of this poll is not timed (it blocks by
/// design); the cached clock stays.
pub(crate) fn untime_poll() {
    let _ = POLL.try_with(|c| c.set((c.get().0, false)));
}

/// The cached clock of the poll this thread is in, or 0 outside a worker's
/// poll.
pub(crate) fn poll_clock() -> u64 {
    POLL.try_with(|c| c.get().0).unwrap_or(0)
}

/// The cached clock of the poll this thread is in and whether that poll
/// is timed, in one thread-local read; `(0, _)` outside a worker's poll.
pub(crate) fn poll_clock_and_timed() -> (u64, bool) {
    POLL.try_with(|c| c.get()).unwrap_or((0, false))
}

/// True if the poll in progress is timed.
#[cfg(all(test, not(loom)))]
pub(crate) fn poll_timed() -> bool {
    POLL.try_with(|c| c.get().1).unwrap_or(false)
}

/// A stamp for "now" that is free inside a worker's poll (the worker's
/// cached clock: at most a few polls or one park old) and a coarse clock
/// read elsewhere (a few ms old at most, `coarse_clock_ns`). Used for task
/// creation times, so `spawn` reads no precise clock.
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
        leave_poll();
        let outside = coarse_now_ns();
        assert!((1..FAR).contains(&outside), "outside a poll: {outside}");
    }
}
