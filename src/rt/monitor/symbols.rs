//! A stall's backtrace: raw instruction pointers from the signal handler
//! (`stack.rs`), turned into function names and source lines the first
//! time something reads them, on the reader's thread (never a worker's).
//! The stall warning that names the innermost frames is written by a
//! thread of its own (`off_monitor`): the first lookup reads and indexes
//! the binary's debug information, which takes long enough (most of a
//! second for a large debug binary) to hold up the monitor's samples and
//! its stop.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The stack of a worker thread caught in a stall, innermost frame first
/// (from [`crate::runtime::StallEvent::backtrace`]).
///
/// The frames are taken from the stalled thread while it stalls, as raw
/// addresses; names and source lines are looked up when the backtrace is
/// first displayed or its frames are read. Frames of functions that were
/// inlined show as their own entries where the debug information says
/// so; a binary without symbols shows addresses only.
#[derive(Clone)]
pub struct StallBacktrace {
    inner: Arc<Inner>,
}

struct Inner {
    ips: Box<[usize]>,
    frames: OnceLock<Vec<StallFrame>>,
}

/// One frame of a [`StallBacktrace`].
#[derive(Clone, Debug)]
pub struct StallFrame {
    ip: usize,
    name: Option<String>,
    file: Option<PathBuf>,
    line: Option<u32>,
}

impl StallFrame {
    /// The instruction address.
    pub fn ip(&self) -> usize {
        self.ip
    }
    /// The demangled function name, if the binary has symbols for it.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// The source file, if the binary has debug information for it.
    pub fn file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }
    /// The source line, if the binary has debug information for it.
    pub fn line(&self) -> Option<u32> {
        self.line
    }
}

impl StallBacktrace {
    pub(crate) fn from_ips(ips: Box<[usize]>) -> StallBacktrace {
        StallBacktrace { inner: Arc::new(Inner { ips, frames: OnceLock::new() }) }
    }

    /// The frames of the stalled code, innermost first (the frames of the
    /// signal handler that took the stack are left out).
    pub fn frames(&self) -> &[StallFrame] {
        self.inner.frames.get_or_init(|| resolve(&self.inner.ips))
    }

    /// The innermost `n` frames as one line: `f <- g <- h`.
    pub(crate) fn top(&self, n: usize) -> String {
        let names: Vec<String> = self
            .frames()
            .iter()
            .take(n)
            .map(|f| match &f.name {
                Some(name) => strip_hash(name).to_string(),
                None => format!("{:#x}", f.ip),
            })
            .collect();
        names.join(" <- ")
    }
}

impl fmt::Debug for StallBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StallBacktrace").field("frames", &self.inner.ips.len()).finish_non_exhaustive()
    }
}

impl fmt::Display for StallBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frames = self.frames();
        if frames.is_empty() {
            return f.write_str("  <no frames>\n");
        }
        for (i, frame) in frames.iter().enumerate() {
            match &frame.name {
                Some(name) => writeln!(f, "{i:4}: {}", strip_hash(name))?,
                None => writeln!(f, "{i:4}: {:#x}", frame.ip)?,
            }
            if let (Some(file), Some(line)) = (&frame.file, frame.line) {
                writeln!(f, "          at {}:{line}", file.display())?;
            }
        }
        Ok(())
    }
}

/// Work that names stack frames, for the process's `weft-stall-log`
/// thread (started the first time; it waits on a channel and lives as
/// long as the process). If it cannot be started, the work runs here.
pub(crate) fn off_monitor(work: Box<dyn FnOnce() + Send>) {
    type Work = Box<dyn FnOnce() + Send>;
    static QUEUE: OnceLock<Option<std::sync::mpsc::Sender<Work>>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Work>();
        let spawned = crate::loom::thread::Builder::new().name("weft-stall-log".to_string()).spawn(move || {
            for work in rx {
                work();
            }
        });
        match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                log::debug!("weft: cannot start the stall-log thread ({e}); stall warnings are written by the monitor");
                None
            }
        }
    });
    let work = match queue {
        Some(tx) => match tx.send(work) {
            Ok(()) => return,
            Err(std::sync::mpsc::SendError(work)) => work,
        },
        None => work,
    };
    work();
}

/// `foo::bar::h0123456789abcdef` -> `foo::bar`.
fn strip_hash(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => head,
        _ => name,
    }
}

/// Names of the functions that take the stack: every frame up to the
/// last of these, and the signal trampoline right after it, belongs to
/// the capture, not to the stalled code.
const CAPTURE_FRAMES: [&str; 3] =
    ["weft::rt::monitor::stack::", "signal_hook_registry::", "backtrace::backtrace::"];

#[cfg(all(feature = "stall-stacks", unix))]
fn resolve(ips: &[usize]) -> Vec<StallFrame> {
    let mut per_ip: Vec<Vec<StallFrame>> = Vec::with_capacity(ips.len());
    for &ip in ips {
        let mut symbols = Vec::new();
        ::backtrace::resolve(ip as *mut std::ffi::c_void, |sym| {
            symbols.push(StallFrame {
                ip,
                name: sym.name().map(|n| format!("{n:#}")),
                file: sym.filename().map(PathBuf::from),
                line: sym.lineno(),
            });
        });
        if symbols.is_empty() {
            symbols.push(StallFrame { ip, name: None, file: None, line: None });
        }
        per_ip.push(symbols);
    }
    let capture_end = per_ip.iter().rposition(|symbols| {
        symbols
            .iter()
            .any(|s| s.name.as_deref().is_some_and(|n| CAPTURE_FRAMES.iter().any(|c| n.contains(c))))
    });
    // The trampoline the kernel returns through follows the handler.
    let skip = capture_end.map_or(0, |i| i + 2);
    per_ip.into_iter().skip(skip).flatten().collect()
}

#[cfg(not(all(feature = "stall-stacks", unix)))]
fn resolve(ips: &[usize]) -> Vec<StallFrame> {
    let _ = CAPTURE_FRAMES;
    ips.iter().map(|&ip| StallFrame { ip, name: None, file: None, line: None }).collect()
}

#[cfg(test)]
mod tests {
    use super::strip_hash;

    #[test]
    fn the_hash_suffix_is_stripped_from_names() {
        assert_eq!(strip_hash("a::b::h0123456789abcdef"), "a::b");
        assert_eq!(strip_hash("a::b::hello"), "a::b::hello");
        assert_eq!(strip_hash("main"), "main");
    }
}
