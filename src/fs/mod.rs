//! Files and directories, from async code: the common surface of
//! `std::fs` run on the runtime's blocking pool.
//!
//! **A thread pool, not io_uring.** Every call here hands a `std::fs` call
//! to a `weft-blocking-N` thread ([`spawn_blocking`](crate::task::spawn_blocking))
//! and waits for it without blocking a worker, as tokio's `fs` does.
//! Each operation costs a hand-off to a pool thread and back (a thread
//! wake-up each way), so:
//!
//! - prefer the one-shot functions ([`read`], [`write()`],
//!   [`read_to_string`]): one hand-off for the whole file;
//! - [`File`] reads and writes through a buffer (up to 2 MiB per
//!   operation) so a stream of small writes is not a stream of hand-offs;
//! - [`ReadDir`] fetches entries in batches of 32 per hand-off;
//! - for many small operations in a row, one
//!   [`spawn_blocking`](crate::task::spawn_blocking) closure
//!   that does them all with `std::fs` is cheaper still.
//!
//! ```
//! # let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
//! # rt.block_on(async {
//! let dir = std::env::temp_dir().join(format!("weft-fs-doc-{}", std::process::id()));
//! weft::fs::create_dir_all(&dir).await?;
//! weft::fs::write(dir.join("hello.txt"), "hello").await?;
//! assert_eq!(weft::fs::read_to_string(dir.join("hello.txt")).await?, "hello");
//!
//! let mut names = Vec::new();
//! let mut entries = weft::fs::read_dir(&dir).await?;
//! while let Some(entry) = entries.next_entry().await? {
//!     names.push(entry.file_name());
//! }
//! assert_eq!(names, ["hello.txt"]);
//! weft::fs::remove_dir_all(&dir).await?;
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
//!
//! # Errors carry the path
//!
//! Every error names the operation and the path (both paths for
//! [`rename`], [`copy`] and [`hard_link`]) in its message, and keeps the
//! [`ErrorKind`](std::io::ErrorKind) of the underlying error, so
//! `err.kind() == NotFound` checks work as with `std::fs`. The original
//! error (with its `raw_os_error`) is the message's
//! [`source`](std::error::Error::source):
//!
//! ```
//! # let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
//! # rt.block_on(async {
//! let err = weft::fs::read("/nonexistent/weft.conf").await.unwrap_err();
//! assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
//! assert!(err.to_string().contains("/nonexistent/weft.conf"), "{err}");
//! # });
//! ```
//!
//! # Runtime
//!
//! The functions and [`File`] operations must run inside a weft runtime
//! (in a task, in `block_on`, or after `Runtime::enter`); elsewhere they
//! panic, as `spawn_blocking` does. If the runtime shuts down before a
//! queued operation starts, it fails with an error instead of running.

// Layout: `error.rs` (path-carrying errors and the hop to the pool),
// `ops.rs` (the one-shot functions), `read_dir.rs`, `open_options.rs`,
// `file.rs` (the buffered `File` state machine) with `buf.rs` (its
// buffer).

mod buf;
mod error;
mod file;
mod open_options;
mod ops;
mod read_dir;

pub use file::File;
pub use open_options::OpenOptions;
pub use ops::{
    canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read, read_link, read_to_string,
    remove_dir, remove_dir_all, remove_file, rename, set_permissions, symlink_metadata, try_exists, write,
};
pub use read_dir::{read_dir, DirEntry, ReadDir};
