//! Live CPU-quota tracking, switched off: without the `topology` feature
//! (no readers) and under loom (no monitor thread). `config` returns
//! `None`, so the monitor never holds a `QuotaConfig`; the type is
//! uninhabited and its functions are unreachable by construction.
//! The real one: `quota.rs`.

// Under loom the monitor thread that calls `interval` and `recompute` is
// not compiled.
#![cfg_attr(all(test, loom), allow(dead_code))]

use super::{Rounding, Sources};
use std::time::Duration;

/// No value exists: quota tracking is off.
pub(crate) enum QuotaConfig {}

impl QuotaConfig {
    pub(crate) fn interval(&self) -> Duration {
        match *self {}
    }
}

/// Always `None`: the worker count is fixed at build time.
pub(crate) fn config(_: Sources, _: Rounding, _threads: usize, _: Duration) -> Option<QuotaConfig> {
    None
}

pub(crate) fn recompute(config: &QuotaConfig) -> usize {
    match *config {}
}
