//! `File`: a `std::fs::File` driven from async code, one operation at a
//! time on the blocking pool.
//!
//! The state machine (tokio's design): the file is `Idle`, holding its
//! buffer, or `Busy` with one blocking operation that took the buffer to a
//! pool thread and gives it back with its outcome. So there is never more
//! than one operation in flight and no copy beyond the one between the
//! caller's slice and the buffer.
//!
//! - A read asks the pool for up to the caller's length (at most
//!   `MAX_BUF`); what the caller's slice cannot take stays in the buffer as
//!   read-ahead, handed out by the next reads without a hop.
//! - A write copies the caller's bytes into the buffer, starts the write
//!   on the pool, and reports them accepted at once. Its outcome is
//!   collected by whatever waits for the operation next; an error is kept
//!   and returned by the next write, flush or seek. `flush` waits for the
//!   write in flight.
//! - Read-ahead data means the OS position is ahead of the caller's: a
//!   write, seek or `set_len` first seeks back by the unread length.
//! - A seek waits for the operation in flight (so a pending write is
//!   written at the old position first), then seeks on the pool.
//!
//! An operation whose future is dropped still completes on the pool; its
//! outcome is collected by the next operation (a write error is kept).

use super::buf::Buf;
use super::error::{join_error, on_pool, with_path};
use super::open_options::OpenOptions;
use crate::loom::sync::StdArc as Arc;
use crate::task::JoinHandle;
use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::{poll_fn, Future};
use std::io::{self, Seek, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// An open file, read and written from async code through the runtime's
/// blocking pool (see the [module docs](super) on what that costs).
///
/// Implements [`futures_io`]'s `AsyncRead`, `AsyncWrite` and `AsyncSeek`
/// (and, with the `tokio-io` feature, tokio's), so the `futures` and
/// `tokio` extension traits (`read_to_end`, `write_all`, `seek`, ...)
/// work on it.
///
/// Writes are buffered: a write returns once its bytes are copied, and is
/// carried out on the pool. Call `flush` (or [`sync_all`](Self::sync_all))
/// to learn whether it succeeded; dropping a `File` with a write in flight
/// lets the write finish but loses its error.
///
/// ```
/// use futures::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use std::io::SeekFrom;
///
/// # let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// # rt.block_on(async {
/// let path = std::env::temp_dir().join(format!("weft-doc-file-{}", std::process::id()));
/// let mut file = weft::fs::File::create(&path).await?;
/// file.write_all(b"hello, file").await?;
/// file.flush().await?;
///
/// let mut file = weft::fs::OpenOptions::new().read(true).write(true).open(&path).await?;
/// file.seek(SeekFrom::Start(7)).await?;
/// let mut word = String::new();
/// file.read_to_string(&mut word).await?;
/// assert_eq!(word, "file");
/// weft::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    /// For error messages; `None` for a file made with `from_std`.
    path: Option<Arc<Path>>,
    state: State,
    /// The error of a write that was already reported as accepted;
    /// returned by the next write, flush or seek.
    write_err: Option<io::Error>,
    /// Where the last completed seek left the file (tokio's
    /// `poll_complete` reports it when no seek is in flight).
    pos: u64,
    /// The operation in flight is a seek whose result belongs to the
    /// caller of `poll_seek` / `poll_complete`.
    seeking: bool,
}

enum State {
    Idle(Buf),
    Busy(JoinHandle<(Op, Buf)>),
}

/// What a blocking operation did.
enum Op {
    Read(io::Result<usize>),
    /// `read_to_end`: what it read, appended to the vector it carried.
    ReadToEnd(io::Result<usize>, Vec<u8>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
    /// `set_len`, `sync_all`, `sync_data`: named for the error message.
    Other(&'static str, io::Result<()>),
}

impl File {
    /// Opens a file for reading.
    #[track_caller]
    pub fn open(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<File>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            OpenOptions::new().read(true).open(path).await
        })
    }

    /// Opens a file for writing, creating it or truncating it.
    #[track_caller]
    pub fn create(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<File>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            OpenOptions::new().write(true).create(true).truncate(true).open(path).await
        })
    }

    /// Creates a new file for reading and writing; fails (`AlreadyExists`)
    /// if it exists.
    #[track_caller]
    pub fn create_new(path: impl AsRef<Path>) -> impl std::future::Future<Output = io::Result<File>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            OpenOptions::new().read(true).write(true).create_new(true).open(path).await
        })
    }

    /// Options to open a file with ([`OpenOptions::new`]).
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File`. Its errors will not name a path.
    pub fn from_std(std: std::fs::File) -> File {
        File::new(std, None)
    }

    pub(super) fn new(std: std::fs::File, path: Option<Arc<Path>>) -> File {
        File {
            std: Arc::new(std),
            path,
            state: State::Idle(Buf::default()),
            write_err: None,
            pos: 0,
            seeking: false,
        }
    }

    /// The `std::fs::File`, if no operation is in flight, nothing is
    /// buffered and no other handle to it is alive (a `metadata` call
    /// still running); otherwise `self` back.
    pub fn try_into_std(mut self) -> Result<std::fs::File, File> {
        let idle = matches!(&self.state, State::Idle(buf) if buf.is_empty());
        if !idle || self.write_err.is_some() {
            return Err(self);
        }
        match Arc::try_unwrap(self.std) {
            Ok(std) => Ok(std),
            Err(std) => {
                self.std = std;
                Err(self)
            }
        }
    }

    /// The file's metadata. Does not wait for a write in flight (its
    /// length may not be counted yet: flush first).
    #[track_caller]
    pub fn metadata(&self) -> impl std::future::Future<Output = io::Result<Metadata>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            let std = self.std.clone();
            self.run_detached("read metadata of", move || std.metadata()).await
        })
    }

    /// Sets the file's permissions.
    #[track_caller]
    pub fn set_permissions(
        &self,
        perm: Permissions,
    ) -> impl std::future::Future<Output = io::Result<()>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            let std = self.std.clone();
            self.run_detached("set permissions of", move || std.set_permissions(perm)).await
        })
    }

    /// A second handle to the same open file (shared position).
    #[track_caller]
    pub fn try_clone(&self) -> impl std::future::Future<Output = io::Result<File>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            let std = self.std.clone();
            let clone = self.run_detached("clone handle of", move || std.try_clone()).await?;
            Ok(File::new(clone, self.path.clone()))
        })
    }

    /// Truncates or extends the file to `size` bytes, after the write in
    /// flight. The position is unchanged.
    #[track_caller]
    pub fn set_len(&mut self, size: u64) -> impl std::future::Future<Output = io::Result<()>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            self.run_ordered("set length of", move |f| f.set_len(size)).await
        })
    }

    /// Writes what is buffered, then asks the OS to write the file's data
    /// and metadata to the device (`fsync`).
    #[track_caller]
    pub fn sync_all(&mut self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            self.run_ordered("sync", |f| f.sync_all()).await
        })
    }

    /// As [`sync_all`](Self::sync_all), without the metadata where the OS
    /// can tell (`fdatasync`).
    #[track_caller]
    pub fn sync_data(&mut self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            self.run_ordered("sync data of", |f| f.sync_data()).await
        })
    }

    /// Reads from the current position to the end of the file, appending
    /// to `buf`, and returns how many bytes it appended.
    ///
    /// One hop to the blocking pool for the whole read, with the vector
    /// sized from the file's length there, rather than a hop per chunk.
    /// This inherent method is what `file.read_to_end(&mut v)` calls even
    /// with `futures::AsyncReadExt` or `tokio::io::AsyncReadExt` in scope
    /// (an inherent method wins); those traits' generic versions read in
    /// chunks through `poll_read` (futures-util's also zero-fills the
    /// vector's spare capacity first).
    ///
    /// ```
    /// # let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// # rt.block_on(async {
    /// let path = std::env::temp_dir().join(format!("weft-doc-rte-{}", std::process::id()));
    /// weft::fs::write(&path, b"all of it").await?;
    /// let mut file = weft::fs::File::open(&path).await?;
    /// let mut data = b"prefix: ".to_vec();
    /// assert_eq!(file.read_to_end(&mut data).await?, 9);
    /// assert_eq!(data, b"prefix: all of it");
    /// # weft::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, like tokio's: if the future is dropped before it
    /// completes, `buf` keeps what it held before the call, the bytes read
    /// meanwhile are lost, and the file's position is wherever the read
    /// stopped.
    #[track_caller]
    pub fn read_to_end<'w>(
        &'w mut self,
        buf: &'w mut Vec<u8>,
    ) -> impl std::future::Future<Output = io::Result<usize>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Blocking, async move {
            poll_fn(|cx| self.poll_flush_inner(cx)).await?;
            let State::Idle(read_ahead) = &mut self.state else { unreachable!("flushed: idle") };
            let start = buf.len();
            // Straight into the caller's vector when it holds nothing a
            // cancellation could lose; else into a new one, appended after.
            let mut into = if start == 0 { std::mem::take(buf) } else { Vec::new() };
            into.extend_from_slice(read_ahead.bytes());
            read_ahead.consume(read_ahead.len());
            let read_ahead = std::mem::take(read_ahead);
            self.spawn(read_ahead, move |mut file, _| {
                let mut into = into;
                let res = io::Read::read_to_end(&mut file, &mut into);
                Op::ReadToEnd(res, into)
            });
            match poll_fn(|cx| self.poll_inflight(cx)).await? {
                Some(Op::ReadToEnd(res, into)) => {
                    if start == 0 {
                        *buf = into;
                    } else {
                        buf.extend_from_slice(&into);
                    }
                    res.map(|_| buf.len() - start).map_err(|e| self.wrap("read", e))
                }
                _ => unreachable!("the only operation in flight is this read"),
            }
        })
    }

    // ----- helpers ------------------------------------------------------

    fn wrap(&self, op: &'static str, e: io::Error) -> io::Error {
        match &self.path {
            Some(path) => with_path(op, path, e),
            None => e,
        }
    }

    fn join_err(&self, op: &'static str, e: crate::task::JoinError) -> io::Error {
        join_error(op, self.path.as_deref(), e)
    }

    /// Runs `f` on the pool beside the state machine (operations that do
    /// not touch the position or the data).
    async fn run_detached<T, F>(&self, op: &'static str, f: F) -> io::Result<T>
    where
        F: FnOnce() -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.path {
            Some(path) => on_pool(op, path.to_path_buf(), move |_| f()).await,
            None => match crate::task::spawn_blocking(f).await {
                Ok(r) => r,
                Err(e) => Err(join_error(op, None, e)),
            },
        }
    }

    /// Runs `f` as the file's next operation: after the one in flight
    /// (and its write error, if any), with read-ahead given back first.
    async fn run_ordered<F>(&mut self, op: &'static str, f: F) -> io::Result<()>
    where
        F: FnOnce(&std::fs::File) -> io::Result<()> + Send + 'static,
    {
        poll_fn(|cx| self.poll_flush_inner(cx)).await?;
        let State::Idle(buf) = &mut self.state else { unreachable!("flushed: idle") };
        let mut buf = std::mem::take(buf);
        let back = (!buf.is_empty()).then(|| buf.discard_read());
        self.spawn(buf, move |mut file, _| {
            let res = match back {
                Some(back) => file.seek(SeekFrom::Current(back)).and_then(|_| f(file)),
                None => f(file),
            };
            Op::Other(op, res)
        });
        match poll_fn(|cx| self.poll_inflight(cx)).await? {
            Some(Op::Other(_, res)) => res.map_err(|e| self.wrap(op, e)),
            Some(other) => {
                self.absorb(other);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Starts `f` on the pool with the buffer; the file is `Busy` until
    /// its outcome is collected.
    fn spawn<F>(&mut self, buf: Buf, f: F)
    where
        F: FnOnce(&std::fs::File, &mut Buf) -> Op + Send + 'static,
    {
        let std = self.std.clone();
        self.state = State::Busy(crate::task::spawn_blocking(move || {
            let mut buf = buf;
            let op = f(&std, &mut buf);
            (op, buf)
        }));
    }

    /// Waits for the operation in flight, if any; the buffer is back in
    /// `Idle` afterwards, also on error.
    fn poll_inflight(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Op>>> {
        let State::Busy(handle) = &mut self.state else { return Poll::Ready(Ok(None)) };
        let res = ready!(Pin::new(handle).poll(cx));
        match res {
            Ok((op, buf)) => {
                self.state = State::Idle(buf);
                Poll::Ready(Ok(Some(op)))
            }
            Err(e) => {
                self.state = State::Idle(Buf::default());
                self.seeking = false;
                Poll::Ready(Err(self.join_err("use", e)))
            }
        }
    }

    /// Records the outcome of an operation that completed while the
    /// caller waited for something else.
    fn absorb(&mut self, op: Op) {
        match op {
            // Read-ahead data stays in the buffer; a read error is dropped
            // (the next read asks the OS again).
            Op::Read(_) => {}
            // A `read_to_end` whose future was dropped: what it read is
            // lost, as documented there.
            Op::ReadToEnd(..) => {}
            Op::Write(Ok(())) | Op::Other(_, Ok(())) => {}
            Op::Write(Err(e)) => self.write_err = Some(self.wrap("write", e)),
            Op::Other(op, Err(e)) => self.write_err = Some(self.wrap(op, e)),
            Op::Seek(res) => {
                self.seeking = false;
                if let Ok(pos) = res {
                    self.pos = pos;
                }
            }
        }
    }

    /// Makes the buffer hold read-ahead data, or leaves it empty at the
    /// end of the file (or for `want == 0`); the file is `Idle` after
    /// `Ready(Ok)`.
    fn poll_fill(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<()>> {
        loop {
            match &mut self.state {
                State::Idle(buf) => {
                    if !buf.is_empty() || want == 0 {
                        return Poll::Ready(Ok(()));
                    }
                    let buf = std::mem::take(buf);
                    self.spawn(buf, move |file, buf| Op::Read(buf.read_from(file, want)));
                }
                State::Busy(_) => match ready!(self.poll_inflight(cx))? {
                    // Data, or an empty buffer: the end of the file.
                    Some(Op::Read(Ok(_))) => return Poll::Ready(Ok(())),
                    Some(Op::Read(Err(e))) => return Poll::Ready(Err(self.wrap("read", e))),
                    Some(other) => self.absorb(other),
                    None => {}
                },
            }
        }
    }

    fn poll_read_inner(&mut self, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_fill(cx, dst.len()))?;
        let State::Idle(buf) = &mut self.state else { unreachable!("poll_fill leaves the file idle") };
        Poll::Ready(Ok(buf.copy_to(dst)))
    }

    fn poll_write_inner(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            match &mut self.state {
                State::Idle(buf) => {
                    if let Some(e) = self.write_err.take() {
                        return Poll::Ready(Err(e));
                    }
                    if src.is_empty() {
                        return Poll::Ready(Ok(0));
                    }
                    let mut buf = std::mem::take(buf);
                    let back = (!buf.is_empty()).then(|| buf.discard_read());
                    let n = buf.copy_from(src);
                    self.spawn(buf, move |mut file, buf| {
                        let res = match back {
                            Some(back) => file.seek(SeekFrom::Current(back)).and_then(|_| buf.write_to(file)),
                            None => buf.write_to(file),
                        };
                        Op::Write(res)
                    });
                    return Poll::Ready(Ok(n));
                }
                State::Busy(_) => {
                    if let Some(op) = ready!(self.poll_inflight(cx))? {
                        self.absorb(op);
                    }
                }
            }
        }
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(op) = ready!(self.poll_inflight(cx))? {
            self.absorb(op);
        }
        match self.write_err.take() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Starts a seek; the file must be idle.
    fn start_seek_inner(&mut self, pos: SeekFrom) -> io::Result<()> {
        let State::Idle(buf) = &mut self.state else {
            return Err(io::Error::other(
                "weft::fs::File: another operation is in flight; call poll_complete before start_seek",
            ));
        };
        if let Some(e) = self.write_err.take() {
            return Err(e);
        }
        let mut pos = pos;
        if let SeekFrom::Current(n) = &mut pos {
            // The caller's position is behind the OS's by the read-ahead.
            let unread = buf.len() as i64;
            *n = n.checked_sub(unread).ok_or_else(|| {
                self.wrap("seek", io::Error::new(io::ErrorKind::InvalidInput, "seek offset overflows"))
            })?;
        }
        let State::Idle(buf) = &mut self.state else { unreachable!("checked above") };
        let mut buf = std::mem::take(buf);
        buf.discard_read();
        self.seeking = true;
        self.spawn(buf, move |mut file, _| Op::Seek(file.seek(pos)));
        Ok(())
    }

    /// Waits for the seek in flight (collecting other operations first);
    /// with none, the position the last seek left.
    fn poll_seek_complete(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        loop {
            match ready!(self.poll_inflight(cx))? {
                None => return Poll::Ready(Ok(self.pos)),
                Some(Op::Seek(res)) => {
                    self.seeking = false;
                    return Poll::Ready(match res {
                        Ok(pos) => {
                            self.pos = pos;
                            Ok(pos)
                        }
                        Err(e) => Err(self.wrap("seek", e)),
                    });
                }
                Some(other) => self.absorb(other),
            }
        }
    }

    /// `futures_io::AsyncSeek`: finish what is in flight (a pending write
    /// is written at the old position first), then seek.
    fn poll_seek_inner(&mut self, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        loop {
            if self.seeking {
                // Started by an earlier poll of this seek.
                return self.poll_seek_complete(cx);
            }
            match ready!(self.poll_inflight(cx))? {
                Some(op) => self.absorb(op),
                None => self.start_seek_inner(pos)?,
            }
        }
    }
}

impl futures_io::AsyncRead for File {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_inner(cx, buf)
    }
}

impl futures_io::AsyncWrite for File {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }

    /// Flushes; the file stays open until dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }
}

impl futures_io::AsyncSeek for File {
    fn poll_seek(self: Pin<&mut Self>, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        self.get_mut().poll_seek_inner(cx, pos)
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_fill(cx, dst.remaining()))?;
        let State::Idle(buf) = &mut this.state else { unreachable!("poll_fill leaves the file idle") };
        let n = buf.len().min(dst.remaining());
        dst.put_slice(&buf.bytes()[..n]);
        buf.consume(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncWrite for File {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }

    /// Flushes; the file stays open until dropped.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        self.get_mut().start_seek_inner(position)
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        self.get_mut().poll_seek_complete(cx)
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("busy", &matches!(self.state, State::Busy(_)))
            .finish_non_exhaustive()
    }
}
