//! A cheap process-wide monotonic clock in nanoseconds, for poll timing,
//! task ages and stall detection.
//!
//! Stamps are `u64` nanoseconds since a process epoch (the first call), plus
//! one, so that `0` can mean "no stamp" in atomics. Reading it is one
//! `Instant::now()` (a vDSO `clock_gettime` on Linux, ~20-30 ns).
//!
//! Reading the clock costs ~27 ns here (vDSO `clock_gettime`), as much as a
//! whole cheap poll, so the hot path avoids it: a worker keeps a cached
//! reading (refreshed at timed polls, every 61 ticks and around parks) and
//! times only one poll in `POLL_TIMING_SAMPLE` (`scheduler::stats`). It
//! publishes the cached reading and "this poll is timed" in the `POLL`
//! thread-local around each poll; the task harness stamps the task with the
//! cached reading and, for a timed poll, reads the clock at the end and
//! leaves that reading in `POLL_END` for the worker. Plain thread-locals
//! outside any protocol (also under loom, where they are never part of a
//! model's state).

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The process epoch (the first time anything asked for the clock).
pub(crate) fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
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
    static POLL_END: Cell<u64> = const { Cell::new(0) };
}

/// Set by a worker just before it polls a task: `cached` is the worker's
/// latest clock reading (exact when `timed`), `timed` asks the task harness
/// to read the clock when the poll returns.
pub(crate) fn enter_poll(cached: u64, timed: bool) {
    let _ = POLL.try_with(|c| c.set((cached, timed)));
}

/// The poll is over (or the worker is leaving it, as `block_in_place`).
pub(crate) fn leave_poll() {
    let _ = POLL.try_with(|c| c.set((0, false)));
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

/// True if the poll in progress is timed.
pub(crate) fn poll_timed() -> bool {
    POLL.try_with(|c| c.get().1).unwrap_or(false)
}

/// Set by the task harness when a timed poll returns (the clock read the
/// worker reuses for its own accounting).
pub(crate) fn set_poll_end(ns: u64) {
    let _ = POLL_END.try_with(|c| c.set(ns));
}

/// Takes the end stamp the harness left (0 if it left none).
pub(crate) fn take_poll_end() -> u64 {
    POLL_END.try_with(|c| c.replace(0)).unwrap_or(0)
}

/// A stamp for "now" that is free inside a worker's poll (the worker's
/// cached clock: at most a few polls or one park old) and one clock read
/// elsewhere. Used for task creation times, so `spawn` from a task reads
/// no clock.
pub(crate) fn coarse_now_ns() -> u64 {
    match poll_clock() {
        0 => now_ns(),
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
    fn coarse_now_uses_the_poll_clock_inside_a_poll() {
        enter_poll(42, true);
        assert_eq!(coarse_now_ns(), 42);
        assert!(poll_timed());
        untime_poll();
        assert!(!poll_timed());
        assert_eq!(poll_clock(), 42);
        leave_poll();
        assert!(coarse_now_ns() > 42);
        set_poll_end(7);
        assert_eq!(take_poll_end(), 7);
        assert_eq!(take_poll_end(), 0);
    }
}
