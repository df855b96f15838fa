//! `TimerShards`: one timing wheel per worker instead of one per runtime.
//!
//! A timer is registered in the shard of the worker that first polls it
//! (an uncontended lock on a line that worker already holds), cancelled by
//! whichever thread drops it by locking the shard its state names (O(1)),
//! and fired by that shard's worker; an idle worker may also fire other
//! shards' expired timers, skipping any shard that another thread is
//! already firing, so a busy or blocked worker's timers are not held up.
//! Wakers are collected under the lock and woken after it is released, in
//! batches of [`WAKE_BATCH`], so no lock is held across foreign code and no
//! lock is held for long.
//!
//! Each shard keeps its next expiration in an atomic beside the lock, so a
//! parker computes its timeout (`next_expiration`, a min over shards)
//! without taking any lock, and a helper checks for work the same way.
//!
//! Lock-free state (`ShardShared`) and mutex-guarded state (the `Wheel`)
//! sit in separate structs and on separate cache lines: other threads read
//! the former, only users of this shard's timers touch the latter.
//!
//! The entry state protocol is in `entry.rs`; the design, the contention
//! argument and the protocol's proof are in `docs/design/timers.md`.

use super::entry::{Entry, State};
use super::source::TimeSource;
use super::wheel::{Elapsed, Wheel};
use crate::loom::sync::atomic::{
    AtomicBool, AtomicU64,
    Ordering::{Relaxed, SeqCst},
};
use crate::loom::sync::Mutex;
use crossbeam_utils::CachePadded;
use std::fmt;
use std::ptr::NonNull;
use std::task::Waker;

/// Wakers collected per lock hold: bounds both the lock hold time and the
/// stack space of a firing pass.
pub(crate) const WAKE_BATCH: usize = 32;

/// `next` of a shard with no timers.
const NONE: u64 = u64::MAX;

/// See `Timers::shard_next`.
pub(crate) struct ShardNext<'a>(&'a AtomicU64);

impl ShardNext<'_> {
    /// As `Timers::shard_next_expiration` for this shard.
    pub(crate) fn get(&self) -> Option<u64> {
        // SeqCst: as in `Timers::next_expiration`.
        let next = self.0.load(SeqCst);
        (next != NONE).then_some(next)
    }
}

/// Result of [`TimerShards::insert`].
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Insert {
    /// Linked in the shard. `earliest`: the shard's next expiration moved
    /// earlier (`Timer` then calls `TimerHandle::earliest_changed`).
    Registered { earliest: bool },
    /// The deadline is not after the shard's wheel time: the entry is FIRED
    /// already, no waker will be woken.
    Elapsed,
    /// The timers are shut down: the entry is FIRED (with the shutdown flag).
    Shutdown,
}

pub(crate) struct TimerShards {
    shards: Box<[Shard]>,
    /// Shared (a std `Arc`, not part of any model) with the blocking
    /// pool's idle hook, which reads whether it is paused.
    clock: std::sync::Arc<TimeSource>,
    /// Set once by `shutdown`, before it drains each shard under its lock;
    /// read under a shard lock by `insert`.
    closed: AtomicBool,
}

struct Shard {
    shared: CachePadded<ShardShared>,
    wheel: CachePadded<Mutex<Wheel>>,
}

/// The lock-free part of a shard, read by other threads.
struct ShardShared {
    /// The wheel's `next_expiration()` (`NONE` if empty), written under the
    /// wheel lock whenever it changes (can be stale-early after a cancel,
    /// never late).
    next: AtomicU64,
    /// Set while a thread runs a firing pass: a helper that finds it set
    /// skips the shard instead of queueing on the lock (the facade's
    /// `Mutex` has no `try_lock`; this skips only real firing work, never
    /// an O(1) insert or cancel).
    firing: AtomicBool,
}

/// A claim on a shard's `firing` flag, released on drop (also on unwind).
struct FiringClaim<'a>(&'a AtomicBool);

impl<'a> FiringClaim<'a> {
    fn try_claim(flag: &'a AtomicBool) -> Option<FiringClaim<'a>> {
        // Relaxed: the flag is a hint that spares a helper the wait; the
        // wheel itself is ordered by its mutex.
        (!flag.swap(true, Relaxed)).then_some(FiringClaim(flag))
    }
}

impl Drop for FiringClaim<'_> {
    fn drop(&mut self) {
        // Relaxed: a hint, see `try_claim`.
        self.0.store(false, Relaxed);
    }
}

impl TimerShards {
    /// `num_shards` wheels (at least one), on a clock starting now.
    pub(crate) fn new(num_shards: usize) -> TimerShards {
        TimerShards::with_clock(num_shards, TimeSource::new())
    }

    pub(crate) fn with_clock(num_shards: usize, clock: TimeSource) -> TimerShards {
        let shards = (0..num_shards.max(1))
            .map(|_| Shard {
                shared: CachePadded::new(ShardShared {
                    next: AtomicU64::new(NONE),
                    firing: AtomicBool::new(false),
                }),
                wheel: CachePadded::new(Mutex::new(Wheel::new())),
            })
            .collect();
        TimerShards { shards, clock: std::sync::Arc::new(clock), closed: AtomicBool::new(false) }
    }

    pub(crate) fn clock(&self) -> &TimeSource {
        &self.clock
    }

    /// The clock, to share with a thread that outlives no runtime part
    /// it uses (the blocking pool's idle hook).
    pub(crate) fn shared_clock(&self) -> std::sync::Arc<TimeSource> {
        self.clock.clone()
    }

    pub(crate) fn num_shards(&self) -> usize {
        self.shards.len()
    }

    /// Registers `entry` with `deadline` (wheel ms) in shard
    /// `shard` modulo the shard count, normally the calling worker's.
    ///
    /// # Safety
    ///
    /// - The caller is the entry's owner: no other `insert` or `remove` on
    ///   it runs at the same time, and it is UNREGISTERED.
    /// - If this returns `Registered`, the entry stays live and in place
    ///   until `remove(entry)` has returned or `entry.state()` has returned
    ///   FIRED.
    pub(crate) unsafe fn insert(&self, shard: usize, entry: &Entry, deadline: u64) -> Insert {
        let index = shard % self.shards.len();
        let shard = &self.shards[index];
        let ptr = NonNull::from(entry);
        let mut wheel = shard.wheel.lock();
        // Relaxed: `shutdown` stores `closed` before it takes this lock to
        // drain; if we took the lock after it, the lock orders the flag
        // before us; if before, `shutdown` drains our entry.
        if self.closed.load(Relaxed) {
            entry.set_fired_unregistered(true);
            return Insert::Shutdown;
        }
        // SAFETY: the entry is live and stays in place until removed or seen
        // FIRED, which happens only after it is handed out and fired (our
        // contract); it is UNREGISTERED, so in no wheel, and invariant S
        // keeps its node for this wheel's lock holder.
        match unsafe { wheel.insert(ptr, deadline) } {
            Ok(()) => {
                entry.set_registered(index);
                let (lowered, _next) = self.publish_next(shard, &wheel);
                Insert::Registered { earliest: lowered }
            }
            Err(Elapsed) => {
                entry.set_fired_unregistered(false);
                Insert::Elapsed
            }
        }
    }

    /// Makes sure no wheel links `entry` and no firer will touch it again.
    /// Returns true if this call unlinked it (it was cancelled before it
    /// fired); the state is then UNREGISTERED. If it fired, it stays FIRED.
    /// Waits for a firer that is firing it right now.
    ///
    /// # Safety
    ///
    /// - The caller is the entry's owner (as for `insert`);
    /// - if the entry is registered, it is registered in this `TimerShards`.
    pub(crate) unsafe fn remove(&self, entry: &Entry) -> bool {
        let index = match entry.state() {
            State::Unregistered | State::Fired { .. } => return false,
            State::Registered { shard } | State::Firing { shard, .. } => shard,
        };
        let shard = &self.shards[index];
        let mut wheel = shard.wheel.lock();
        match entry.state_locked() {
            State::Registered { shard: linked_in } => {
                debug_assert_eq!(linked_in, index);
                // SAFETY: REGISTERED(index), read under index's lock: the
                // entry is linked in this wheel (invariant S).
                unsafe { wheel.remove(NonNull::from(entry)) };
                entry.set_unregistered();
                let _ = self.publish_next(shard, &wheel);
                true
            }
            // The firer finished under the lock we now hold.
            State::Fired { .. } => false,
            other => unreachable!("timer entry {other:?} under the lock of its shard {index}"),
        }
    }

    /// Fires every timer of shard `shard` modulo the shard count whose deadline is
    /// `<= now` (wheel ms), waking their wakers after releasing the lock.
    /// Returns how many fired. On return, every such timer registered
    /// before the call has fired (by this call or by a concurrent one).
    pub(crate) fn fire_expired(&self, shard: usize, now: u64) -> usize {
        let index = shard % self.shards.len();
        let shared = &self.shards[index].shared;
        // Relaxed: an insert that happens before this call stored its
        // `next` before, so we read that value or a later one, and a later
        // value `> now` was written when the wheel held nothing `<= now`.
        if shared.next.load(Relaxed) > now {
            return 0;
        }
        // Tell helpers to skip this shard; if one is firing it already, we
        // still take the lock, which gives the guarantee above.
        let _claim = FiringClaim::try_claim(&shared.firing);
        self.fire_pass(index, now, false)
    }

    /// As [`fire_expired`](TimerShards::fire_expired), for a helper: returns
    /// `None` without waiting if another thread is firing that shard.
    pub(crate) fn try_fire_expired(&self, shard: usize, now: u64) -> Option<usize> {
        let index = shard % self.shards.len();
        let shared = &self.shards[index].shared;
        // Relaxed: a best-effort look, see `fire_expired`.
        if shared.next.load(Relaxed) > now {
            return Some(0);
        }
        let _claim = FiringClaim::try_claim(&shared.firing)?;
        Some(self.fire_pass(index, now, false))
    }

    /// An idle worker's sweep: `try_fire_expired` on every shard but
    /// `own`, starting after it. Returns how many fired.
    pub(crate) fn fire_others(&self, own: usize, now: u64) -> usize {
        let n = self.shards.len();
        (1..n).filter_map(|k| self.try_fire_expired((own + k) % n, now)).sum()
    }

    /// The earliest next expiration over all shards (wheel ms), without
    /// taking a lock; never later than the earliest registered deadline,
    /// possibly earlier after a cancel. `None` if no timer is registered.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        // SeqCst: one half of a store-load pattern with the parker (it
        // publishes that it parks, then reads `next`; an inserter publishes
        // `next`, then looks for a parker through `earliest_changed`). With
        // Acquire/Release both sides could read the old values and a new
        // earliest timer would wait for the parker's old timeout.
        let min = self.shards.iter().map(|s| s.shared.next.load(SeqCst)).min().unwrap_or(NONE);
        (min != NONE).then_some(min)
    }

    /// One shard's next expiration as a handle a worker keeps, for its
    /// per-tick check without the index arithmetic (a division).
    pub(crate) fn shard_next(&self, shard: usize) -> ShardNext<'_> {
        ShardNext(&self.shards[shard % self.shards.len()].shared.next)
    }

    /// Next expiration of one shard (see `next_expiration`).
    pub(crate) fn shard_next_expiration(&self, shard: usize) -> Option<u64> {
        // SeqCst: as in `next_expiration`.
        let next = self.shards[shard % self.shards.len()].shared.next.load(SeqCst);
        (next != NONE).then_some(next)
    }

    /// Refuses new timers and fires every registered one with the shutdown
    /// flag (their futures complete with an error). Returns how many fired.
    /// Idempotent.
    pub(crate) fn shutdown(&self) -> usize {
        // Relaxed: ordered by the shard locks, see `insert`.
        self.closed.store(true, Relaxed);
        (0..self.shards.len()).map(|i| self.fire_pass(i, u64::MAX, true)).sum()
    }

    /// Number of registered timers (locks each shard in turn; for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.wheel.lock().len()).sum()
    }

    /// Pops and fires, in batches, what the wheel hands out: expired
    /// entries, or every entry if `shutdown`.
    fn fire_pass(&self, index: usize, now: u64, shutdown: bool) -> usize {
        let shard = &self.shards[index];
        let mut total = 0;
        loop {
            let mut wakers: [Option<Waker>; WAKE_BATCH] = [const { None }; WAKE_BATCH];
            let mut batch = 0;
            {
                let mut wheel = shard.wheel.lock();
                while batch < WAKE_BATCH {
                    let popped = if shutdown { wheel.pop_any() } else { wheel.poll_expired(now) };
                    let Some(entry) = popped else { break };
                    // SAFETY: the wheel just handed the entry out under the
                    // lock we hold: it is live (W), its owner can neither
                    // free it (it must take this lock or see FIRED, which
                    // `fire` stores last) nor re-register it; it was linked
                    // here, so its state is REGISTERED(index) (invariant S).
                    wakers[batch] = unsafe { Entry::fire(entry, index, shutdown) };
                    batch += 1;
                }
                let _ = self.publish_next(shard, &wheel);
            }
            total += batch;
            // Outside the lock: a wake may run arbitrary code, including
            // code that registers timers in this shard.
            for waker in wakers.iter_mut().filter_map(Option::take) {
                waker.wake();
            }
            if batch < WAKE_BATCH {
                return total;
            }
        }
    }

    /// Stores the wheel's next expiration in the shard's atomic if it
    /// changed. Returns whether it moved earlier, and the new value (`NONE`
    /// if the wheel is empty). Caller holds the lock.
    fn publish_next(&self, shard: &Shard, wheel: &Wheel) -> (bool, u64) {
        let next = wheel.next_expiration().unwrap_or(NONE);
        // Relaxed: only written under the wheel lock, which we hold.
        let old = shard.shared.next.load(Relaxed);
        if next != old {
            // SeqCst: the inserter's half of the store-load pattern in
            // `next_expiration`.
            shard.shared.next.store(next, SeqCst);
        }
        (next < old, next)
    }
}

impl fmt::Debug for TimerShards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerShards")
            .field("num_shards", &self.shards.len())
            .field("next_expiration", &self.next_expiration())
            .finish_non_exhaustive()
    }
}
