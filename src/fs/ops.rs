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
#[track_caller]
pub fn read(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<Vec<u8>>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("read", path.as_ref().to_owned(), |p| std::fs::read(p)).await
    })
}

/// Reads the whole file into a `String`; an `InvalidData` error if it is
/// not UTF-8.
#[track_caller]
pub fn read_to_string(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<String>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("read", path.as_ref().to_owned(), |p| std::fs::read_to_string(p)).await
    })
}

/// Writes `contents` as the whole file, creating it or truncating it.
/// The bytes are copied once (to move to the pool thread).
#[track_caller]
pub fn write(
    path: impl AsRef<Path>,
    contents: impl AsRef<[u8]>,
) -> impl std::future::Future<Output = io::Result<()>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        let contents = contents.as_ref().to_owned();
        on_pool("write", path.as_ref().to_owned(), move |p| std::fs::write(p, contents)).await
    })
}

/// Creates a directory; its parent must exist.
#[track_caller]
pub fn create_dir(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<()>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("create directory", path.as_ref().to_owned(), |p| std::fs::create_dir(p)).await
    })
}

/// Creates a directory and every missing parent; succeeds if it exists.
#[track_caller]
pub fn create_dir_all(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<()>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("create directory", path.as_ref().to_owned(), |p| std::fs::create_dir_all(p)).await
    })
}

/// The metadata of the file or directory, following symlinks.
#[track_caller]
pub fn metadata(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<Metadata>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("read metadata of", path.as_ref().to_owned(), |p| std::fs::metadata(p)).await
    })
}

/// The metadata of the path itself, not following a final symlink.
#[track_caller]
pub fn symlink_metadata(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<Metadata>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("read metadata of", path.as_ref().to_owned(), |p| std::fs::symlink_metadata(p)).await
    })
}

/// Removes a file (or symlink).
#[track_caller]
pub fn remove_file(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<()>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("remove file", path.as_ref().to_owned(), |p| std::fs::remove_file(p)).await
    })
}

/// Removes an empty directory.
#[track_caller]
pub fn remove_dir(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<()>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("remove directory", path.as_ref().to_owned(), |p| std::fs::remove_dir(p)).await
    })
}

/// Removes a directory and everything in it, in one hand-off.
#[track_caller]
pub fn remove_dir_all(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<()>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("remove directory", path.as_ref().to_owned(), |p| std::fs::remove_dir_all(p)).await
    })
}

/// Renames `from` to `to`, replacing `to` if it is a file.
#[track_caller]
pub fn rename(
    from: impl AsRef<Path>,
    to: impl AsRef<Path>,
) -> impl std::future::Future<Output = io::Result<()>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
        on_pool2("rename", from, to, |f, t| std::fs::rename(f, t)).await
    })
}

/// Copies the contents and permissions of `from` to `to`; returns the
/// bytes copied.
#[track_caller]
pub fn copy(
    from: impl AsRef<Path>,
    to: impl AsRef<Path>,
) -> impl std::future::Future<Output = io::Result<u64>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
        on_pool2("copy", from, to, |f, t| std::fs::copy(f, t)).await
    })
}

/// Creates `link` as a hard link to `original`.
#[track_caller]
pub fn hard_link(
    original: impl AsRef<Path>,
    link: impl AsRef<Path>,
) -> impl std::future::Future<Output = io::Result<()>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
        on_pool2("hard-link", original, link, |o, l| std::fs::hard_link(o, l)).await
    })
}

/// The absolute path with every symlink and `.`/`..` resolved.
#[track_caller]
pub fn canonicalize(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<PathBuf>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("canonicalize", path.as_ref().to_owned(), |p| std::fs::canonicalize(p)).await
    })
}

/// Where a symlink points.
#[track_caller]
pub fn read_link(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<PathBuf>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("read link", path.as_ref().to_owned(), |p| std::fs::read_link(p)).await
    })
}

/// Sets the permissions of a file or directory.
#[track_caller]
pub fn set_permissions(
    path: impl AsRef<Path>,
    perm: Permissions,
) -> impl std::future::Future<Output = io::Result<()>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("set permissions of", path.as_ref().to_owned(), move |p| std::fs::set_permissions(p, perm))
            .await
    })
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
#[track_caller]
pub fn try_exists(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<bool>> {
    crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
        on_pool("check existence of", path.as_ref().to_owned(), |p| p.try_exists()).await
    })
}
