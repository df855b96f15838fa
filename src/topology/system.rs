//! Detection on the running system (feature `topology`): the affinity
//! mask, the cgroup cpuset and CPU quota, NUMA nodes and SMT siblings,
//! read from /proc and /sys through the readers beside this file, and
//! pinning with `sched_setaffinity`.
//!
//! Without the feature, `fallback.rs` takes this file's place: the same
//! names, no file is read, and nothing is pinned.

use super::{affinity, cgroup, numa, one_node, std_cpus, CpuSet, Detected};
use std::path::{Path, PathBuf};

pub(crate) use super::affinity::pin_current_thread;

/// Where the readers look: a root directory (`/` on a real system) and,
/// for fixtures, the process's affinity mask (on a real system it is read
/// with `sched_getaffinity`).
#[derive(Clone, Debug)]
pub(crate) struct Sources {
    pub(crate) root: PathBuf,
    /// `None`: ask the kernel.
    pub(crate) affinity: Option<CpuSet>,
}

impl Sources {
    /// The running system.
    pub(crate) fn system() -> Sources {
        Sources { root: PathBuf::from("/"), affinity: None }
    }

    /// A fixture tree laid out like `/`, with `affinity` as the mask.
    pub(crate) fn fixture(root: PathBuf, affinity: CpuSet) -> Sources {
        Sources { root, affinity: Some(affinity) }
    }

    /// `root/rel` where `rel` may be absolute (`/proc/self/cgroup`).
    pub(crate) fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        join_under(&self.root, rel.as_ref())
    }
}

/// `root` joined with `path`, treating an absolute `path` as relative to
/// `root` (fixture trees mirror the real file system).
pub(crate) fn join_under(root: &Path, path: &Path) -> PathBuf {
    let rel = path.strip_prefix("/").unwrap_or(path);
    root.join(rel)
}

/// Reads everything once.
pub(crate) fn detect(src: &Sources) -> Detected {
    if !cfg!(target_os = "linux") && src.affinity.is_none() {
        // Off Linux the readers' files do not exist: the CPUs std
        // reports, one node, no quota, and nothing to complain about.
        // Fixture trees are still read on every platform.
        return one_node(std_cpus());
    }
    let mut problems = Vec::new();
    let allowed = read_allowed(src, &mut problems);
    let quota = cgroup::read_quota(src, &mut problems);
    let nodes = numa::read_nodes(src, &allowed, &mut problems);
    let core_of = numa::read_cores(src, &allowed, &mut problems);
    Detected { allowed, quota, nodes, core_of, problems }
}

/// Affinity mask ∩ cgroup cpuset. What the monitor re-reads each second.
pub(crate) fn read_allowed(src: &Sources, problems: &mut Vec<String>) -> CpuSet {
    let affinity = match &src.affinity {
        Some(set) => set.clone(),
        None => match affinity::process_affinity() {
            Ok(set) => set,
            Err(e) => {
                problems.push(format!("sched_getaffinity failed ({e}); assuming the online CPU count"));
                std_cpus()
            }
        },
    };
    let allowed = match cgroup::read_cpuset(src, problems) {
        Some(cpuset) => {
            let both = affinity.intersection(&cpuset);
            if both.is_empty() {
                problems.push(format!(
                    "the cgroup cpuset ({cpuset}) and the affinity mask ({affinity}) do not overlap; using the affinity mask"
                ));
                affinity
            } else {
                both
            }
        }
        None => affinity,
    };
    if allowed.is_empty() {
        problems.push("no allowed CPU found; assuming CPU 0".to_string());
        return CpuSet::from_iter([0]);
    }
    allowed
}
