//! What the runtime knows about the machine it runs on: the CPUs this
//! process may use, the cgroup CPU quota, NUMA nodes and SMT siblings, and
//! from those the worker count and where each worker is pinned.
//!
//! Nothing here panics on bad input: a /proc or /sys file that cannot be
//! read or parsed is reported once through the `log` facade, and
//! detection falls back to the allowed CPUs.
//!
//! # Feature `topology`
//!
//! Reading the cgroup quota, cpuset, NUMA nodes and SMT siblings, pinning
//! and live quota tracking need the `topology` feature (on by default).
//! Without it the runtime uses `std::thread::available_parallelism()`
//! CPUs, one NUMA node, no quota, no pinning and no live quota tracking.
//! The public types here ([`Topology`], [`CpuSet`], [`Pinning`], ...)
//! exist either way, so [`crate::Runtime::topology`] reports what the
//! runtime uses.

// - `cpuset.rs`: `CpuSet` and the kernel's CPU list format (`0-3,8`).
// - `mountinfo.rs`: /proc/self/mountinfo and /proc/self/cgroup parsing.
// - `cgroup.rs`: the CPU quota (v1, v2, hybrid; walked to the root) and
//   the cgroup cpuset.
// - `cpu_stat.rs`: the quota cgroup's throttling counters (`cpu.stat`).
// - `numa.rs`: NUMA nodes, distances and SMT siblings from /sys.
// - `affinity.rs`: sched_getaffinity / sched_setaffinity (libc).
// - `system.rs`: `detect`, which puts the readers together.
// - `quota.rs`: the monitor's live re-read of the quota.
// - `placement.rs`: the pinning plan, the NUMA-aware victim order and
//   `REMOTE_STEAL_AFTER`.
//
// Every reader takes a root directory (`Sources::root`), so the tests run
// them against fixture trees in `tests/fixtures/`; what cannot be read
// becomes a `problem` string. Without the feature `fallback.rs` and
// `quota_off.rs` take the place of `system.rs` and `quota.rs`. The
// algorithm and its reasons: docs/design/topology.md. This module is a
// leaf: it names no other part of the crate but `loom`
// (scripts/import-graph.py).

#[cfg(feature = "topology")]
pub(crate) mod affinity;
#[cfg(feature = "topology")]
pub(crate) mod cgroup;
pub(crate) mod cpu_stat;
mod cpuset;
#[cfg(feature = "topology")]
pub(crate) mod mountinfo;
#[cfg(feature = "topology")]
pub(crate) mod numa;
pub(crate) mod placement;
// Live quota tracking; a shell without the readers and under loom (which
// has no monitor thread).
#[cfg_attr(any(not(feature = "topology"), all(test, loom)), path = "quota_off.rs")]
pub(crate) mod quota;
// Property tests of the readers: random and mutated files, end to end.
#[cfg(all(test, not(loom), feature = "topology"))]
mod proptests;
#[cfg(all(test, not(loom), feature = "topology"))]
mod proptests_tree;
#[cfg(all(test, feature = "topology"))]
mod sim;
#[cfg(feature = "topology")]
mod system;
#[cfg(not(feature = "topology"))]
#[path = "fallback.rs"]
mod system;

pub use cpuset::{CpuSet, ParseCpuSetError};
pub(crate) use system::{detect, pin_current_thread, Sources};

use std::fmt;
use std::path::PathBuf;

/// Which cgroup hierarchy a quota came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupVersion {
    /// cgroup v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us`).
    V1,
    /// cgroup v2 (`cpu.max`).
    V2,
}

/// A CPU bandwidth limit from a cgroup.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuQuota {
    /// CPUs' worth of time per period (quota / period), e.g. 1.5.
    pub cpus: f64,
    /// The hierarchy the limit came from.
    pub version: CgroupVersion,
    /// The cgroup directory (as read, under the detection root) whose
    /// limit is the tightest on the path from the process's cgroup to the
    /// root.
    pub cgroup: PathBuf,
}

/// One NUMA node, restricted to the CPUs this process may use.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// for node in rt.topology().nodes() {
///     println!("node {}: cpus {} distances {:?}", node.id, node.cpus, node.distances);
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumaNode {
    /// The kernel's node number (`nodeN`).
    pub id: usize,
    /// Allowed CPUs on this node (may be empty).
    pub cpus: CpuSet,
    /// `distance` to every node, in the order of `Topology::nodes` (10 =
    /// local, as the kernel reports it). Empty if the file was unreadable.
    pub distances: Vec<u32>,
}

/// How a fractional CPU quota becomes a worker count.
///
/// ```
/// use weft::topology::Rounding;
///
/// assert_eq!(Rounding::Up.apply(1.5), 2);
/// assert_eq!(Rounding::Down.apply(1.5), 1);
/// assert_eq!(Rounding::Down.apply(0.5), 1); // never below one worker
/// assert_eq!(Rounding::Up.apply(f64::NAN), 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rounding {
    /// Round up (Go 1.25): 1.5 CPUs -> 2 workers. The default: idle workers
    /// park and cost nothing, while rounding down leaves the fraction of
    /// the quota unused even in bursts; the price is CFS throttling when
    /// every worker is busy for a whole quota period.
    #[default]
    Up,
    /// Round down (Rust std, uber-go/automaxprocs): 1.5 CPUs -> 1 worker.
    Down,
}

impl Rounding {
    /// Workers for a quota of `cpus`, at least 1.
    pub fn apply(self, cpus: f64) -> usize {
        if !cpus.is_finite() || cpus <= 0.0 {
            return 1;
        }
        let n = match self {
            // A quota within 1e-9 of an integer is that integer (150000/100000
            // style ratios are exact, but be safe against float noise).
            Rounding::Up => (cpus - 1e-9).ceil(),
            Rounding::Down => (cpus + 1e-9).floor(),
        };
        (n as usize).max(1)
    }
}

/// Where workers are pinned (`Builder::pin_workers`, which needs the
/// `topology` feature; without it every runtime is [`Pinning::None`]).
///
/// ```
/// use weft::topology::Pinning;
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// assert_eq!(rt.topology().pinning(), &Pinning::None); // the default
/// for w in rt.topology().placement() {
///     println!("worker {} -> cpu {:?} (node {:?})", w.worker, w.cpu, w.node);
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Pinning {
    /// No pinning (the default): the OS places worker threads.
    #[default]
    None,
    /// Round-robin over NUMA nodes, and within a node over physical cores
    /// before their SMT siblings.
    Spread,
    /// Fill one node (its physical cores, then their siblings) before the
    /// next, nearest node first.
    Compact,
    /// Worker `i` on CPU `list[i % list.len()]`; every CPU must be allowed.
    Cpus(Vec<usize>),
}

/// Where one worker runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerPlacement {
    /// The worker's index.
    pub worker: usize,
    /// The CPU it is pinned to, if pinned.
    pub cpu: Option<usize>,
    /// The NUMA node (index into `Topology::nodes`) it runs on, if pinned.
    pub node: Option<usize>,
}

/// The result of reading the machine once.
#[derive(Clone, Debug, Default)]
pub(crate) struct Detected {
    /// Affinity mask ∩ cgroup cpuset (never empty: falls back to the
    /// affinity mask, then to CPU 0).
    pub(crate) allowed: CpuSet,
    pub(crate) quota: Option<CpuQuota>,
    /// At least one node (a machine without /sys/devices/system/node is
    /// one node holding every allowed CPU).
    pub(crate) nodes: Vec<NumaNode>,
    /// For every allowed CPU, its physical core (the lowest CPU among its
    /// SMT siblings); CPUs without topology files are their own core.
    pub(crate) core_of: Vec<(usize, usize)>,
    /// What could not be read or parsed, for the log.
    pub(crate) problems: Vec<String>,
}

/// Logs `problem` (`log::warn!`) unless this process already said it:
/// detection in every `build` and every runtime's monitor report through
/// here, so a broken cgroup file is reported once, not once a second.
pub(crate) fn report_once(problem: &str) {
    // Not part of any protocol (a log de-duplication set), so a plain
    // parking_lot mutex in a static rather than the loom facade.
    static REPORTED: parking_lot::Mutex<Option<std::collections::HashSet<String>>> =
        parking_lot::const_mutex(None);
    let mut reported = REPORTED.lock();
    if reported.get_or_insert_with(Default::default).insert(problem.to_string()) {
        log::warn!("weft: topology: {problem}");
    }
}

/// CPUs 0..n where n is what std reports (the fallback when the mask is
/// unknown, off Linux, and without the `topology` feature).
pub(crate) fn std_cpus() -> CpuSet {
    let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    (0..n).collect()
}

/// A machine of one NUMA node holding `allowed`, each CPU its own core,
/// with no quota and nothing to complain about.
pub(crate) fn one_node(allowed: CpuSet) -> Detected {
    Detected {
        nodes: vec![NumaNode { id: 0, cpus: allowed.clone(), distances: vec![10] }],
        core_of: allowed.iter().map(|c| (c, c)).collect(),
        allowed,
        quota: None,
        problems: Vec::new(),
    }
}

/// Worker count for `allowed` CPUs under an optional quota: `min(allowed,
/// rounding(quota))`, at least 1.
pub(crate) fn worker_count(allowed: usize, quota: Option<f64>, rounding: Rounding) -> usize {
    let allowed = allowed.max(1);
    match quota {
        Some(cpus) => rounding.apply(cpus).min(allowed),
        None => allowed,
    }
}

/// What decided the worker count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountSource {
    /// `min(allowed CPUs, rounded quota)`; tracked live by the monitor.
    /// Without the `topology` feature: `available_parallelism()`, fixed.
    Detected,
    /// The `WEFT_WORKER_THREADS` environment variable (fixed).
    Environment,
    /// [`crate::Builder::worker_threads`] (fixed).
    Builder,
}

/// What the runtime detected and decided, from [`crate::Runtime::topology`].
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// let topo = rt.topology();
/// assert_eq!(topo.num_workers(), 2);
/// assert_eq!(topo.count_source(), weft::topology::CountSource::Builder);
/// assert!(!topo.nodes().is_empty()); // one node on machines without NUMA
/// if let Some(q) = topo.quota() {
///     println!("cgroup {:?} limits this process to {:.2} CPUs", q.version, q.cpus);
/// }
/// println!("{topo}"); // one line: cpus, quota, nodes, workers, pinning
/// ```
#[derive(Clone, Debug)]
pub struct Topology {
    pub(crate) allowed: CpuSet,
    pub(crate) quota: Option<CpuQuota>,
    pub(crate) nodes: Vec<NumaNode>,
    pub(crate) rounding: Rounding,
    pub(crate) source: CountSource,
    pub(crate) num_workers: usize,
    pub(crate) worker_threads: usize,
    pub(crate) pinning: Pinning,
    pub(crate) placement: Vec<WorkerPlacement>,
    /// False only when a benchmark turns node-local stealing off to
    /// measure it (`Builder::numa_aware_stealing`).
    pub(crate) numa_aware_stealing: bool,
}

impl Topology {
    /// CPUs the process may run on at build time (affinity ∩ cpuset).
    pub fn allowed_cpus(&self) -> &CpuSet {
        &self.allowed
    }
    /// The tightest cgroup CPU quota at build time, if any (always `None`
    /// without the `topology` feature).
    pub fn quota(&self) -> Option<&CpuQuota> {
        self.quota.as_ref()
    }
    /// NUMA nodes (one node on machines without NUMA information, and
    /// without the `topology` feature).
    pub fn nodes(&self) -> &[NumaNode] {
        &self.nodes
    }
    /// The rounding rule applied to the quota.
    pub fn rounding(&self) -> Rounding {
        self.rounding
    }
    /// What decided the worker count.
    pub fn count_source(&self) -> CountSource {
        self.source
    }
    /// Workers active at build time: `min(allowed CPUs, rounded quota)` or
    /// the override.
    pub fn num_workers(&self) -> usize {
        self.num_workers
    }
    /// Worker threads created (the allowed-CPU count, or the override), so
    /// a raised quota never needs a new thread.
    pub fn worker_threads(&self) -> usize {
        self.worker_threads
    }
    /// The pinning policy.
    pub fn pinning(&self) -> &Pinning {
        &self.pinning
    }
    /// Where each worker thread was placed, indexed by worker.
    pub fn placement(&self) -> &[WorkerPlacement] {
        &self.placement
    }
}

impl fmt::Display for Topology {
    /// One line: `cpus 0-1 (2) | quota 1.5 (v1) | 1 NUMA node | 2 workers
    /// (2 threads, detected, round up) | pinning none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cpus {} ({})", self.allowed, self.allowed.len())?;
        match &self.quota {
            Some(q) => write!(f, " | quota {:.2} ({:?})", q.cpus, q.version)?,
            None => write!(f, " | no quota")?,
        }
        let n = self.nodes.len();
        write!(f, " | {n} NUMA node{}", if n == 1 { "" } else { "s" })?;
        let source = match self.source {
            CountSource::Detected => "detected",
            CountSource::Environment => "WEFT_WORKER_THREADS",
            CountSource::Builder => "worker_threads()",
        };
        let rounding = match self.rounding {
            Rounding::Up => "round up",
            Rounding::Down => "round down",
        };
        write!(f, " | {} workers ({} threads, {source}, {rounding})", self.num_workers, self.worker_threads)?;
        match &self.pinning {
            Pinning::None => write!(f, " | pinning none"),
            p => {
                write!(f, " | pinning {p:?}:")?;
                for w in &self.placement {
                    match w.cpu {
                        Some(cpu) => write!(f, " w{}->cpu{}", w.worker, cpu)?,
                        None => write!(f, " w{}->any", w.worker)?,
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod report_tests {
    use super::report_once;

    #[test]
    fn a_problem_is_logged_once_per_process() {
        crate::test_log::install();
        let problem = "fixture: cpu.max holds \"12x 100000\" (report_once test)";
        for _ in 0..3 {
            report_once(problem);
        }
        let seen = crate::test_log::count(problem);
        assert_eq!(seen, 1, "logged {seen} times");
    }
}
