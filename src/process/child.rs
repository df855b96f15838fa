//! `Child`: a spawned process, its pipes, and waiting for its exit.

use super::exit::ExitWatch;
use super::orphan;
use super::pipe::{ChildStderr, ChildStdin, ChildStdout};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::process::{ExitStatus, Output};
use std::task::{Context, Poll};

/// A running (or exited) child process, made by
/// [`Command::spawn`](super::Command::spawn).
///
/// Wait for it with [`wait`](Child::wait) or
/// [`wait_with_output`](Child::wait_with_output). A `Child` dropped before
/// its process was reaped leaves no zombie: the process goes on running
/// (or is killed first, with [`kill_on_drop`](super::Command::kill_on_drop))
/// and is reaped in the background when it exits.
pub struct Child {
    /// The child's stdin, if it was `Stdio::piped()`.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was `Stdio::piped()`.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was `Stdio::piped()`.
    pub stderr: Option<ChildStderr>,
    /// `None` once reaped.
    inner: Option<Inner>,
    status: Option<ExitStatus>,
}

struct Inner {
    child: std::process::Child,
    exit: ExitWatch,
    kill_on_drop: bool,
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("status", &self.status)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

impl Child {
    pub(crate) fn new(
        mut child: std::process::Child,
        exit: ExitWatch,
        kill_on_drop: bool,
    ) -> io::Result<Child> {
        let mut this = Child { stdin: None, stdout: None, stderr: None, inner: None, status: None };
        // From here on, dropping `this` (on an error below) reaps the child.
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        this.inner = Some(Inner { child, exit, kill_on_drop: true });
        this.stdin = stdin.map(ChildStdin::from_std).transpose()?;
        this.stdout = stdout.map(ChildStdout::from_std).transpose()?;
        this.stderr = stderr.map(ChildStderr::from_std).transpose()?;
        if let Some(inner) = this.inner.as_mut() {
            inner.kill_on_drop = kill_on_drop;
        }
        Ok(this)
    }

    /// The exit watch while the child is unreaped (tests).
    #[cfg(test)]
    pub(crate) fn exit_watch(&self) -> Option<&ExitWatch> {
        self.inner.as_ref().map(|i| &i.exit)
    }

    /// The process id, or `None` once the child has been reaped (the id
    /// may then belong to another process).
    pub fn id(&self) -> Option<u32> {
        self.inner.as_ref().map(|i| i.child.id())
    }

    /// Waits for the child to exit and returns its status. Closes the
    /// child's stdin first (if piped), so a child that reads its input to
    /// the end is not left waiting for more.
    ///
    /// Cancel-safe: dropping the future leaves the child as it was; a
    /// later `wait` goes on waiting.
    #[track_caller]
    pub fn wait(&mut self) -> impl std::future::Future<Output = io::Result<ExitStatus>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::ProcessWait, async move {
            drop(self.stdin.take());
            poll_fn(|cx| self.poll_wait(cx)).await
        })
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        loop {
            if let Some(status) = self.try_wait()? {
                return Poll::Ready(Ok(status));
            }
            let Some(inner) = self.inner.as_mut() else {
                return Poll::Ready(Err(io::Error::other("weft: child has no status and no process")));
            };
            std::task::ready!(inner.exit.poll_notified(cx))?;
        }
    }

    /// The exit status if the child has exited (reaping it), `None` if it
    /// is still running. Does not wait.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let Some(inner) = self.inner.as_mut() else { return Ok(None) };
        match inner.child.try_wait()? {
            Some(status) => {
                self.status = Some(status);
                // Reaped: the exit watch (pidfd or SIGCHLD receiver) is no
                // longer needed, and the pid must not be used again.
                self.inner = None;
                Ok(Some(status))
            }
            None => Ok(None),
        }
    }

    /// Sends `SIGKILL` to the child without waiting for it to exit. Does
    /// nothing if the child was already reaped.
    pub fn start_kill(&mut self) -> io::Result<()> {
        match self.inner.as_mut() {
            Some(inner) => inner.child.kill(),
            None => Ok(()),
        }
    }

    /// Kills the child (`SIGKILL`) and waits for it to exit.
    #[track_caller]
    pub fn kill(&mut self) -> impl std::future::Future<Output = io::Result<()>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::ProcessWait, async move {
            self.start_kill()?;
            self.wait().await.map(drop)
        })
    }

    /// Waits for the child to exit while collecting all of its stdout and
    /// stderr (those that are piped; the others come back empty). Closes
    /// stdin first.
    ///
    /// Both streams are read at the same time, so a child that fills one
    /// pipe while the parent waits on the other does not deadlock. A child
    /// that is killed, or closes its pipes early, ends the reads at end of
    /// stream.
    #[track_caller]
    pub fn wait_with_output(mut self) -> impl std::future::Future<Output = io::Result<Output>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::ProcessWait, async move {
            drop(self.stdin.take());
            let stdout = self.stdout.take();
            let stderr = self.stderr.take();
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let (mut out_done, mut err_done) = (stdout.is_none(), stderr.is_none());
            let out_pipe = stdout.as_ref().map(|s| &s.pipe);
            let err_pipe = stderr.as_ref().map(|s| &s.pipe);
            poll_fn(|cx| {
                // Both pipes on every poll: each must have its waker in place.
                for (pipe, buf, done) in
                    [(out_pipe, &mut out, &mut out_done), (err_pipe, &mut err, &mut err_done)]
                {
                    if let (Some(pipe), false) = (pipe, *done) {
                        match pipe.poll_read_to_end(cx, buf) {
                            Poll::Ready(Ok(())) => *done = true,
                            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                            Poll::Pending => {}
                        }
                    }
                }
                if out_done && err_done {
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                }
            })
            .await?;
            drop((stdout, stderr));
            let status = self.wait().await?;
            Ok(Output { status, stdout: out, stderr: err })
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut inner) = self.inner.take() else { return };
        if let Ok(Some(_)) = inner.child.try_wait() {
            return;
        }
        if inner.kill_on_drop {
            // Best effort: an error here means the process is gone already.
            let _ = inner.child.kill();
        }
        orphan::reap_in_background(inner.child, inner.exit);
    }
}
