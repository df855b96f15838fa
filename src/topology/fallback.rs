//! Detection without the `topology` feature: `system.rs`'s names, with no
//! reader behind them. The runtime gets `std::thread::available_parallelism()`
//! CPUs (which on Linux already honours the affinity mask and a cgroup
//! quota, rounded down, once, at build time), one NUMA node, no quota, no
//! pinning, and no live quota tracking (`quota_off.rs`).
//!
//! The builder options that need the readers (`pin_workers`, `rounding`,
//! `quota_refresh`) do not exist without the feature, so nothing here is
//! asked to pin or to read a fixture.

use super::{one_node, std_cpus, CpuSet, Detected};
use std::io;
use std::path::PathBuf;

/// Nothing to read from.
#[derive(Clone, Debug)]
pub(crate) struct Sources;

impl Sources {
    /// The running system.
    pub(crate) fn system() -> Sources {
        Sources
    }

    /// Fixtures are only read with the `topology` feature (the builder
    /// option that sets one does not exist without it).
    pub(crate) fn fixture(_root: PathBuf, _affinity: CpuSet) -> Sources {
        Sources
    }
}

/// `available_parallelism()` CPUs on one node.
pub(crate) fn detect(_: &Sources) -> Detected {
    one_node(std_cpus())
}

/// Never called: without the feature every worker's placement is
/// unpinned ([`super::Pinning::None`] is the only policy the builder can
/// hold).
pub(crate) fn pin_current_thread(_cpu: usize) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "worker pinning needs weft's `topology` feature"))
}
