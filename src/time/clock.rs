//! The test clock: [`pause`], [`resume`] and [`advance`].
//!
//! Each runtime has one clock, which its timers, [`Instant::now`] (inside
//! the runtime), [`sleep`](super::sleep), [`timeout`](super::timeout) and
//! [`interval`](super::interval) all follow. Paused, it moves only when
//! told to ([`advance`]) or when the runtime has nothing else to do
//! (auto-advance): then it jumps to the earliest timer, so a test of a
//! 30-second timeout takes no real time. The design and its guarantees are
//! in docs/design/test-clock.md.

use super::Instant;
use crate::rt::context;
use crate::rt::scheduler;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

#[track_caller]
fn current(what: &str) -> scheduler::Handle {
    let Some(handle) = context::current_handle() else {
        panic!(
            "{what} called outside a weft runtime: the test clock belongs to a runtime. \
             Call it from a task, from inside Runtime::block_on, or after Runtime::enter()."
        );
    };
    handle
}

/// Stops the current runtime's clock.
///
/// From now on [`Instant::now`] inside the runtime returns the same
/// instant until the clock is moved, by [`advance`] or by auto-advance:
/// whenever the runtime is idle (every worker parked, every `block_on`
/// thread waiting, no `spawn_blocking` work, no I/O ready) and a timer is
/// pending, the clock jumps to the earliest timer, which fires. Tests of
/// timeouts, retries and intervals then take no real time and do not
/// depend on how busy the machine is.
///
/// The clock stops at the next whole millisecond of the timers' resolution,
/// so a paused `sleep(d)` of whole milliseconds takes exactly `d` of the
/// clock. Pausing a paused clock does nothing. Usually you want
/// [`Builder::start_paused`](crate::runtime::Builder::start_paused) or
/// `#[weft::test(start_paused = true)]` instead.
///
/// ```
/// use std::time::Duration;
/// use weft::time::{self, Instant};
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     time::pause();
///     let start = Instant::now();
///     // An hour of clock, no real waiting: the runtime is idle, so the
///     // clock jumps to the sleep's deadline.
///     time::sleep(Duration::from_secs(3600)).await;
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// });
/// ```
///
/// I/O is not simulated: a task waiting on a socket whose peer runs in
/// the same runtime keeps it busy only while data moves; a timeout around
/// a read from a peer that never answers fires at once in clock time.
///
/// # Panics
/// If called outside a weft runtime.
#[track_caller]
pub fn pause() {
    let handle = current("weft::time::pause");
    let shared = &handle.shared;
    if shared.services().timers().clock().pause() {
        shared.kick_paused_clock();
    }
}

/// Lets the current runtime's clock run again, at the real rate, from
/// where it stands (it never jumps back). Resuming a running clock does
/// nothing.
///
/// ```
/// use std::time::Duration;
/// use weft::time::{self, Instant};
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     time::pause();
///     let start = Instant::now();
///     time::advance(Duration::from_secs(5)).await;
///     time::resume();
///     assert!(start.elapsed() >= Duration::from_secs(5));
/// });
/// ```
///
/// # Panics
/// If called outside a weft runtime.
#[track_caller]
pub fn resume() {
    let handle = current("weft::time::resume");
    let shared = &handle.shared;
    let clock = shared.services().timers().clock();
    if clock.resume() {
        // The netpoller's owner may be blocked with no timeout: it now
        // needs the real one.
        shared.services().driver().wake();
    }
}

/// Moves the current runtime's paused clock forward by `duration`, fires
/// every timer that is then due, and completes once the runtime has
/// settled: every task those timers woke has run until it waits again
/// (on a timer, a channel, I/O, ...), so their effects are visible to the
/// caller.
///
/// A task that never waits (it yields in a loop, or blocks its worker)
/// keeps the runtime from settling, and `advance` from completing.
///
/// ```
/// use std::time::Duration;
/// use weft::sync::mpsc;
/// use weft::time;
///
/// let rt = weft::Runtime::builder().worker_threads(2).start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     // Ticks at 0 s, 10 s, 20 s, ... of the clock, from now.
///     let mut tick = time::interval(Duration::from_secs(10));
///     weft::spawn(async move {
///         for n in 0..4 {
///             tick.tick().await;
///             tx.send(n).unwrap();
///         }
///     });
///     time::advance(Duration::from_secs(25)).await;
///     // The ticks at 0 s, 10 s and 20 s have all been sent, not the one
///     // at 30 s.
///     let mut seen = Vec::new();
///     while let Ok(n) = rx.try_recv() {
///         seen.push(n);
///     }
///     assert_eq!(seen, [0, 1, 2]);
/// });
/// ```
///
/// # Panics
/// If called outside a weft runtime, or if the clock is not paused.
#[track_caller]
pub fn advance(duration: Duration) -> Advance {
    let handle = current("weft::time::advance");
    let timers = handle.shared.services().timers();
    let clock = timers.clock();
    let target = Instant::from_std(clock.now()).saturating_add(duration);
    if !clock.advance_to(target.into_std()) {
        panic!(
            "weft::time::advance called on a clock that is not paused: \
             call weft::time::pause() first (or build the runtime with start_paused(true))."
        );
    }
    Advance { handle, generation: None }
}

/// Future returned by [`advance`]: completes once the runtime has settled
/// after the advance.
#[must_use = "the clock has moved, but the woken tasks have not necessarily run until this is awaited"]
pub struct Advance {
    handle: scheduler::Handle,
    /// The settle generation it waits to change; `None` before the first
    /// poll.
    generation: Option<u64>,
}

impl Future for Advance {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let shared = &this.handle.shared;
        let quiescence = shared.quiescence();
        let generation = match this.generation {
            Some(g) => g,
            None => {
                // First poll: fire what the new time made due, from here
                // (woken tasks go to this worker's queue, or the injector),
                // then wait for the runtime to settle.
                let g = quiescence.settle_generation();
                this.generation = Some(g);
                let timers = shared.services().timers();
                let now = timers.clock().now_ms();
                for shard in 0..timers.num_shards() {
                    timers.fire_expired(shard, now);
                }
                g
            }
        };
        if quiescence.wait_settled(generation, cx.waker()) {
            return Poll::Ready(());
        }
        shared.kick_paused_clock();
        Poll::Pending
    }
}

impl std::fmt::Debug for Advance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Advance").field("polled", &self.generation.is_some()).finish()
    }
}
