//! The cgroup CPU quota's throttling counters in a snapshot.
//!
//! Read from the `cpu.stat` of the cgroup that holds the runtime's CPU
//! quota (`topology::cpu_stat`) when the snapshot is taken: one small file
//! read per `Runtime::metrics`, none without a quota.

use std::time::Duration;

/// How often the CPU quota of the runtime's cgroup stopped the process,
/// from [`crate::metrics::RuntimeMetrics::cpu_throttling`].
///
/// The counters belong to the cgroup (every process in it), are monotone,
/// and start when the cgroup was created, not with the runtime. A worker
/// poll that the quota freezes looks long from outside but is not a
/// stall: see [`crate::metrics::WorkerMetrics::descheduled_polls`].
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// if let Some(t) = rt.metrics().cpu_throttling() {
///     println!("throttled in {} of {} periods, {:?} in all", t.throttled_periods(), t.periods(), t.throttled_time());
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuThrottling {
    pub(super) periods: u64,
    pub(super) throttled_periods: u64,
    pub(super) throttled_ns: u64,
}

impl CpuThrottling {
    /// Enforcement periods in which the cgroup had runnable threads.
    pub fn periods(&self) -> u64 {
        self.periods
    }
    /// Periods in which the cgroup used up its quota and every one of its
    /// threads was stopped until the next period.
    pub fn throttled_periods(&self) -> u64 {
        self.throttled_periods
    }
    /// Total time the cgroup's threads spent throttled.
    pub fn throttled_time(&self) -> Duration {
        Duration::from_nanos(self.throttled_ns)
    }
}

/// The counters of the runtime's quota cgroup, if it has a quota.
pub(super) fn capture(quota: Option<&crate::topology::CpuQuota>) -> Option<CpuThrottling> {
    crate::topology::cpu_stat::read_for(quota).map(|s| CpuThrottling {
        periods: s.periods,
        throttled_periods: s.throttled_periods,
        throttled_ns: s.throttled_ns,
    })
}
