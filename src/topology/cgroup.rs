//! The cgroup CPU quota and cpuset. (stub: helper fills in)

use super::{CpuQuota, CpuSet, Sources};

/// The tightest CPU quota on the path from the process's cgroup to the
/// root, or `None` if there is none (or none could be read; then
/// `problems` says why).
pub(crate) fn read_quota(_src: &Sources, _problems: &mut Vec<String>) -> Option<CpuQuota> {
    None
}

/// The process cgroup's effective cpuset, if a cpuset controller is
/// mounted and the file readable.
pub(crate) fn read_cpuset(_src: &Sources, _problems: &mut Vec<String>) -> Option<CpuSet> {
    None
}
