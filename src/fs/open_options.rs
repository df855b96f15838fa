//! `OpenOptions`: `std::fs::OpenOptions` whose `open` runs on the
//! blocking pool.

use super::error::on_pool;
use super::file::File;
use crate::loom::sync::StdArc as Arc;
use std::io;
use std::path::Path;

/// How to open a file (read, write, append, create, ...), as
/// `std::fs::OpenOptions`; [`open`](Self::open) is async.
///
/// ```
/// use futures::AsyncWriteExt;
///
/// # let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// # rt.block_on(async {
/// let path = std::env::temp_dir().join(format!("weft-doc-log-{}", std::process::id()));
/// for line in ["one\n", "two\n"] {
///     let mut log = weft::fs::OpenOptions::new().append(true).create(true).open(&path).await?;
///     log.write_all(line.as_bytes()).await?;
///     log.flush().await?;
/// }
/// assert_eq!(weft::fs::read_to_string(&path).await?, "one\ntwo\n");
/// weft::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// Everything off: set at least one of read, write or append.
    #[allow(clippy::new_without_default)] // as std's
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Every write goes to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Truncate the file to 0 bytes when opening it (needs write).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs write or append).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Create the file, failing (`AlreadyExists`) if it exists.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits of a file this creates (Unix; default 0o666,
    /// less the umask).
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Extra `open(2)` flags (Unix), such as `libc::O_NOFOLLOW`.
    #[cfg(unix)]
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.0, flags);
        self
    }

    /// Opens `path` with these options, on the blocking pool.
    #[track_caller]
    pub fn open<P: AsRef<Path>>(
        &self,
        path: P,
    ) -> impl std::future::Future<Output = io::Result<File>> + use<P> {
        // The options are copied now, so the future does not borrow them.
        let opts = self.0.clone();
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            let path = path.as_ref();
            let std = on_pool("open", path.to_owned(), move |p| opts.open(p)).await?;
            Ok(File::new(std, Some(Arc::from(path))))
        })
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(options)
    }
}
