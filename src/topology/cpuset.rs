//! `CpuSet`: a sorted set of CPU numbers, and the kernel's list format
//! (`0-3,8,10-11`) used by cpulist, cpuset.cpus.effective, Cpus_allowed_list.

use std::fmt;

/// The most CPU number accepted from a file (the kernel's NR_CPUS limit is
/// 8192; anything above is treated as malformed input, not allocated).
pub(super) const MAX_CPU: usize = 1 << 16;

/// A set of CPU numbers, kept sorted and without duplicates.
///
/// ```
/// use weft::topology::CpuSet;
///
/// let set = CpuSet::parse("0-3,8").unwrap();
/// assert_eq!(set.len(), 5);
/// assert!(set.contains(8) && !set.contains(4));
/// assert_eq!(set.as_slice(), &[0, 1, 2, 3, 8]);
/// assert_eq!(set.to_string(), "0-3,8"); // back to the kernel's list format
/// let other: CpuSet = [2, 8, 9].into_iter().collect();
/// assert_eq!(set.intersection(&other).iter().collect::<Vec<_>>(), vec![2, 8]);
/// assert!(CpuSet::new().is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CpuSet {
    cpus: Vec<usize>,
}

/// A CPU list that could not be parsed.
///
/// ```
/// let err = weft::topology::CpuSet::parse("0-3,x").unwrap_err();
/// println!("{err}"); // says what was malformed and why
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseCpuSetError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for ParseCpuSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed CPU list {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for ParseCpuSetError {}

impl CpuSet {
    /// The empty set.
    pub fn new() -> CpuSet {
        CpuSet::default()
    }

    /// Parses the kernel's list format: comma-separated CPU numbers and
    /// inclusive ranges `a-b`; surrounding whitespace and an empty list are
    /// accepted.
    pub fn parse(input: &str) -> Result<CpuSet, ParseCpuSetError> {
        let err = |reason| ParseCpuSetError { input: input.chars().take(200).collect(), reason };
        // Ranges first, merged below: the set then never holds more than
        // MAX_CPU + 1 entries, however often a list repeats a wide range.
        let mut ranges = Vec::new();
        for part in input.trim().split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (lo, hi) = match part.split_once('-') {
                Some((a, b)) => (
                    parse_cpu(a).ok_or_else(|| err("bad number"))?,
                    parse_cpu(b).ok_or_else(|| err("bad number"))?,
                ),
                None => {
                    let n = parse_cpu(part).ok_or_else(|| err("bad number"))?;
                    (n, n)
                }
            };
            if lo > hi {
                return Err(err("range runs backwards"));
            }
            if hi > MAX_CPU {
                return Err(err("CPU number out of range"));
            }
            ranges.push((lo, hi));
        }
        ranges.sort_unstable();
        let mut cpus = Vec::new();
        // The lowest CPU not yet in `cpus`; `hi + 1` cannot overflow, as
        // `hi <= MAX_CPU`.
        let mut next = 0;
        for (lo, hi) in ranges {
            let from = lo.max(next);
            if from <= hi {
                cpus.extend(from..=hi);
                next = hi + 1;
            }
        }
        Ok(CpuSet { cpus })
    }

    /// Number of CPUs in the set.
    pub fn len(&self) -> usize {
        self.cpus.len()
    }

    /// True if the set holds no CPU.
    pub fn is_empty(&self) -> bool {
        self.cpus.is_empty()
    }

    /// True if `cpu` is in the set.
    pub fn contains(&self, cpu: usize) -> bool {
        self.cpus.binary_search(&cpu).is_ok()
    }

    /// The CPUs in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.cpus.iter().copied()
    }

    /// The CPUs in ascending order, as a slice.
    pub fn as_slice(&self) -> &[usize] {
        &self.cpus
    }

    /// CPUs in both sets.
    pub fn intersection(&self, other: &CpuSet) -> CpuSet {
        CpuSet { cpus: self.cpus.iter().copied().filter(|&c| other.contains(c)).collect() }
    }
}

fn parse_cpu(s: &str) -> Option<usize> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl FromIterator<usize> for CpuSet {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> CpuSet {
        let mut cpus: Vec<usize> = iter.into_iter().collect();
        cpus.sort_unstable();
        cpus.dedup();
        CpuSet { cpus }
    }
}

impl fmt::Display for CpuSet {
    /// The kernel's list format; the empty set prints as `(none)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cpus.is_empty() {
            return f.write_str("(none)");
        }
        let mut i = 0;
        let mut first = true;
        while i < self.cpus.len() {
            let start = self.cpus[i];
            let mut end = start;
            while i + 1 < self.cpus.len() && self.cpus[i + 1] == end + 1 {
                i += 1;
                end = self.cpus[i];
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_and_singles() {
        let set = CpuSet::parse("0-3,8,10-11\n").unwrap();
        assert_eq!(set.as_slice(), &[0, 1, 2, 3, 8, 10, 11]);
        assert_eq!(set.to_string(), "0-3,8,10-11");
    }

    #[test]
    fn empty_list_is_empty_set() {
        assert!(CpuSet::parse("").unwrap().is_empty());
        assert!(CpuSet::parse(" \n").unwrap().is_empty());
    }

    #[test]
    fn rejects_malformed_lists() {
        for bad in ["a", "1-", "-3", "3-1", "1,,x", "99999999", "0-70000", "1-2-3", "+1"] {
            assert!(CpuSet::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn repeated_wide_ranges_stay_one_set() {
        let text = vec!["0-65536"; 2000].join(",");
        let set = CpuSet::parse(&text).unwrap();
        assert_eq!(set.len(), 65537);
        assert_eq!(set.to_string(), "0-65536");
        assert_eq!(CpuSet::parse("5,0-3,2-6,6,9-9").unwrap().to_string(), "0-6,9");
    }

    #[test]
    fn intersection_keeps_common_cpus() {
        let a = CpuSet::parse("0-7").unwrap();
        let b = CpuSet::parse("4-11").unwrap();
        assert_eq!(a.intersection(&b).to_string(), "4-7");
    }
}
