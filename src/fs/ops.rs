//! The one-shot functions: each is one `std::fs` call on the blocking
//! pool (one hand-off there and back).

use super::error::{on_pool, on_pool2};
use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

/// Reads the whole file into a `Vec` (`std::fs::read` on the blocking
/// pool: one hand-off for the whole file).
///
/// ```
/// # let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// # rt.block_on(async {
/// let path = std::env::temp_dir().join(format!("weft-doc-read-{}", std::process::id()));
/// weft::fs::write(&path, [1u8, 2, 3]).await?;
/// assert_eq!(weft::fs::read(&path).await?, [1, 2, 3]);
/// weft::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    on_pool("read", path.as_ref().to_owned(), |p| std::fs::read(p)).await
}

/// Reads the whole file into a `String`; an `InvalidData` error if it is
/// not UTF-8.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    on_pool("read", path.as_ref().to_owned(), |p| std::fs::read_to_string(p)).await
}

/// Writes `contents` as the whole file, creating it or truncating it.
/// The bytes are copied once (to move to the pool thread).
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    on_pool("write", path.as_ref().to_owned(), move |p| std::fs::write(p, contents)).await
}

/// Creates a directory; its parent must exist.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_pool("create directory", path.as_ref().to_owned(), |p| std::fs::create_dir(p)).await
}

/// Creates a directory and every missing parent; succeeds if it exists.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_pool("create directory", path.as_ref().to_owned(), |p| std::fs::create_dir_all(p)).await
}

/// The metadata of the file or directory, following symlinks.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_pool("read metadata of", path.as_ref().to_owned(), |p| std::fs::metadata(p)).await
}

/// The metadata of the path itself, not following a final symlink.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_pool("read metadata of", path.as_ref().to_owned(), |p| std::fs::symlink_metadata(p)).await
}

/// Removes a file (or symlink).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    on_pool("remove file", path.as_ref().to_owned(), |p| std::fs::remove_file(p)).await
}

/// Removes an empty directory.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_pool("remove directory", path.as_ref().to_owned(), |p| std::fs::remove_dir(p)).await
}

/// Removes a directory and everything in it, in one hand-off.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_pool("remove directory", path.as_ref().to_owned(), |p| std::fs::remove_dir_all(p)).await
}

/// Renames `from` to `to`, replacing `to` if it is a file.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    on_pool2("rename", from, to, |f, t| std::fs::rename(f, t)).await
}

/// Copies the contents and permissions of `from` to `to`; returns the
/// bytes copied.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    on_pool2("copy", from, to, |f, t| std::fs::copy(f, t)).await
}

/// Creates `link` as a hard link to `original`.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    on_pool2("hard-link", original, link, |o, l| std::fs::hard_link(o, l)).await
}

/// The absolute path with every symlink and `.`/`..` resolved.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_pool("canonicalize", path.as_ref().to_owned(), |p| std::fs::canonicalize(p)).await
}

/// Where a symlink points.
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_pool("read link", path.as_ref().to_owned(), |p| std::fs::read_link(p)).await
}

/// Sets the permissions of a file or directory.
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    on_pool("set permissions of", path.as_ref().to_owned(), move |p| std::fs::set_permissions(p, perm)).await
}

/// Whether the path exists: `Ok(false)` if it does not, an error if that
/// cannot be told (a permission error on a parent, say), unlike
/// `Path::exists`, which says `false` then.
///
/// ```
/// # let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// # rt.block_on(async {
/// assert!(weft::fs::try_exists(std::env::temp_dir()).await?);
/// assert!(!weft::fs::try_exists("/nonexistent/weft").await?);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    on_pool("check existence of", path.as_ref().to_owned(), |p| p.try_exists()).await
}
