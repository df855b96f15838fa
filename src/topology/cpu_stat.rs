//! The cgroup CPU controller's throttling counters (`cpu.stat`).
//!
//! v1 (`cpu` controller): `nr_periods`, `nr_throttled`, `throttled_time`
//! (ns). v2: `nr_periods`, `nr_throttled`, `throttled_usec` (and usage
//! lines this reader skips). The counters belong to the cgroup that holds
//! the quota: a level without a quota of its own throttles nothing and
//! reads zero. So the runtime reads the `cpu.stat` beside the tightest
//! quota, the directory `cgroup::read_quota` found (`CpuQuota::cgroup`,
//! already under `Sources::root`, so fixture trees work as for the quota).
//!
//! A missing file is `Ok(None)`; an unreadable or malformed one is an
//! `Err` that says which file and what, never a panic. Compiled without
//! the `topology` feature too (the runtime then has no quota to read for).

use super::{CgroupVersion, CpuQuota};
use std::io;
use std::path::Path;

/// One reading of a cgroup's throttling counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CpuStat {
    /// Enforcement periods that had runnable tasks.
    pub(crate) periods: u64,
    /// Periods in which the cgroup used up its quota and was throttled.
    pub(crate) throttled_periods: u64,
    /// Total time the cgroup's threads spent throttled, ns.
    pub(crate) throttled_ns: u64,
}

/// The counters of the cgroup that holds `quota` (none without a quota,
/// or if they cannot be read; then the problem is logged once).
pub(crate) fn read_for(quota: Option<&CpuQuota>) -> Option<CpuStat> {
    let quota = quota?;
    match read(&quota.cgroup, quota.version) {
        Ok(stat) => stat,
        Err(problem) => {
            super::report_once(&problem);
            None
        }
    }
}

/// Reads `dir/cpu.stat` of a `version` hierarchy.
pub(crate) fn read(dir: &Path, version: CgroupVersion) -> Result<Option<CpuStat>, String> {
    let path = dir.join("cpu.stat");
    match read_text(&path) {
        Ok(Some(text)) => parse(&text, version).map(Some).map_err(|e| format!("{}: {e}", path.display())),
        Ok(None) => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn read_text(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// At most 40 characters of `text`, for a problem message.
fn excerpt(text: &str) -> String {
    text.trim().chars().take(40).collect()
}

/// Parses a `cpu.stat` text. Unknown lines are skipped (kernels add
/// some: `nr_bursts`, `burst_time`, v2's usage lines); the three counters
/// must be present and be numbers.
pub(crate) fn parse(text: &str, version: CgroupVersion) -> Result<CpuStat, String> {
    let (time_key, unit_ns) = match version {
        CgroupVersion::V1 => ("throttled_time", 1),
        CgroupVersion::V2 => ("throttled_usec", 1_000),
    };
    let (mut periods, mut throttled, mut time) = (None, None, None);
    for line in text.lines() {
        let mut words = line.split_ascii_whitespace();
        let (Some(key), Some(value), None) = (words.next(), words.next(), words.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(format!("malformed line {:?}", excerpt(line)));
        };
        let slot = match key {
            "nr_periods" => &mut periods,
            "nr_throttled" => &mut throttled,
            k if k == time_key => &mut time,
            _ => continue,
        };
        let n: u64 = value.parse().map_err(|_| format!("{key} is not a count: {:?}", excerpt(value)))?;
        *slot = Some(n);
    }
    let missing = |key: &str| format!("no {key} line");
    Ok(CpuStat {
        periods: periods.ok_or_else(|| missing("nr_periods"))?,
        throttled_periods: throttled.ok_or_else(|| missing("nr_throttled"))?,
        throttled_ns: time.ok_or_else(|| missing(time_key))?.saturating_mul(unit_ns),
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const V1: &str =
        "nr_periods 120\nnr_throttled 37\nthrottled_time 1850000000\nnr_bursts 0\nburst_time 0\n";
    const V2: &str = "usage_usec 52000\nuser_usec 50000\nsystem_usec 2000\nnr_periods 40\nnr_throttled 9\n\
                      throttled_usec 450000\nnr_bursts 0\nburst_usec 0\n";

    #[test]
    fn v1_counts_nanoseconds_and_v2_microseconds() {
        let v1 = parse(V1, CgroupVersion::V1).unwrap();
        assert_eq!(v1, CpuStat { periods: 120, throttled_periods: 37, throttled_ns: 1_850_000_000 });
        let v2 = parse(V2, CgroupVersion::V2).unwrap();
        assert_eq!(v2, CpuStat { periods: 40, throttled_periods: 9, throttled_ns: 450_000_000 });
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        for (text, version) in [
            ("", CgroupVersion::V1),
            ("nr_periods 1\nnr_throttled 1\n", CgroupVersion::V1),
            ("nr_periods 1\nnr_throttled x\nthrottled_time 3\n", CgroupVersion::V1),
            ("nr_periods 1 2\nnr_throttled 1\nthrottled_time 3\n", CgroupVersion::V1),
            ("nr_periods -1\nnr_throttled 1\nthrottled_time 3\n", CgroupVersion::V1),
            (V1, CgroupVersion::V2), // v1 keys read as v2: no throttled_usec
            ("\u{0}\u{ff}garbage", CgroupVersion::V2),
        ] {
            assert!(parse(text, version).is_err(), "{text:?} parsed");
        }
        // Huge values saturate instead of overflowing.
        let big = format!("nr_periods 1\nnr_throttled 1\nthrottled_usec {}\n", u64::MAX);
        assert_eq!(parse(&big, CgroupVersion::V2).unwrap().throttled_ns, u64::MAX);
    }

    #[test]
    fn read_takes_a_directory_and_a_missing_file_is_none() {
        let dir = std::env::temp_dir().join(format!("weft-cpu-stat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read(&dir, CgroupVersion::V1), Ok(None));
        std::fs::write(dir.join("cpu.stat"), V1).unwrap();
        assert_eq!(read(&dir, CgroupVersion::V1).unwrap().unwrap().throttled_periods, 37);
        std::fs::write(dir.join("cpu.stat"), "nr_periods 1\n").unwrap();
        let err = read(&dir, CgroupVersion::V1).unwrap_err();
        assert!(err.contains("cpu.stat") && err.contains("nr_throttled"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
