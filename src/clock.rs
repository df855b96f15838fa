//! A cheap process-wide monotonic clock in nanoseconds, for poll timing,
//! task ages and stall detection.
//!
//! Stamps are `u64` nanoseconds since a process epoch (the first call), plus
//! one, so that `0` can mean "no stamp" in atomics. Reading it is one
//! `Instant::now()` (a vDSO `clock_gettime` on Linux, ~20-30 ns).
//!
//! The worker sets `POLL_START` around each poll (`scheduler::worker`); the
//! task harness reads it to stamp the task and publishes the poll's end in
//! `POLL_END`, so a poll costs two clock reads in all. Both are plain
//! thread-locals outside any protocol (also under loom, where they are never
//! part of a model's state).

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
    static POLL_START: Cell<u64> = const { Cell::new(0) };
    static POLL_END: Cell<u64> = const { Cell::new(0) };
}

/// Set by a worker just before it polls a task (0 after the poll).
pub(crate) fn set_poll_start(ns: u64) {
    let _ = POLL_START.try_with(|c| c.set(ns));
}

/// The start of the poll this thread is in, or 0 outside a worker's poll.
pub(crate) fn poll_start() -> u64 {
    POLL_START.try_with(Cell::get).unwrap_or(0)
}

/// Set by the task harness when a poll returns (the clock read the worker
/// reuses for its own accounting).
pub(crate) fn set_poll_end(ns: u64) {
    let _ = POLL_END.try_with(|c| c.set(ns));
}

/// Takes the end stamp the harness left (0 if it left none).
pub(crate) fn take_poll_end() -> u64 {
    POLL_END.try_with(|c| c.replace(0)).unwrap_or(0)
}

/// A stamp for "now" that is free inside a worker's poll (the poll's start,
/// accurate to the length of the poll) and one clock read elsewhere. Used
/// for task creation times, so `spawn` from a task reads no clock.
pub(crate) fn coarse_now_ns() -> u64 {
    match poll_start() {
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
    fn coarse_now_uses_the_poll_start_inside_a_poll() {
        set_poll_start(42);
        assert_eq!(coarse_now_ns(), 42);
        set_poll_start(0);
        assert!(coarse_now_ns() > 0);
        set_poll_end(7);
        assert_eq!(take_poll_end(), 7);
        assert_eq!(take_poll_end(), 0);
    }
}
