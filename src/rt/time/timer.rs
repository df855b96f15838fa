//! `Timer`: the owning side of a timer entry, the piece that `Sleep`,
//! `Timeout` and `Interval` embed.
//!
//! A `Timer` holds a handle to the runtime's [`TimerShards`], its deadline,
//! and the [`Entry`] itself, inline: no allocation per timer. It is
//! `!Unpin` (through the entry), so a future containing it is pinned
//! before its first poll and the entry cannot move while a wheel links it.
//! Registration is lazy: the first `poll_elapsed` inserts the entry into
//! the shard the caller names (the polling worker's), so a timer that is
//! never polled costs no lock at all, and neither does dropping it.
//!
//! Every method that can register or unregister takes `Pin<&mut Self>` (or
//! is `Drop`), which makes the `Timer` the entry's single owner as the
//! `TimerShards` contract requires.

use super::entry::{Entry, State};
use super::shards::{Insert, TimerShards};
use super::source::TimeSource;
use super::Shutdown;
use crate::loom::sync::Arc;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// How a `Timer` reaches its `TimerShards`.
///
/// # Safety
///
/// `shards` returns the same `TimerShards` every time it is called on the
/// same value, and the value keeps it alive: a registered entry is removed
/// through the same shards it was inserted into.
pub(crate) unsafe trait TimerHandle {
    fn shards(&self) -> &TimerShards;

    /// Called after an insert through this handle made `deadline` (wheel
    /// ms) the earliest expiration of shard `shard`: the scheduler's chance
    /// to shorten a parked worker's timeout.
    fn earliest_changed(&self, _shard: usize, _deadline: u64) {}
}

// SAFETY: a shared reference always points to the same value, which
// outlives it.
unsafe impl TimerHandle for &TimerShards {
    fn shards(&self) -> &TimerShards {
        self
    }
}

// SAFETY: an `Arc`'s target never changes and lives while the `Arc` does.
unsafe impl TimerHandle for Arc<TimerShards> {
    fn shards(&self) -> &TimerShards {
        self
    }
}

pub(crate) struct Timer<H: TimerHandle> {
    handle: H,
    /// Wheel milliseconds (see `TimeSource`).
    deadline: u64,
    /// Linked into a wheel through raw pointers while registered: never
    /// moved (it is `!Unpin`, and we only hand out `Pin<&mut Timer>`).
    entry: Entry,
}

impl<H: TimerHandle> Timer<H> {
    /// A timer for wheel millisecond `deadline_ms`, not yet registered.
    pub(crate) fn new(handle: H, deadline_ms: u64) -> Timer<H> {
        Timer { handle, deadline: deadline_ms, entry: Entry::new() }
    }

    /// A timer for `deadline`, rounded up to the next wheel millisecond.
    pub(crate) fn at(handle: H, deadline: Instant) -> Timer<H> {
        let ms = handle.shards().clock().deadline_to_ms(deadline);
        Timer::new(handle, ms)
    }

    /// The clock of the shards this timer registers in.
    pub(crate) fn clock(&self) -> &TimeSource {
        self.handle.shards().clock()
    }

    /// True once the timer has fired (or was shut down) and not been reset.
    pub(crate) fn is_elapsed(&self) -> bool {
        self.entry.state().has_fired().is_some()
    }

    /// Polls for the deadline. On the first poll after `new` or `reset`,
    /// registers the timer in shard `shard` (pass the current worker's
    /// index; any number works, it is taken modulo the shard count).
    /// `Ready(Err(Shutdown))` if the timers were shut down first.
    pub(crate) fn poll_elapsed(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        shard: usize,
    ) -> Poll<Result<(), Shutdown>> {
        self.poll_elapsed_inner(cx, shard, true)
    }

    /// As [`poll_elapsed`](Timer::poll_elapsed), for a timer whose deadline
    /// its creator saw in the future (`sleep(d)` with `d > 0`): skips the
    /// clock read that completes an already-passed deadline without
    /// registering. If the deadline has passed by the first poll after all
    /// (a sleep created long before it is awaited), the timer registers and
    /// fires on its shard's next firing pass (soon, never early) unless the
    /// wheel's own time already shows it elapsed.
    pub(crate) fn poll_elapsed_future_deadline(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        shard: usize,
    ) -> Poll<Result<(), Shutdown>> {
        self.poll_elapsed_inner(cx, shard, false)
    }

    fn poll_elapsed_inner(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        shard: usize,
        check_clock: bool,
    ) -> Poll<Result<(), Shutdown>> {
        let this = self.into_ref().get_ref();
        match this.entry.state() {
            State::Firing { shutdown, .. } | State::Fired { shutdown } => outcome(shutdown),
            State::Registered { .. } => {
                // The outcome does not matter: either way we re-read the
                // state, which shows a fire that raced with the register.
                let _ = this.entry.register_waker(cx.waker());
                match this.entry.state().has_fired() {
                    Some(shutdown) => outcome(shutdown),
                    None => Poll::Pending,
                }
            }
            State::Unregistered => {
                let shards = this.handle.shards();
                if check_clock && this.deadline <= shards.clock().now_ms() {
                    this.entry.set_fired_unregistered(false);
                    return outcome(false);
                }
                // Before inserting: once linked, a firer on another thread
                // may take the waker at any moment.
                let stored = this.entry.register_waker(cx.waker());
                debug_assert_eq!(stored, super::atomic_waker::Register::Stored);
                // SAFETY: we are the entry's owner (we hold the only
                // `Pin<&mut Self>`) and it is UNREGISTERED; it is pinned
                // inside `self` and `Drop` removes it before it goes away,
                // so it stays in place until removed or seen FIRED.
                match unsafe { shards.insert(shard, &this.entry, this.deadline) } {
                    Insert::Registered { earliest } => {
                        if earliest {
                            this.handle.earliest_changed(shard, this.deadline);
                        }
                        Poll::Pending
                    }
                    Insert::Elapsed => outcome(false),
                    Insert::Shutdown => outcome(true),
                }
            }
        }
    }

    /// Re-arms the timer for `deadline_ms`: unregisters it (O(1), one lock)
    /// if needed; the next `poll_elapsed` registers it again.
    pub(crate) fn reset(self: Pin<&mut Self>, deadline_ms: u64) {
        // SAFETY: we write `deadline` and never move `entry` out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        this.unregister();
        this.deadline = deadline_ms;
    }

    /// Unregisters the timer. True if it was registered and had not fired.
    #[cfg(test)]
    pub(crate) fn cancel(self: Pin<&mut Self>) -> bool {
        self.into_ref().get_ref().unregister()
    }

    /// Leaves the entry UNREGISTERED, in no wheel, untouched by any firer.
    /// Returns true if it was cancelled before firing. Called only with
    /// exclusive access to `self` (`Pin<&mut Self>` or `Drop`).
    fn unregister(&self) -> bool {
        match self.entry.state() {
            State::Unregistered => false,
            State::Fired { .. } => {
                // FIRED, seen with Acquire: no other thread touches the
                // entry any more.
                self.entry.set_unregistered();
                false
            }
            State::Registered { .. } | State::Firing { .. } => {
                // SAFETY: we are the entry's owner (exclusive access to
                // `self`, see above) and we only ever insert it through
                // `self.handle`, whose shards never change (`TimerHandle`).
                let removed = unsafe { self.handle.shards().remove(&self.entry) };
                if !removed {
                    // It fired while we looked: `remove` waited for the
                    // firer, who left it FIRED.
                    self.entry.set_unregistered();
                }
                removed
            }
        }
    }
}

fn outcome(shutdown: bool) -> Poll<Result<(), Shutdown>> {
    Poll::Ready(if shutdown { Err(Shutdown) } else { Ok(()) })
}

impl<H: TimerHandle> Drop for Timer<H> {
    fn drop(&mut self) {
        // Lock-free if the timer was never registered or has fired; one
        // O(1) lock of its shard otherwise.
        self.unregister();
    }
}

impl<H: TimerHandle> fmt::Debug for Timer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer").field("deadline_ms", &self.deadline).field("entry", &self.entry).finish()
    }
}
