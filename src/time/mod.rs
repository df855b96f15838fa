//! Time: sleeping, timeouts and intervals on the runtime's timers.
//!
//! - [`sleep`](fn@sleep) / [`sleep_until`]: a future that completes at a
//!   deadline.
//! - [`timeout`](fn@timeout) / [`timeout_at`]: run a future with a deadline.
//! - [`interval`](fn@interval) / [`interval_at`]: tick at a fixed period,
//!   with a choice of [`MissedTickBehavior`].
//! - [`Instant`]: the clock these speak (a newtype over
//!   [`std::time::Instant`]).
//!
//! ```
//! # #[cfg(feature = "time")] {
//! use std::time::Duration;
//! use weft::time::{sleep, timeout};
//!
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     sleep(Duration::from_millis(1)).await;
//!     let slow = sleep(Duration::from_secs(60));
//!     assert!(timeout(Duration::from_millis(5), slow).await.is_err());
//! });
//! # }
//! ```
//!
//! Timers have a resolution of 1 ms. Deadlines are rounded up to it, so a
//! timer never completes early; it usually completes within a millisecond
//! or two after its deadline on an idle runtime. Each timer is created
//! against the current runtime (creating one outside a runtime panics), is
//! registered on its first poll in the timer wheel of the worker polling
//! it, and is cancelled in O(1), with no allocation, when dropped.
//!
//! When the runtime shuts down, every pending timer completes at once, so
//! tasks waiting on timers wake up and can finish.
//!
//! # Internals
//!
//! - `wheel`: a hierarchical timing wheel (6 levels x 64 slots, 1 ms at
//!   level 0), O(1) insert and cancel through intrusive lists, the next
//!   expiration from per-level occupancy bitmaps.
//! - `entry`: the timer entry shared by the future that owns it and the
//!   wheel that links it: links, a state word, and a waker slot
//!   (`atomic_waker`).
//! - `shards`: `TimerShards`, one wheel per worker, each behind its own
//!   lock, with a lock-free next expiration per shard for the parker.
//! - `timer`: `Timer`, the owning side (what `Sleep` embeds): lazy
//!   registration on first poll, O(1) cancel on drop, no allocation.
//! - `source`: `TimeSource`, `Instant`s to wheel milliseconds (deadlines
//!   rounded up, now rounded down: a timer never fires early).
//! - `sleep`, `timeout`, `interval`, `instant`, `error`: the public API.
//!
//! The scheduler owns one `TimerShards` (`Shared::timers`); its workers
//! fire their own shard every tick, sweep the others when idle, and the
//! worker parked in the netpoller sleeps until the earliest deadline. Design
//! and proofs: `docs/design/timers.md`.
//!
//! # Feature `time`
//!
//! The public API (`sleep`, `timeout`, `interval`, `Instant`, `Elapsed`)
//! exists only with the `time` feature (on by default). The internals
//! above are compiled either way: the workers' timer handling is part of
//! the scheduler; while no timer exists it costs a worker one load of its
//! shard's next expiration per tick.

// Without `time` the wheel, its shards and `Timer` stay compiled (the
// workers fire and sweep the shards every tick, the parker and the
// netpoller wait for the earliest deadline, and the unit tests exercise
// them), but nothing inserts a timer, so the insert half is unused.
#![cfg_attr(not(feature = "time"), allow(dead_code))]

pub(crate) mod atomic_waker;
pub(crate) mod entry;
#[cfg(feature = "time")]
pub mod error;
#[cfg(feature = "time")]
mod instant;
#[cfg(feature = "time")]
mod interval;
pub(crate) mod shards;
#[cfg(feature = "time")]
mod sleep;
pub(crate) mod source;
#[cfg(feature = "time")]
mod timeout;
pub(crate) mod timer;
pub(crate) mod wheel;

#[cfg(all(test, loom))]
mod loom_model;
#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(feature = "time")]
pub use self::{
    error::Elapsed,
    instant::Instant,
    interval::{interval, interval_at, Interval, MissedTickBehavior},
    sleep::{sleep, sleep_until, Sleep},
    timeout::{timeout, timeout_at, Timeout},
};

pub(crate) use self::{shards::TimerShards, timer::TimerHandle};

/// A timer completed because the runtime's timers were shut down, not
/// because its deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shutdown;

/// A small xorshift generator for the randomized tests (no new crates).
#[cfg(all(test, not(loom)))]
pub(crate) mod test_rng {
    pub(crate) struct Rng(u64);

    impl Rng {
        pub(crate) fn new(seed: u64) -> Rng {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }

        pub(crate) fn next_u64(&mut self) -> u64 {
            // xorshift64*
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Uniform-ish in `0..n` (`n > 0`).
        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next_u64() % n
        }
    }
}
