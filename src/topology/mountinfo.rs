//! Parsing /proc/self/mountinfo and /proc/self/cgroup, and the small
//! file-reading helpers the /proc and /sys readers share.
//!
//! Both parsers skip lines they cannot make sense of: a malformed line
//! never stops the others from being used, and nothing here panics.
//!
//! mountinfo (proc(5)): `id parent maj:min root mountpoint opts
//! [optional fields...] - fstype source superopts`. `root` and
//! `mountpoint` escape space, tab, newline and backslash as `\ooo` octal.
//!
//! /proc/self/cgroup: `hierarchy-id:controllers:path`; cgroup v1 lines list
//! comma-separated controllers (`4:cpu,cpuacct:/docker/abc`), the v2 line
//! is `0::/path`.

use std::io;
use std::path::{Path, PathBuf};

/// One line of /proc/self/mountinfo (the fields the cgroup readers need).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mount {
    /// The directory of the mounted file system that appears at
    /// `mount_point` (`/` unless it is a bind mount of a subtree).
    pub(crate) root: PathBuf,
    /// Where it is mounted (absolute, escapes decoded).
    pub(crate) mount_point: PathBuf,
    /// `cgroup`, `cgroup2`, `ext4`, ...
    pub(crate) fstype: String,
    /// Per-superblock options; for cgroup v1 they name the controllers
    /// (`rw,cpu,cpuacct`).
    pub(crate) super_opts: String,
}

impl Mount {
    /// True for a cgroup v1 mount holding `controller` (an exact option,
    /// so `cpu` does not match `cpuacct`).
    pub(crate) fn is_v1_with(&self, controller: &str) -> bool {
        self.fstype == "cgroup" && self.super_opts.split(',').any(|opt| opt == controller)
    }

    /// True for a cgroup v2 mount.
    pub(crate) fn is_v2(&self) -> bool {
        self.fstype == "cgroup2"
    }
}

/// Every well-formed line of a mountinfo file, in file order. Bytes, not
/// text: the kernel writes paths as they are (escaping only space, tab,
/// newline and backslash), so a path need not be UTF-8.
pub(crate) fn parse_mountinfo(text: impl AsRef<[u8]>) -> Vec<Mount> {
    lines(text.as_ref()).filter_map(parse_mount_line).collect()
}

/// The lines of `text`, each without its `\n` (and a `\r` before it).
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n').map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

fn parse_mount_line(line: &[u8]) -> Option<Mount> {
    // The kernel separates fields with one space and escapes the space,
    // tab, newline and backslash inside paths, but not the other ASCII
    // whitespace: a mount point may hold a carriage return or a form feed,
    // so only spaces separate (runs of them are tolerated).
    let fields: Vec<&[u8]> = line.split(|&b| b == b' ').filter(|f| !f.is_empty()).collect();
    // Six fixed fields, then optional fields up to the "-" separator.
    let sep = fields.iter().skip(6).position(|&f| f == b"-")? + 6;
    let numeric = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !numeric(fields[0]) || !numeric(fields[1]) || !fields[2].contains(&b':') {
        return None;
    }
    let root = unescape(fields[3]);
    let mount_point = unescape(fields[4]);
    if !mount_point.is_absolute() {
        return None;
    }
    let fstype = String::from_utf8_lossy(fields.get(sep + 1)?).into_owned();
    // The source may be missing in odd cases; the super options are last.
    let super_opts: &[u8] = if fields.len() > sep + 2 { fields[fields.len() - 1] } else { b"" };
    Some(Mount { root, mount_point, fstype, super_opts: String::from_utf8_lossy(super_opts).into_owned() })
}

/// Decodes mountinfo's `\ooo` octal escapes (`\040` is a space). A
/// backslash not followed by three octal digits is kept as is.
pub(super) fn unescape(field: impl AsRef<[u8]>) -> PathBuf {
    let bytes = field.as_ref();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits.iter().fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    bytes_to_path(out)
}

#[cfg(unix)]
pub(super) fn bytes_to_path(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
pub(super) fn bytes_to_path(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

/// One line of /proc/self/cgroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CgroupEntry {
    /// 0 for the v2 hierarchy.
    pub(crate) hierarchy: u32,
    /// The v1 controllers (and `name=...` for named hierarchies); empty
    /// for v2.
    pub(crate) controllers: Vec<String>,
    /// The process's cgroup, relative to the hierarchy's root as the
    /// process's cgroup namespace sees it (absolute).
    pub(crate) path: PathBuf,
}

impl CgroupEntry {
    /// The v2 line (`0::/path`).
    pub(crate) fn is_v2(&self) -> bool {
        self.hierarchy == 0 && self.controllers.is_empty()
    }

    /// A v1 line listing `controller`.
    pub(crate) fn is_v1_with(&self, controller: &str) -> bool {
        self.hierarchy != 0 && self.controllers.iter().any(|c| c == controller)
    }
}

/// Every well-formed line of /proc/self/cgroup, in file order (bytes, as
/// the kernel writes the path unescaped).
pub(crate) fn parse_cgroup(text: impl AsRef<[u8]>) -> Vec<CgroupEntry> {
    lines(text.as_ref()).filter_map(parse_cgroup_line).collect()
}

fn parse_cgroup_line(line: &[u8]) -> Option<CgroupEntry> {
    // The path may itself contain ':', so split at the first two only.
    let mut parts = line.splitn(3, |&b| b == b':');
    let id = parts.next()?.trim_ascii();
    let controllers = parts.next()?;
    let path = parts.next()?;
    if id.is_empty() || !id.iter().all(u8::is_ascii_digit) || !path.starts_with(b"/") {
        return None;
    }
    let hierarchy = std::str::from_utf8(id).ok()?.parse().ok()?;
    let controllers: Vec<String> = controllers
        .split(|&b| b == b',')
        .filter(|c| !c.is_empty())
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    if hierarchy == 0 && !controllers.is_empty() {
        return None;
    }
    Some(CgroupEntry { hierarchy, controllers, path: bytes_to_path(path.to_vec()) })
}

/// Reads a small file: `Ok(None)` if it does not exist.
pub(crate) fn read_bytes(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads a small text file: `Ok(None)` if it does not exist, its content
/// otherwise (invalid UTF-8 replaced, so one odd byte does not hide the
/// rest of the file).
pub(crate) fn read_text(path: &Path) -> io::Result<Option<String>> {
    Ok(read_bytes(path)?.map(|bytes| {
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }))
}

/// File content for a problem message: trimmed and at most 80 characters.
pub(crate) fn excerpt(content: &str) -> String {
    let trimmed = content.trim();
    let mut out: String = trimmed.chars().take(80).collect();
    if out.len() < trimmed.len() {
        out.push_str("...");
    }
    out
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn parses_mount_lines_with_and_without_optional_fields() {
        let text = "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 master:3 - cgroup cgroup rw,cpu,cpuacct\n\
                    29 24 0:25 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].root, Path::new("/"));
        assert_eq!(mounts[0].mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(mounts[0].fstype, "cgroup");
        assert_eq!(mounts[0].super_opts, "rw,cpu,cpuacct");
        assert!(mounts[0].is_v1_with("cpu"));
        assert!(mounts[0].is_v1_with("cpuacct"));
        assert!(!mounts[0].is_v1_with("cpuset"));
        assert!(mounts[1].is_v2());
        assert!(!mounts[1].is_v1_with("cpu"));
    }

    #[test]
    fn controller_match_is_exact() {
        let m = parse_mountinfo("1 2 0:1 / /c rw - cgroup cgroup rw,cpuacct,cpuset_v2_mode");
        assert!(!m[0].is_v1_with("cpu"));
        assert!(!m[0].is_v1_with("cpuset"));
    }

    #[test]
    fn decodes_octal_escapes() {
        let m = parse_mountinfo(r"1 2 0:1 /a\040b /mnt/my\040cg\011x\134y rw - cgroup none rw,cpu");
        assert_eq!(m[0].root, Path::new("/a b"));
        assert_eq!(m[0].mount_point, Path::new("/mnt/my cg\tx\\y"));
        // Not an escape: kept verbatim.
        assert_eq!(unescape(r"/a\9b\04"), Path::new(r"/a\9b\04"));
        assert_eq!(unescape(r"\777"), Path::new(r"\777"));
        assert_eq!(unescape("\\"), Path::new("\\"));
    }

    #[test]
    fn skips_malformed_mount_lines() {
        let text = "garbage\n\n1 2 0:1 / /x rw cgroup cgroup rw,cpu\n1 2 0:1 / /x rw -\n\
                    a 2 0:1 / /x rw - cgroup cgroup rw,cpu\n1 2 0:1 / rel rw - cgroup cgroup rw\n\
                    1 2 0:1 / /ok rw - cgroup2 cgroup2 rw\n1 2";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].mount_point, Path::new("/ok"));
    }

    #[test]
    fn other_whitespace_in_a_mount_point_is_part_of_it() {
        // The shrunk case of the `mountinfo_line_round_trips` property: a
        // mount point "/\r" is one field, not "/" and a shifted line.
        let m = parse_mountinfo("36 25 0:31 / /\r rw,nosuid - cgroup none rw,cpu,cpuacct\n");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].mount_point, Path::new("/\r"));
        let m = parse_mountinfo("36 25 0:31 /a\x0cb /x\x0b rw - cgroup2 none rw\n");
        assert_eq!(m[0].root, Path::new("/a\x0cb"));
        assert_eq!(m[0].mount_point, Path::new("/x\x0b"));
        assert_eq!(m[0].super_opts, "rw");
    }

    #[test]
    #[cfg(unix)]
    fn paths_need_not_be_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let m = parse_mountinfo(b"1 2 0:1 / /sys/fs/cg\xff\\040x rw - cgroup2 none rw\n");
        assert_eq!(m[0].mount_point, Path::new(std::ffi::OsStr::from_bytes(b"/sys/fs/cg\xff x")));
        let e = parse_cgroup(b"0::/app\xc3.slice\n");
        assert_eq!(e[0].path, Path::new(std::ffi::OsStr::from_bytes(b"/app\xc3.slice")));
    }

    #[test]
    fn parses_cgroup_lines() {
        let text = "12:cpuset:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/a:b\n0::/user.slice\n";
        let entries = parse_cgroup(text);
        assert_eq!(entries.len(), 4);
        assert!(entries[0].is_v1_with("cpuset"));
        assert!(entries[1].is_v1_with("cpu"));
        assert!(entries[1].is_v1_with("cpuacct"));
        assert!(!entries[1].is_v1_with("cpuset"));
        assert_eq!(entries[1].path, Path::new("/docker/abc"));
        assert_eq!(entries[2].path, Path::new("/a:b"));
        assert!(entries[3].is_v2());
        assert_eq!(entries[3].path, Path::new("/user.slice"));
    }

    #[test]
    fn skips_malformed_cgroup_lines() {
        let text =
            "garbage\nx:cpu:/a\n4:cpu\n4:cpu:relative\n0:cpu:/a\n:cpu:/a\n99999999999:cpu:/a\n2:cpu:/ok";
        let entries = parse_cgroup(text);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].path, Path::new("/ok"));
    }

    #[test]
    fn excerpt_is_trimmed_and_bounded() {
        assert_eq!(excerpt(" abc \n"), "abc");
        assert_eq!(excerpt(&"x".repeat(100)), format!("{}...", "x".repeat(80)));
    }
}
