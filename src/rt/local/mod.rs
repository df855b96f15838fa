//! The engine half of a `LocalSet` (the public type is `task::LocalSet`):
//! its thread-safe shared state (remote queue, owned list, the scheduler
//! its tasks hold) and the owner thread's run queue.

pub(crate) mod context;
pub(crate) mod shared;

pub(crate) use self::shared::LocalSetShared;
