//! Property tests of the /proc and /sys parsers, one parser at a time:
//! random input, valid files cut or mutated, and round trips (format,
//! parse back) where the format has a writer. `proptests_tree.rs` runs the
//! whole detection on mutated fixture trees.
//!
//! Every parser here promises two things: it never panics, whatever the
//! file holds, and what it accepts is in range (CPU numbers under
//! `MAX_CPU`, positive quotas and periods, absolute paths, one distance
//! per node). The case count is proptest's (256, or `PROPTEST_CASES`); no
//! failure file is written: a shrunk failure becomes a plain unit test
//! beside the parser.

use super::cgroup::{parse_cpu_max, parse_period, parse_v1_quota};
use super::cpuset::MAX_CPU;
use super::mountinfo::{bytes_to_path, parse_cgroup, parse_mountinfo, unescape};
use super::numa::distance_row;
use super::placement::{plan, victim_tiers};
use super::{worker_count, CpuSet, Detected, NumaNode, Pinning, Rounding};
use proptest::collection::{btree_set, vec};
use proptest::prelude::*;
use proptest::sample::{select, Index};

/// proptest's defaults (256 cases, `PROPTEST_CASES` overrides), without
/// writing regression files into the source tree.
pub(super) fn config() -> ProptestConfig {
    ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
}

/// Tokens at the parsers' edges: limits of every integer type they use,
/// signs, ranges that overflow or run backwards, escapes, separators,
/// and what a cgroup or mount line is made of.
pub(super) const TOKENS: &[&str] = &[
    "0",
    "1",
    "7",
    "-1",
    "-5",
    "+5",
    "1.5",
    "1e9",
    "nan",
    "inf",
    "max",
    "100000",
    "150000",
    "65535",
    "65536",
    "65537",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "0-18446744073709551615",
    "18446744073709551615-0",
    "3-1",
    "0-3",
    "0-65536",
    "8",
    "10-11",
    "1,,2",
    "1-2-3",
    "",
    "-",
    ":",
    "::",
    "0::/",
    "1:cpu:/a",
    "/",
    "/..",
    "..",
    "\\",
    "\\040",
    "\\134",
    "\\777",
    "shared:1",
    "cgroup",
    "cgroup2",
    "cpu",
    "cpuset",
    "rw,cpu,cpuacct",
    "\u{FFFD}",
    "\u{e9}",
];

const SEPARATORS: &[&str] = &[" ", ",", "-", ":", "\n", "\t", "", "  ", "\r\n"];

/// Arbitrary bytes, or edge tokens joined by separators.
pub(super) fn junk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..48),
        vec((select(TOKENS), select(SEPARATORS)), 0..12).prop_map(|parts| {
            parts.iter().flat_map(|(t, s)| t.bytes().chain(s.bytes())).collect::<Vec<u8>>()
        }),
    ]
}

/// One change to a valid file.
#[derive(Clone, Debug)]
pub(super) enum Mutation {
    /// Cut at a byte position (also inside a UTF-8 sequence).
    Truncate(Index),
    /// Replace the whole content.
    Replace(Vec<u8>),
    /// Insert bytes at a position.
    Insert(Index, Vec<u8>),
    /// Remove up to `n` bytes from a position.
    Delete(Index, usize),
    /// Remove one space- or colon-separated field of one line.
    DropField(Index, Index),
    /// Repeat one field of one line.
    RepeatField(Index, Index),
    /// Overwrite one byte.
    SetByte(Index, u8),
}

pub(super) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        junk().prop_map(Mutation::Replace),
        (any::<Index>(), junk()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1..16usize).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), any::<Index>()).prop_map(|(l, f)| Mutation::DropField(l, f)),
        (any::<Index>(), any::<Index>()).prop_map(|(l, f)| Mutation::RepeatField(l, f)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
    ]
}

impl Mutation {
    pub(super) fn apply(&self, text: &[u8]) -> Vec<u8> {
        let at = |i: &Index| i.index(text.len() + 1);
        match self {
            Mutation::Truncate(i) => text[..at(i)].to_vec(),
            Mutation::Replace(bytes) => bytes.clone(),
            Mutation::Insert(i, bytes) => {
                let at = at(i);
                [&text[..at], bytes, &text[at..]].concat()
            }
            Mutation::Delete(i, n) => {
                let from = at(i);
                let to = (from + n).min(text.len());
                [&text[..from], &text[to..]].concat()
            }
            Mutation::DropField(line, field) | Mutation::RepeatField(line, field) => {
                let mut lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                let l = line.index(lines.len());
                let sep = if lines[l].contains(&b' ') { b' ' } else { b':' };
                let mut fields: Vec<Vec<u8>> = lines[l].split(|&b| b == sep).map(<[u8]>::to_vec).collect();
                let f = field.index(fields.len());
                if matches!(self, Mutation::DropField(..)) {
                    fields.remove(f);
                } else {
                    fields.insert(f, fields[f].clone());
                }
                lines[l] = fields.join(&sep);
                lines.join(&b'\n')
            }
            Mutation::SetByte(i, b) => {
                let mut out = text.to_vec();
                if !out.is_empty() {
                    let i = i.index(out.len());
                    out[i] = *b;
                }
                out
            }
        }
    }
}

/// What `read_text` hands the parsers: invalid UTF-8 replaced.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A valid sample mutated, or junk.
fn input_from(samples: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        (select(samples), mutation()).prop_map(|(s, m)| lossy(&m.apply(s.as_bytes()))),
        junk().prop_map(|b| lossy(&b)),
    ]
}

const CPULISTS: &[&str] = &["0-3,8,10-11\n", "0\n", "0-65535\n", "\n", "1,3,5,7", "0-1,4-5\n"];

const MOUNTINFO: &[&str] = &[
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
     30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 master:3 - cgroup cgroup rw,cpu,cpuacct\n\
     29 24 0:25 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
    "1 2 0:1 /docker/abc /mnt/my\\040cg rw - cgroup none rw,cpu\n",
];

const PROC_CGROUP: &[&str] = &[
    "12:cpuset:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/a:b\n0::/user.slice\n",
    "0::/system.slice/app.service\n",
];

const QUOTA_FILES: &[&str] = &["max 100000\n", "150000 100000\n", "200000\n", "-1\n", "150000\n", "100000\n"];

const DISTANCES: &[&str] = &["10 21\n", "10 16 32 32\n", "10\n"];

/// A path component for the round trips: letters, digits, the four
/// characters mountinfo escapes, the other ASCII whitespace, a backslash
/// before digits (to look like an escape), a non-ASCII letter and bytes
/// that are not UTF-8 (paths are bytes).
fn component() -> impl Strategy<Value = Vec<u8>> {
    const PARTS: &[&[u8]] = &[
        b"a",
        b"Z",
        b"0",
        b"7",
        b"4",
        b" ",
        b"\t",
        b"\n",
        b"\\",
        b"\\040",
        b"\r",
        b"\x0b",
        b"\x0c",
        b":",
        b",",
        b"-",
        "\u{e9}".as_bytes(),
        b"\xff",
        b"\xc3",
        b"\x80",
    ];
    vec(select(PARTS), 1..6).prop_map(|parts| parts.concat())
}

fn abs_path(components: Vec<Vec<u8>>) -> Vec<u8> {
    if components.is_empty() {
        b"/".to_vec()
    } else {
        components.iter().flat_map(|c| std::iter::once(b'/').chain(c.iter().copied())).collect()
    }
}

/// mountinfo's escaping (proc(5)): space, tab, newline and backslash as
/// `\ooo` octal; every other byte as is.
fn escape(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in path {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => out.extend(format!("\\{b:03o}").bytes()),
            b => out.push(b),
        }
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cpulist_input_never_panics_and_stays_in_range(text in input_from(CPULISTS)) {
        if let Ok(set) = CpuSet::parse(&text) {
            prop_assert!(set.iter().all(|cpu| cpu <= MAX_CPU), "{text:?} gave {set}");
            if !set.is_empty() {
                prop_assert_eq!(CpuSet::parse(&set.to_string()), Ok(set));
            }
        }
    }

    #[test]
    fn cpulist_round_trips(cpus in btree_set(0..=MAX_CPU, 1..40), runs in vec((0..=MAX_CPU, 0..40usize), 0..4)) {
        let set: CpuSet = cpus.into_iter()
            .chain(runs.into_iter().flat_map(|(lo, n)| lo..=(lo + n).min(MAX_CPU)))
            .collect();
        let text = set.to_string();
        prop_assert_eq!(CpuSet::parse(&text), Ok(set));
    }

    #[test]
    fn cpulist_any_order_and_overlap_is_the_union(ranges in vec((0..300usize, 0..20usize), 1..8), spaces in any::<bool>()) {
        let text: Vec<String> = ranges.iter()
            .map(|&(lo, n)| if n == 0 { lo.to_string() } else { format!("{lo}-{}", lo + n) })
            .collect();
        let text = text.join(if spaces { " , " } else { "," });
        let union: CpuSet = ranges.iter().flat_map(|&(lo, n)| lo..=lo + n).collect();
        prop_assert_eq!(CpuSet::parse(&text), Ok(union));
    }

    #[test]
    fn cpulist_range_bounds(
        lo in prop_oneof![any::<u64>(), 0..=MAX_CPU as u64 + 2],
        hi in prop_oneof![any::<u64>(), 0..=MAX_CPU as u64 + 2],
    ) {
        let parsed = CpuSet::parse(&format!("{lo}-{hi}"));
        if lo <= hi && hi <= MAX_CPU as u64 {
            let set = parsed.map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(set.len() as u64, hi - lo + 1);
        } else {
            prop_assert!(parsed.is_err(), "{lo}-{hi} parsed");
        }
    }

    #[test]
    fn mountinfo_input_never_panics(text in input_from(MOUNTINFO)) {
        for m in parse_mountinfo(&text) {
            prop_assert!(m.mount_point.is_absolute(), "{text:?} gave {m:?}");
            prop_assert!(!m.fstype.is_empty(), "{text:?} gave {m:?}");
        }
    }

    #[test]
    fn mountinfo_line_round_trips(
        root in vec(component(), 0..4),
        mount_point in vec(component(), 0..4),
        optional in vec(select(&["shared:12", "master:3", "propagate_from:2", "unbindable"][..]), 0..3),
        fstype in select(&["cgroup", "cgroup2", "ext4", "tmpfs"][..]),
        super_opts in select(&["rw,cpu,cpuacct", "rw", "rw,nsdelegate", "ro,mode=755"][..]),
    ) {
        let (root, mount_point) = (abs_path(root), abs_path(mount_point));
        let optional: String = optional.iter().map(|o| format!(" {o}")).collect();
        let line = [
            &b"36 25 0:31 "[..],
            &escape(&root),
            b" ",
            &escape(&mount_point),
            format!(" rw,nosuid{optional} - {fstype} none {super_opts}\n").as_bytes(),
        ]
        .concat();
        let mounts = parse_mountinfo(&line);
        prop_assert_eq!(mounts.len(), 1, "{:?}", lossy(&line));
        prop_assert_eq!(&mounts[0].root, &bytes_to_path(root));
        prop_assert_eq!(&mounts[0].mount_point, &bytes_to_path(mount_point));
        prop_assert_eq!(mounts[0].fstype.as_str(), fstype);
        prop_assert_eq!(mounts[0].super_opts.as_str(), super_opts);
    }

    #[test]
    fn unescape_inverts_escape(path in vec(any::<u8>(), 0..40)) {
        prop_assert_eq!(unescape(escape(&path)), bytes_to_path(path));
    }

    #[test]
    fn proc_cgroup_input_never_panics(text in input_from(PROC_CGROUP)) {
        for e in parse_cgroup(&text) {
            prop_assert!(e.path.is_absolute(), "{text:?} gave {e:?}");
            prop_assert!(e.hierarchy != 0 || e.controllers.is_empty(), "{text:?} gave {e:?}");
        }
    }

    #[test]
    fn proc_cgroup_line_round_trips(
        hierarchy in any::<u32>(),
        controllers in vec(select(&["cpu", "cpuacct", "cpuset", "name=systemd", "memory"][..]), 0..3),
        // Any byte but '/' within a name (UTF-8 or not), except the line
        // break and a carriage return, which a line end may carry.
        path in vec(vec(any::<u8>().prop_filter("a name byte", |b| !b"/\n\r".contains(b)), 1..8), 0..4),
    ) {
        let controllers = if hierarchy == 0 { Vec::new() } else { controllers };
        let path = abs_path(path);
        let line = [format!("{hierarchy}:{}:", controllers.join(",")).as_bytes(), &path, b"\n"].concat();
        let entries = parse_cgroup(&line);
        prop_assert_eq!(entries.len(), 1, "{:?}", lossy(&line));
        prop_assert_eq!(entries[0].hierarchy, hierarchy);
        prop_assert_eq!(&entries[0].controllers, &controllers);
        prop_assert_eq!(&entries[0].path, &bytes_to_path(path));
    }

    #[test]
    fn quota_files_never_panic_and_stay_positive(text in input_from(QUOTA_FILES)) {
        if let Some(Some((quota, period))) = parse_cpu_max(&text) {
            prop_assert!(quota > 0 && period > 0, "{text:?}");
        }
        if let Some(Some(quota)) = parse_v1_quota(&text) {
            prop_assert!(quota > 0, "{text:?}");
        }
        if let Some(period) = parse_period(&text) {
            prop_assert!(period > 0, "{text:?}");
        }
    }

    #[test]
    fn cpu_max_reads_what_was_written(quota in any::<u64>(), period in any::<u64>(), max in any::<bool>()) {
        let q = if max { "max".to_string() } else { quota.to_string() };
        let parsed = parse_cpu_max(&format!("{q} {period}\n"));
        let expected = match (max, quota, period) {
            (_, _, 0) => None,
            (true, _, _) => Some(None),
            (false, 0, _) => None,
            (false, q, p) => Some(Some((q, p))),
        };
        prop_assert_eq!(parsed, expected);
    }

    #[test]
    fn v1_quota_reads_what_was_written(quota in any::<i64>()) {
        let expected = match quota {
            -1 => Some(None),
            q if q > 0 => Some(Some(q as u64)),
            _ => None,
        };
        prop_assert_eq!(parse_v1_quota(&format!("{quota}\n")), expected);
    }

    #[test]
    fn worker_count_is_between_one_and_the_allowed_cpus(
        allowed in any::<usize>(),
        quota in proptest::option::of(any::<f64>()),
        up in any::<bool>(),
    ) {
        let rounding = if up { Rounding::Up } else { Rounding::Down };
        let n = worker_count(allowed, quota, rounding);
        prop_assert!(n >= 1 && n <= allowed.max(1), "{allowed} {quota:?} -> {n}");
    }

    #[test]
    fn distance_rows_never_panic_and_have_one_entry_per_node(text in input_from(DISTANCES), nodes in 0..6usize) {
        if let Ok(row) = distance_row(Ok(Some(text.clone())), nodes) {
            prop_assert_eq!(row.len(), nodes, "{:?}", text);
        }
    }

    #[test]
    fn distance_row_round_trips(row in vec(any::<u32>(), 1..8)) {
        let text: Vec<String> = row.iter().map(u32::to_string).collect();
        prop_assert_eq!(distance_row(Ok(Some(text.join(" ") + "\n")), row.len()), Ok(row));
    }

    #[test]
    fn placement_covers_every_worker_from_any_machine(
        allowed in btree_set(0..24usize, 1..16),
        nodes in vec((btree_set(0..28usize, 0..10), vec(any::<u32>(), 0..5)), 0..5),
        siblings in vec((0..28usize, 0..28usize), 0..20),
        threads in 0..40usize,
        compact in any::<bool>(),
    ) {
        let allowed: CpuSet = allowed.into_iter().collect();
        let nodes: Vec<NumaNode> = nodes.into_iter().enumerate()
            .map(|(id, (cpus, distances))| NumaNode { id, cpus: cpus.into_iter().collect(), distances })
            .collect();
        let detected = Detected { allowed: allowed.clone(), nodes: nodes.clone(), core_of: siblings, ..Detected::default() };
        let pinning = if compact { Pinning::Compact } else { Pinning::Spread };
        let placement = plan(&pinning, &detected, threads).map_err(TestCaseError::fail)?;
        prop_assert_eq!(placement.len(), threads);
        for (i, p) in placement.iter().enumerate() {
            prop_assert_eq!(p.worker, i);
            prop_assert!(p.cpu.is_some_and(|c| allowed.contains(c)), "{p:?} not on an allowed CPU");
        }
        for (w, tiers) in victim_tiers(&placement, &nodes).iter().enumerate() {
            let mut seen: Vec<usize> = tiers.iter().flatten().copied().collect();
            seen.sort_unstable();
            let others: Vec<usize> = (0..threads).filter(|&v| v != w).collect();
            prop_assert_eq!(seen, others, "worker {}'s tiers {:?}", w, tiers);
        }
    }
}

#[test]
fn every_prefix_of_every_sample_parses_without_panic() {
    let all = [CPULISTS, MOUNTINFO, PROC_CGROUP, QUOTA_FILES, DISTANCES];
    for text in all.iter().flat_map(|s| s.iter()) {
        let bytes = text.as_bytes();
        for end in 0..=bytes.len() {
            let cut = lossy(&bytes[..end]);
            let _ = CpuSet::parse(&cut);
            let _ = parse_mountinfo(&cut);
            let _ = parse_cgroup(&cut);
            let _ = parse_cpu_max(&cut);
            let _ = parse_v1_quota(&cut);
            let _ = parse_period(&cut);
            let _ = distance_row(Ok(Some(cut.clone())), 2);
        }
    }
}
