//! The CPU-quota part of the monitor thread (`crate::rt::monitor`): once per
//! interval it re-reads the cgroup CPU quota and the allowed CPUs (affinity
//! mask ∩ cpuset) and moves the quota part of the runtime's active-worker
//! target, so a container whose quota is changed live gets the right number
//! of running workers without restarting a thread.
//! docs/design/topology.md.
//!
//! Feature `topology` only, and not under loom; `quota_off.rs` otherwise.

use super::system::read_allowed;
use super::{cgroup, worker_count, Rounding, Sources};
use std::time::Duration;

/// What the monitor needs to recompute the target.
pub(crate) struct QuotaConfig {
    pub(crate) sources: Sources,
    pub(crate) rounding: Rounding,
    /// Worker threads that exist (the target never exceeds it).
    pub(crate) threads: usize,
    pub(crate) interval: Duration,
}

impl QuotaConfig {
    /// How often to re-read.
    pub(crate) fn interval(&self) -> Duration {
        self.interval
    }
}

/// The monitor's configuration for live tracking (`quota_off.rs` has the
/// same function returning `None`).
pub(crate) fn config(
    sources: Sources,
    rounding: Rounding,
    threads: usize,
    interval: Duration,
) -> Option<QuotaConfig> {
    Some(QuotaConfig { sources, rounding, threads, interval })
}

/// The target from a fresh read: `min(allowed CPUs, rounded quota,
/// threads)`. Problems are logged the first time the process sees each.
pub(crate) fn recompute(config: &QuotaConfig) -> usize {
    let mut problems = Vec::new();
    let allowed = read_allowed(&config.sources, &mut problems);
    let quota = cgroup::read_quota(&config.sources, &mut problems);
    for p in &problems {
        super::report_once(p);
    }
    worker_count(allowed.len(), quota.map(|q| q.cpus), config.rounding).min(config.threads).max(1)
}
