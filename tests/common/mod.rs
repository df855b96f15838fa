//! Helpers shared by the integration tests (each test file is its own crate
//! and includes this with `mod common;`, using a different subset).

#![allow(dead_code)]

/// The message of a panic payload (`&str` or `String`), or "" for others.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Re-running one test in a child process; fd counting.
pub mod child;

/// Helpers for the networking tests.
#[cfg(feature = "net")]
pub mod net;

/// Helpers for the task-dump tests (`rt_dump`, `rt_dump_wait`, `rt_leak`).
pub mod dump;
