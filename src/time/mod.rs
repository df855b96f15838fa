//! Time: sleeping, timeouts and intervals on the runtime's timers.
//!
//! - [`sleep`](fn@sleep) / [`sleep_until`]: a future that completes at a
//!   deadline.
//! - [`timeout`](fn@timeout) / [`timeout_at`]: run a future with a deadline.
//! - [`interval`](fn@interval) / [`interval_at`]: tick at a fixed period,
//!   with a choice of [`MissedTickBehavior`].
//! - [`Instant`]: the clock these speak (a newtype over
//!   [`std::time::Instant`]).
//! - [`pause`] / [`advance`] / [`resume`]: the test clock. Paused, the
//!   runtime's clock moves only when told to or when the runtime is idle
//!   (then it jumps to the next timer), so timing tests take no real time
//!   and do not depend on the machine's load.
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

// The timers themselves (wheels, shards, entries) are the engine's:
// `rt::time`.

mod clock;
pub mod error;
mod instant;
mod interval;
mod sleep;
mod timeout;

pub use self::{
    clock::{advance, pause, resume, Advance},
    error::Elapsed,
    instant::Instant,
    interval::{interval, interval_at, Interval, MissedTickBehavior},
    sleep::{sleep, sleep_until, Sleep},
    timeout::{timeout, timeout_at, Timeout},
};
