//! The `Builder` options that need the `topology` feature: they steer
//! what the /proc and /sys readers find (quota rounding, live quota
//! tracking), or act on it (pinning). Without the feature these methods do
//! not exist, so code that asks for them fails to compile instead of being
//! silently ignored; the runtime then runs
//! `std::thread::available_parallelism()` workers, unpinned, on one node,
//! with the count fixed at build time.

use super::Builder;
use crate::topology::{CpuSet, Pinning, Rounding};
use std::path::PathBuf;
use std::time::Duration;

impl Builder {
    /// How a fractional CPU quota becomes a worker count (default
    /// [`Rounding::Up`]). Feature `topology` (on by default).
    ///
    /// ```
    /// use weft::topology::Rounding;
    ///
    /// // In a container limited to 1.5 CPUs this runtime gets 1 worker, not 2.
    /// let rt = weft::Runtime::builder().rounding(Rounding::Down).build().unwrap();
    /// assert_eq!(rt.topology().rounding(), Rounding::Down);
    /// ```
    pub fn rounding(&mut self, rounding: Rounding) -> &mut Self {
        self.rounding = rounding;
        self
    }

    /// Where worker threads are pinned (default [`Pinning::None`]). A CPU in
    /// [`Pinning::Cpus`] that the process may not use is rejected by
    /// [`Builder::build`]. Feature `topology` (on by default); without it
    /// workers are never pinned.
    ///
    /// ```
    /// use weft::topology::Pinning;
    ///
    /// let rt = weft::Runtime::builder().worker_threads(2).pin_workers(Pinning::Spread).build().unwrap();
    /// // Each worker's CPU (if the OS allowed pinning) is in the placement.
    /// for p in rt.topology().placement() {
    ///     if let Some(cpu) = p.cpu {
    ///         assert!(rt.topology().allowed_cpus().contains(cpu));
    ///     }
    /// }
    /// // A CPU the process may not use is an error, not a panic.
    /// let bad = weft::Runtime::builder().pin_workers(Pinning::Cpus(vec![usize::MAX])).build();
    /// assert_eq!(bad.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn pin_workers(&mut self, pinning: Pinning) -> &mut Self {
        self.pinning = pinning;
        self
    }

    /// How often the monitor re-reads the CPU quota and the allowed CPUs
    /// and changes the number of active workers (default: every second);
    /// `None` switches live tracking off. Ignored when the worker count is
    /// fixed by [`Builder::worker_threads`] or `WEFT_WORKER_THREADS`. An
    /// interval below 10 ms is raised to 10 ms. Feature `topology` (on by
    /// default); without it the worker count is fixed at build time.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// // Re-read the cgroup quota every 5 s instead of every second.
    /// let rt = weft::Runtime::builder().quota_refresh(Some(Duration::from_secs(5))).build().unwrap();
    /// assert!(rt.topology().num_workers() >= 1);
    /// ```
    pub fn quota_refresh(&mut self, interval: Option<Duration>) -> &mut Self {
        self.quota_refresh = interval.map(|d| d.max(Duration::from_millis(10)));
        self
    }

    /// Detect from a fixture tree rooted at `root` (laid out like `/`) with
    /// `affinity` as the process's mask, instead of the running system.
    /// Pinning is then planned (and reported) but not applied. For tests
    /// and the NUMA simulation; not a tuning knob.
    #[doc(hidden)]
    pub fn topology_fixture(&mut self, root: impl Into<PathBuf>, affinity: CpuSet) -> &mut Self {
        self.topology_fixture = Some((root.into(), affinity));
        self
    }

    /// Turns node-local stealing off (every worker steals from every other
    /// in random order, as if unpinned) so the simulation can count the
    /// cross-node steals it saves. Not a tuning knob.
    #[doc(hidden)]
    pub fn numa_aware_stealing(&mut self, on: bool) -> &mut Self {
        self.numa_aware_stealing = on;
        self
    }
}
