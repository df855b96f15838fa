//! `read_dir`: directory entries fetched on the blocking pool in batches,
//! so listing a directory of n entries costs about n / 32 hand-offs.

use super::error::{join_error, on_pool, with_path};
use crate::loom::sync::StdArc as Arc;
use crate::task::JoinHandle;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::{poll_fn, Future};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Entries fetched per hand-off to the pool.
const BATCH: usize = 32;

/// Opens a directory for listing; the first batch of entries is read in
/// the same hand-off.
///
/// ```
/// # let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// # rt.block_on(async {
/// let dir = std::env::temp_dir().join(format!("weft-doc-read-dir-{}", std::process::id()));
/// weft::fs::create_dir_all(dir.join("sub")).await?;
/// weft::fs::write(dir.join("file"), "x").await?;
/// let mut kinds = Vec::new();
/// let mut entries = weft::fs::read_dir(&dir).await?;
/// while let Some(entry) = entries.next_entry().await? {
///     let name = entry.file_name().into_string().unwrap();
///     kinds.push((name, entry.file_type().await?.is_dir()));
/// }
/// kinds.sort();
/// assert_eq!(kinds, [("file".to_string(), false), ("sub".to_string(), true)]);
/// weft::fs::remove_dir_all(&dir).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[track_caller]
pub fn read_dir(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<ReadDir>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        let dir: Arc<Path> = Arc::from(path.as_ref());
        let for_batch = dir.clone();
        let batch = on_pool("read directory", path.as_ref().to_owned(), move |p| {
            let mut batch =
                Batch { entries: VecDeque::new(), std: Some(std::fs::read_dir(p)?), dir: for_batch };
            batch.fill();
            Ok(batch)
        })
        .await?;
        Ok(ReadDir { state: State::Idle(Some(batch)), dir })
    })
}

/// The entries of a directory ([`read_dir`]), in the order the OS gives
/// them, without `.` and `..`.
///
/// [`next_entry`](Self::next_entry) is cancel-safe: an entry is taken out
/// only in the poll that returns it.
pub struct ReadDir {
    state: State,
    /// For error messages.
    dir: Arc<Path>,
}

enum State {
    /// `None` only while a batch is being taken to the pool.
    Idle(Option<Batch>),
    Pending(JoinHandle<Batch>),
}

/// Entries read ahead, and the std iterator (`None` once it ended).
struct Batch {
    entries: VecDeque<io::Result<DirEntry>>,
    std: Option<std::fs::ReadDir>,
    dir: Arc<Path>,
}

impl Batch {
    /// Reads up to `BATCH` entries (on a pool thread), with each entry's
    /// file type (free on most file systems: it comes with the entry).
    fn fill(&mut self) {
        let Some(std) = &mut self.std else { return };
        for _ in 0..BATCH {
            match std.next() {
                Some(Ok(entry)) => {
                    let file_type = entry.file_type().ok();
                    self.entries.push_back(Ok(DirEntry { std: Arc::new(entry), file_type }));
                }
                Some(Err(e)) => self.entries.push_back(Err(with_path("read directory", &self.dir, e))),
                None => {
                    self.std = None;
                    break;
                }
            }
        }
    }
}

impl ReadDir {
    /// The next entry, or `None` at the end. Cancel-safe.
    #[track_caller]
    pub fn next_entry(&mut self) -> impl std::future::Future<Output = io::Result<Option<DirEntry>>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            poll_fn(|cx| self.poll_next_entry(cx)).await
        })
    }

    /// Polls for the next entry (the building block of `next_entry`, for
    /// hand-written futures and streams).
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Idle(slot) => {
                    let batch = slot.as_mut().expect("an idle ReadDir holds its batch");
                    if let Some(entry) = batch.entries.pop_front() {
                        return Poll::Ready(entry.map(Some));
                    }
                    if batch.std.is_none() {
                        return Poll::Ready(Ok(None));
                    }
                    let mut batch = slot.take().expect("checked above");
                    self.state = State::Pending(crate::task::spawn_blocking(move || {
                        batch.fill();
                        batch
                    }));
                }
                State::Pending(handle) => {
                    let batch = match ready!(Pin::new(handle).poll(cx)) {
                        Ok(batch) => batch,
                        Err(e) => {
                            // The iterator went with the closure: the
                            // listing ends after this error.
                            let dir = self.dir.clone();
                            self.state =
                                State::Idle(Some(Batch { entries: VecDeque::new(), std: None, dir }));
                            return Poll::Ready(Err(join_error("read directory", Some(&self.dir), e)));
                        }
                    };
                    self.state = State::Idle(Some(batch));
                }
            }
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// One entry of a [`ReadDir`].
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
    /// Read with the batch; `None` if that failed (asked again then).
    file_type: Option<FileType>,
}

impl DirEntry {
    /// The full path: the directory given to [`read_dir`] joined with
    /// [`file_name`](Self::file_name).
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name within its directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's metadata, not following a symlink (on the pool).
    #[track_caller]
    pub fn metadata(&self) -> impl std::future::Future<Output = io::Result<Metadata>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            let std = self.std.clone();
            on_pool("read metadata of", self.path(), move |_| std.metadata()).await
        })
    }

    /// The entry's file type, not following a symlink: usually known from
    /// the listing already, otherwise asked on the pool.
    #[track_caller]
    pub fn file_type(&self) -> impl std::future::Future<Output = io::Result<FileType>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            if let Some(t) = self.file_type {
                return Ok(t);
            }
            let std = self.std.clone();
            on_pool("read file type of", self.path(), move |_| std.file_type()).await
        })
    }

    /// The entry's inode number (Unix).
    #[cfg(unix)]
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&*self.std)
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}
