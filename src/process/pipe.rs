//! The parent's ends of a child's piped stdin, stdout and stderr:
//! non-blocking pipes on the netpoller.
//!
//! The child's ends stay blocking (`O_NONBLOCK` is set on the parent's
//! file descriptions only, and a pipe's two ends are separate
//! descriptions). A read returns 0 (end of stream) once the child has
//! closed its end or exited; a write to a pipe the child has closed fails
//! with `BrokenPipe` (Rust programs ignore `SIGPIPE`).

use crate::rt::netpoll::{FdSource, PollEvented};
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// One registered pipe end.
pub(crate) struct Pipe {
    io: PollEvented<FdSource>,
}

impl Pipe {
    fn new(fd: OwnedFd, interest: mio::Interest) -> io::Result<Pipe> {
        let fd = FdSource::new(fd);
        fd.set_nonblocking(true)?;
        Ok(Pipe { io: PollEvented::new_with_interest(fd, interest)? })
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.io.poll_read(cx, buf)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.io.poll_write(cx, buf)
    }

    /// Reads to end of stream, appending to `out`; `Pending` keeps what
    /// was read so far in `out`.
    pub(crate) fn poll_read_to_end(&self, cx: &mut Context<'_>, out: &mut Vec<u8>) -> Poll<io::Result<()>> {
        const CHUNK: usize = 8 * 1024;
        loop {
            let start = out.len();
            out.resize(start + CHUNK, 0);
            let result = self.io.poll_read(cx, &mut out[start..]);
            let n = match &result {
                Poll::Ready(Ok(n)) => *n,
                _ => 0,
            };
            out.truncate(start + n);
            match result {
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

macro_rules! pipe_type {
    ($(#[$doc:meta])* $name:ident, $std:ty, $interest:expr) => {
        $(#[$doc])*
        pub struct $name {
            pub(super) pipe: Pipe,
        }

        impl $name {
            pub(crate) fn from_std(end: $std) -> io::Result<$name> {
                Ok($name { pipe: Pipe::new(OwnedFd::from(end), $interest)? })
            }

            /// Deregisters the pipe and returns its file descriptor (still
            /// in non-blocking mode), for example to hand it to another
            /// child as its stdin through `Stdio::from`.
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.pipe.io.into_inner().map(FdSource::into_owned)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("fd", &self.as_raw_fd()).finish()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.io.get_ref().as_raw_fd()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.io.get_ref().as_fd()
            }
        }
    };
}

pipe_type!(
    /// The parent's end of a child's stdin (`Stdio::piped()`): write to it
    /// with [`write_all`](ChildStdin::write_all) or through
    /// `futures_io::AsyncWrite`. Dropping it closes the pipe, and the child
    /// reads end of input.
    ChildStdin,
    std::process::ChildStdin,
    mio::Interest::WRITABLE
);
pipe_type!(
    /// The parent's end of a child's stdout (`Stdio::piped()`): read it
    /// with [`read`](ChildStdout::read), [`read_to_end`](ChildStdout::read_to_end)
    /// or through `futures_io::AsyncRead`.
    ChildStdout,
    std::process::ChildStdout,
    mio::Interest::READABLE
);
pipe_type!(
    /// The parent's end of a child's stderr (`Stdio::piped()`); read like
    /// [`ChildStdout`].
    ChildStderr,
    std::process::ChildStderr,
    mio::Interest::READABLE
);

impl ChildStdin {
    /// Writes some of `buf`, waiting until the pipe has room. Fails with
    /// `BrokenPipe` once the child closed its end.
    #[track_caller]
    pub fn write<'w>(
        &'w mut self,
        buf: &'w [u8],
    ) -> impl std::future::Future<Output = io::Result<usize>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, async move {
            poll_fn(|cx| self.pipe.poll_write(cx, buf)).await
        })
    }

    /// Writes all of `buf`.
    #[track_caller]
    pub fn write_all<'w>(
        &'w mut self,
        mut buf: &'w [u8],
    ) -> impl std::future::Future<Output = io::Result<()>> + 'w {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoWrite, async move {
            while !buf.is_empty() {
                match self.write(buf).await {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => buf = &buf[n..],
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    }
}

macro_rules! read_methods {
    ($name:ident) => {
        impl $name {
            /// Reads into `buf`, waiting until data arrives; `Ok(0)` once
            /// the child closed its end (or exited) and the pipe is empty.
            #[track_caller]
            pub fn read<'w>(
                &'w mut self,
                buf: &'w mut [u8],
            ) -> impl std::future::Future<Output = io::Result<usize>> + 'w {
                crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, async move {
                    poll_fn(|cx| self.pipe.poll_read(cx, buf)).await
                })
            }

            /// Reads until end of stream, appending to `out`; returns how
            /// many bytes were appended.
            #[track_caller]
            pub fn read_to_end<'w>(
                &'w mut self,
                out: &'w mut Vec<u8>,
            ) -> impl std::future::Future<Output = io::Result<usize>> + 'w {
                crate::rt::task::wait::waiting(crate::rt::task::WaitKind::IoRead, async move {
                    let start = out.len();
                    poll_fn(|cx| self.pipe.poll_read_to_end(cx, out)).await?;
                    Ok(out.len() - start)
                })
            }
        }

        impl futures_io::AsyncRead for $name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.pipe.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                // A pipe read is one `read(2)`: fill the first non-empty slice.
                match bufs.iter_mut().find(|b| !b.is_empty()) {
                    Some(buf) => self.pipe.poll_read(cx, buf),
                    None => Poll::Ready(Ok(0)),
                }
            }
        }
    };
}

read_methods!(ChildStdout);
read_methods!(ChildStderr);

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.pipe.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match bufs.iter().find(|b| !b.is_empty()) {
            Some(buf) => self.pipe.poll_write(cx, buf),
            None => Poll::Ready(Ok(0)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Nothing to do: the pipe closes when the `ChildStdin` is dropped
    /// (a pipe has no half-close).
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
