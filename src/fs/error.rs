//! Errors that name the path, and the hop from a task to the blocking
//! pool.

use crate::task::JoinError;
use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An `io::Error` with the operation and path(s) it failed on; the
/// original error is its `source`.
#[derive(Debug)]
struct PathError {
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    source: io::Error,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.op, self.path.display())?;
        if let Some(to) = &self.to {
            write!(f, " to `{}`", to.display())?;
        }
        write!(f, ": {}", self.source)
    }
}

impl Error for PathError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// `source` with `op` and `path` in its message, of the same kind.
pub(super) fn with_path(op: &'static str, path: &Path, source: io::Error) -> io::Error {
    io::Error::new(source.kind(), PathError { op, path: path.to_owned(), to: None, source })
}

/// As [`with_path`], for operations on two paths.
pub(super) fn with_paths(op: &'static str, from: &Path, to: &Path, source: io::Error) -> io::Error {
    io::Error::new(source.kind(), PathError { op, path: from.to_owned(), to: Some(to.to_owned()), source })
}

/// The error for an operation whose blocking closure did not return: the
/// runtime shut down before it ran, or it panicked.
pub(super) fn join_error(op: &'static str, path: Option<&Path>, err: JoinError) -> io::Error {
    let why = if err.is_cancelled() {
        "the runtime shut down before the operation ran"
    } else {
        "the blocking operation panicked"
    };
    let source = io::Error::other(why);
    match path {
        Some(path) => with_path(op, path, source),
        None => io::Error::other(format!("{op}: {why}")),
    }
}

/// Runs `f(&path)` on the blocking pool; its error gets `op` and `path`.
pub(super) async fn on_pool<T, F>(op: &'static str, path: PathBuf, f: F) -> io::Result<T>
where
    F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    // The closure owns the path (for its own errors); a copy stays here
    // for the rare error of a closure that never ran.
    let for_join = path.clone();
    let run = crate::task::spawn_blocking(move || f(&path).map_err(|e| with_path(op, &path, e)));
    match run.await {
        Ok(result) => result,
        Err(e) => Err(join_error(op, Some(&for_join), e)),
    }
}

/// Runs `f(&from, &to)` on the blocking pool; its error gets both paths.
pub(super) async fn on_pool2<T, F>(op: &'static str, from: PathBuf, to: PathBuf, f: F) -> io::Result<T>
where
    F: FnOnce(&Path, &Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let for_join = from.clone();
    let run = crate::task::spawn_blocking(move || f(&from, &to).map_err(|e| with_paths(op, &from, &to, e)));
    match run.await {
        Ok(result) => result,
        Err(e) => Err(join_error(op, Some(&for_join), e)),
    }
}
