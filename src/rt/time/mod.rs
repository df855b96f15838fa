//! The runtime's timers: what `time::sleep`, `timeout` and `interval` are
//! built on.
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
//!
//! The runtime owns one `TimerShards`; its workers fire their own shard
//! every tick, sweep the others when idle, and the worker parked in the
//! netpoller sleeps until the earliest deadline. Design and proofs:
//! `docs/design/timers.md`.
//!
//! These are compiled with or without the `time` feature: the workers'
//! timer handling is part of the scheduler; while no timer exists it costs
//! a worker one load of its shard's next expiration per tick.

// Without `time` nothing inserts a timer, so the insert half is unused
// (the workers still fire and sweep the shards, and the unit tests
// exercise all of it).
#![cfg_attr(not(feature = "time"), allow(dead_code))]

pub(crate) mod atomic_waker;
pub(crate) mod entry;
pub(crate) mod shards;
pub(crate) mod source;
pub(crate) mod timer;
pub(crate) mod wheel;

#[cfg(all(test, not(loom)))]
mod tests;

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
