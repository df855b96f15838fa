//! The one place that names `std::sync`, `std::thread`, `loom` and
//! `crossbeam_deque`.
//!
//! Everything else in weft imports its atomics, locks, threads, cells and
//! queues from here. Under `cfg(all(test, loom))` the names resolve to loom's
//! model-checked versions and to a small mutex-based queue with crossbeam's
//! API (`mocked.rs`); otherwise to the real ones (`std.rs`). A downstream crate
//! built with `--cfg loom` still gets the real runtime, because the switch also
//! requires `cfg(test)` of *this* crate (the pattern tokio uses).
//!
//! Rules for the rest of the crate:
//! - use `crate::loom::sync::atomic::*`, never `std::sync::atomic`;
//! - use `crate::loom::cell::UnsafeCell` (closure API, so loom can check
//!   concurrent access to task stages and wakers);
//! - use `crate::loom::deque::*` for the local queues and the injector.

#[cfg(not(all(test, loom)))]
mod std;
#[cfg(not(all(test, loom)))]
pub(crate) use self::std::*;

#[cfg(all(test, loom))]
mod mocked;
#[cfg(all(test, loom))]
pub(crate) use self::mocked::*;

/// True while the crate is compiled as a loom model (constants shrink).
pub(crate) const IS_LOOM: bool = cfg!(all(test, loom));
