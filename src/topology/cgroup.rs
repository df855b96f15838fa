//! The cgroup CPU quota and cpuset.
//!
//! Choosing the hierarchy for a controller (`cpu`, `cpuset`): a cgroup v1
//! line in /proc/self/cgroup listing it *and* a v1 mount holding it wins;
//! this covers hybrid systems, whose v2 hierarchy (often at
//! /sys/fs/cgroup/unified) holds no controller. Otherwise the v2 line
//! `0::path` and the cgroup2 mount. Mount points always come from
//! mountinfo, never assumed to be /sys/fs/cgroup.
//!
//! The process's directory: with the mount's root `R` and the process's
//! path `P`, `mountpoint + (P - R)` when `P` is under `R`; the mount point
//! when `P` is `/` (a cgroup namespace); otherwise (a host hierarchy
//! bind-mounted into a container) the mount point, with a problem note.
//!
//! The quota is the tightest limit from that directory up to the mount
//! point: every level of the hierarchy throttles its subtree. A missing
//! quota file means no limit at that level (the v2 root has no `cpu.max`);
//! a malformed one is reported and that level ignored.

use super::mountinfo::{self, excerpt, read_bytes, read_text, Mount};
use super::{CgroupVersion, CpuQuota, CpuSet, Sources};
use std::path::{Component, Path, PathBuf};

/// The period the kernel uses when `cpu.max` gives only a quota.
const DEFAULT_PERIOD_US: u64 = 100_000;

/// The tightest CPU quota on the path from the process's cgroup to the
/// root, or `None` if there is none (or none could be read; then
/// `problems` says why).
pub(crate) fn read_quota(src: &Sources, problems: &mut Vec<String>) -> Option<CpuQuota> {
    let place = match locate(src, "cpu", problems) {
        Ok(place) => place,
        Err(problem) => {
            problems.push(problem);
            return None;
        }
    };
    let mut tightest: Option<(f64, PathBuf)> = None;
    for dir in place.levels() {
        let limit = match place.version {
            CgroupVersion::V1 => v1_limit(src, &dir),
            CgroupVersion::V2 => v2_limit(src, &dir),
        };
        let cpus = match limit {
            Ok(Some(cpus)) => cpus,
            Ok(None) => continue,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        // Strictly tighter only: on a tie the deeper cgroup is named.
        if tightest.as_ref().is_none_or(|(best, _)| cpus < *best) {
            tightest = Some((cpus, dir));
        }
    }
    let (cpus, dir) = tightest?;
    Some(CpuQuota { cpus, version: place.version, cgroup: src.path(dir) })
}

/// The process cgroup's effective cpuset, if a cpuset controller is
/// mounted and the file readable.
///
/// Missing /proc files or no cpuset hierarchy are not reported here
/// (`read_quota` reports the files; a cpuset is optional). An empty file
/// (an unconfigured v1 cpuset) is `None` without a problem.
pub(crate) fn read_cpuset(src: &Sources, problems: &mut Vec<String>) -> Option<CpuSet> {
    let place = locate(src, "cpuset", problems).ok()?;
    let files: &[&str] = match place.version {
        CgroupVersion::V1 => &["cpuset.effective_cpus", "cpuset.cpus"],
        CgroupVersion::V2 => &["cpuset.cpus.effective"],
    };
    // The first level that has one of the files decides; v2 only has
    // cpuset.cpus.effective where the controller is enabled.
    for dir in place.levels() {
        for file in files {
            let path = src.path(dir.join(file));
            let text = match read_text(&path) {
                Ok(Some(text)) => text,
                Ok(None) => continue,
                Err(e) => {
                    problems.push(format!("cannot read {}: {e}", path.display()));
                    return None;
                }
            };
            if text.trim().is_empty() {
                return None;
            }
            return match CpuSet::parse(&text) {
                Ok(set) => Some(set),
                Err(e) => {
                    problems.push(format!("{}: {e}; ignoring the cgroup cpuset", path.display()));
                    None
                }
            };
        }
    }
    None
}

/// Where one controller's hierarchy is, for this process.
#[derive(Clone, Debug, PartialEq)]
struct Place {
    version: CgroupVersion,
    /// The mount point (absolute, not yet under `Sources::root`).
    mount_point: PathBuf,
    /// The process's cgroup directory, at or below `mount_point`.
    dir: PathBuf,
}

impl Place {
    /// `dir`, its parent, ... up to and including the mount point.
    fn levels(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut cur = self.dir.as_path();
        loop {
            out.push(cur.to_path_buf());
            if cur == self.mount_point || !cur.starts_with(&self.mount_point) {
                break;
            }
            match cur.parent() {
                Some(parent) => cur = parent,
                None => break,
            }
        }
        out
    }
}

/// Finds the hierarchy holding `controller` and the process's directory
/// in it. `Err` is the one problem to report when the /proc files are
/// missing or name no usable hierarchy; a path outside the mount's root
/// is pushed to `problems` and falls back to the mount point.
fn locate(src: &Sources, controller: &str, problems: &mut Vec<String>) -> Result<Place, String> {
    let cgroup_path = src.path("/proc/self/cgroup");
    let mountinfo_path = src.path("/proc/self/mountinfo");
    let read = |path: &Path| match read_bytes(path) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(format!("{} is missing; no cgroup limits applied", path.display())),
        Err(e) => Err(format!("cannot read {} ({e}); no cgroup limits applied", path.display())),
    };
    let entries = mountinfo::parse_cgroup(&read(&cgroup_path)?);
    let mounts = mountinfo::parse_mountinfo(&read(&mountinfo_path)?);

    let v1 = entries.iter().find(|e| e.is_v1_with(controller)).and_then(|entry| {
        let candidates = mounts.iter().filter(|m| m.is_v1_with(controller));
        Some((CgroupVersion::V1, entry, pick_mount(candidates, &entry.path)?))
    });
    let v2 = || {
        let entry = entries.iter().find(|e| e.is_v2())?;
        Some((CgroupVersion::V2, entry, pick_mount(mounts.iter().filter(|m| m.is_v2()), &entry.path)?))
    };
    let Some((version, entry, mount)) = v1.or_else(v2) else {
        return Err(format!(
            "no cgroup hierarchy for the {controller} controller in {} and {}",
            cgroup_path.display(),
            mountinfo_path.display()
        ));
    };
    let dir = match cgroup_dir(mount, &entry.path) {
        Some(dir) => dir,
        None => {
            problems.push(format!(
                "cgroup {} ({controller}) is outside the root {} of the mount at {}; reading the mount point",
                entry.path.display(),
                mount.root.display(),
                mount.mount_point.display()
            ));
            mount.mount_point.clone()
        }
    };
    Ok(Place { version, mount_point: mount.mount_point.clone(), dir })
}

/// Of several mounts of one hierarchy, the first whose root holds `path`,
/// else the first.
fn pick_mount<'a>(mut candidates: impl Iterator<Item = &'a Mount> + Clone, path: &Path) -> Option<&'a Mount> {
    candidates.clone().find(|m| cgroup_dir(m, path).is_some()).or_else(|| candidates.next())
}

/// The directory of cgroup `path` under `mount`, or `None` if `path` is
/// outside the mount's root (or not a plain absolute path).
fn cgroup_dir(mount: &Mount, path: &Path) -> Option<PathBuf> {
    let plain = |p: &Path| p.components().all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    if !path.is_absolute() || !plain(path) {
        return None;
    }
    if path == Path::new("/") {
        return Some(mount.mount_point.clone());
    }
    if !plain(&mount.root) {
        return None;
    }
    let rest = path.strip_prefix(&mount.root).ok()?;
    if rest.as_os_str().is_empty() {
        Some(mount.mount_point.clone())
    } else {
        Some(mount.mount_point.join(rest))
    }
}

/// The v1 limit in `dir` (`cpu.cfs_quota_us` / `cpu.cfs_period_us`):
/// `Ok(None)` for no limit, `Err` for a problem.
fn v1_limit(src: &Sources, dir: &Path) -> Result<Option<f64>, String> {
    let quota_path = src.path(dir.join("cpu.cfs_quota_us"));
    let Some(quota_text) = read_level_file(&quota_path)? else { return Ok(None) };
    let quota = match parse_v1_quota(&quota_text) {
        Some(Some(quota)) => quota,
        Some(None) => return Ok(None),
        None => return Err(malformed(&quota_path, &quota_text)),
    };
    let period_path = src.path(dir.join("cpu.cfs_period_us"));
    let Some(period_text) = read_level_file(&period_path)? else {
        return Err(format!(
            "{} is missing while {} sets a limit; ignoring that level",
            period_path.display(),
            quota_path.display()
        ));
    };
    match parse_period(&period_text) {
        Some(period) => Ok(Some(quota as f64 / period as f64)),
        None => Err(malformed(&period_path, &period_text)),
    }
}

/// The v2 limit in `dir` (`cpu.max`): `Ok(None)` for no limit.
fn v2_limit(src: &Sources, dir: &Path) -> Result<Option<f64>, String> {
    let path = src.path(dir.join("cpu.max"));
    let Some(text) = read_level_file(&path)? else { return Ok(None) };
    match parse_cpu_max(&text) {
        Some(limit) => Ok(limit.map(|(quota, period)| quota as f64 / period as f64)),
        None => Err(malformed(&path, &text)),
    }
}

fn read_level_file(path: &Path) -> Result<Option<String>, String> {
    read_text(path).map_err(|e| format!("cannot read {} ({e}); ignoring that level", path.display()))
}

fn malformed(path: &Path, content: &str) -> String {
    format!("{}: malformed content {:?}; ignoring that level", path.display(), excerpt(content))
}

/// `cpu.cfs_quota_us`: `Some(None)` for -1 (no limit), `Some(Some(q))` for
/// a positive quota, `None` if malformed (not a number, 0, other negative).
pub(super) fn parse_v1_quota(text: &str) -> Option<Option<u64>> {
    let quota: i64 = text.trim().parse().ok()?;
    match quota {
        -1 => Some(None),
        q if q > 0 => Some(Some(q.unsigned_abs())),
        _ => None,
    }
}

/// A period in microseconds; `None` if malformed or 0.
pub(super) fn parse_period(text: &str) -> Option<u64> {
    let text = text.trim();
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&p| p > 0)
}

/// `cpu.max`: `max [period]` or `quota [period]`. `Some(None)` for no
/// limit, `Some(Some((quota, period)))`, `None` if malformed.
pub(super) fn parse_cpu_max(text: &str) -> Option<Option<(u64, u64)>> {
    let mut fields = text.split_ascii_whitespace();
    let quota = fields.next()?;
    let period = match fields.next() {
        Some(p) => parse_period(p)?,
        None => DEFAULT_PERIOD_US,
    };
    if fields.next().is_some() {
        return None;
    }
    if quota == "max" {
        return Some(None);
    }
    parse_period(quota).map(|q| Some((q, period)))
}

#[cfg(all(test, not(loom)))]
#[path = "cgroup_tests.rs"]
mod tests;
