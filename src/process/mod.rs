//! Child processes with their pipes on the netpoller: [`Command`] and
//! [`Child`], in the shape of `std::process` and tokio's `process`.
//!
//! - Piped stdin, stdout and stderr ([`Stdio::piped()`]) are non-blocking
//!   pipes registered with the runtime's netpoller, read and written with
//!   inherent `async` methods or through `futures_io::AsyncRead` /
//!   `AsyncWrite` (and tokio's I/O traits with the `tokio-io` feature).
//! - The child's exit is seen through a pidfd on the netpoller where the
//!   kernel has `pidfd_open` (Linux 5.3 and later), and through `SIGCHLD`
//!   ([`crate::signal`]) elsewhere; no thread blocks in `waitpid`.
//! - No zombie is left behind: a [`Child`] dropped before it was reaped is
//!   reaped in the background once it exits (and killed first if
//!   [`Command::kill_on_drop`] is set).
//! - Commands must be spawned inside a runtime (in a task, in `block_on`,
//!   or under `Handle::enter`).
//!
//! ```
//! use weft::process::{Command, Stdio};
//!
//! let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
//! rt.block_on(async {
//!     // Capture the output of a command.
//!     let out = Command::new("sh").arg("-c").arg("echo hello; echo oops >&2").output().await.unwrap();
//!     assert!(out.status.success());
//!     assert_eq!(out.stdout, b"hello\n");
//!     assert_eq!(out.stderr, b"oops\n");
//!
//!     // Feed a child's stdin and read its stdout.
//!     let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
//!     let mut stdin = cat.stdin.take().unwrap();
//!     stdin.write_all(b"through a pipe").await.unwrap();
//!     drop(stdin); // end of input: `cat` exits
//!     let out = cat.wait_with_output().await.unwrap();
//!     assert_eq!(out.stdout, b"through a pipe");
//! });
//! ```

mod child;
mod exit;
mod orphan;
mod pipe;
#[cfg(test)]
mod tests;
#[cfg(feature = "tokio-io")]
mod tokio_io;

pub use child::Child;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
/// How a child's stdin, stdout or stderr is set up: `Stdio::piped()`,
/// `Stdio::inherit()`, `Stdio::null()`, or a file descriptor. The
/// standard library's type, as in tokio.
pub use std::process::Stdio;

use exit::{ExitMode, ExitWatch};
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output};

/// A process to spawn: program, arguments, environment, working
/// directory and stdio, as in `std::process::Command`, whose builder
/// methods these mirror.
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    stdin_set: bool,
    exit_mode: ExitMode,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command").field("std", &self.std).field("kill_on_drop", &self.kill_on_drop).finish()
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command { std, kill_on_drop: false, stdin_set: false, exit_mode: ExitMode::Auto }
    }
}

impl Command {
    /// A command that runs `program` (looked up in `PATH` if it has no
    /// slash), with no arguments, the parent's environment and working
    /// directory, and inherited stdio.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts from an empty environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets up the child's stdin.
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Sets up the child's stdout.
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// Sets up the child's stderr.
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Kill the child (`SIGKILL`) when its [`Child`] is dropped before the
    /// child was reaped. Off by default: a dropped child goes on running
    /// (and is reaped in the background when it exits), as in std and
    /// tokio.
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The standard-library command inside, for settings this type does
    /// not mirror (`std::os::unix::process::CommandExt`: `uid`, `gid`,
    /// `process_group`, `arg0`, ...).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// The standard-library command inside.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// Tests: observe exit through `SIGCHLD` even where pidfd works.
    #[cfg(test)]
    pub(crate) fn force_sigchld(&mut self) -> &mut Command {
        self.exit_mode = ExitMode::Sigchld;
        self
    }

    /// Starts the process.
    ///
    /// Errors: the program cannot be found or run (as from std), or the
    /// call is made outside a runtime (then no process is started).
    pub fn spawn(&mut self) -> io::Result<Child> {
        if crate::rt::context::current_io_driver().is_none() {
            return Err(crate::rt::netpoll::registration::no_runtime_error());
        }
        // Every spawn sweeps the children nobody waits for (orphan.rs).
        orphan::reap_orphans();
        // In SIGCHLD mode the receiver is created before the process
        // exists, so not even the first exit notification can be missed.
        let sigchld_first = match self.exit_mode {
            ExitMode::Sigchld => Some(ExitWatch::new(0, ExitMode::Sigchld)?),
            ExitMode::Auto => None,
        };
        let child = self.std.spawn()?;
        let exit = match sigchld_first {
            Some(watch) => Ok(watch),
            None => ExitWatch::new(child.id(), ExitMode::Auto),
        };
        match exit {
            Ok(exit) => Child::new(child, exit, self.kill_on_drop),
            Err(e) => {
                // No way to watch it: kill it, and let the orphan sweep
                // reap it.
                let mut child = child;
                let _ = child.kill();
                orphan::adopt(child);
                Err(e)
            }
        }
    }

    /// Spawns the process with stdin, stdout and stderr inherited unless
    /// set otherwise, and waits for its exit status.
    #[track_caller]
    pub fn status(&mut self) -> impl std::future::Future<Output = io::Result<ExitStatus>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::ProcessWait, async move {
            let mut child = self.spawn()?;
            child.wait().await
        })
    }

    /// Spawns the process with stdout and stderr piped and collected, and
    /// stdin from `/dev/null` unless set otherwise, and waits for it to
    /// exit. Like tokio's, it changes this `Command`: stdout and stderr
    /// stay piped (and stdin null, if it was not set) for later spawns.
    #[track_caller]
    pub fn output(&mut self) -> impl std::future::Future<Output = io::Result<Output>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::ProcessWait, async move {
            self.std.stdout(Stdio::piped());
            self.std.stderr(Stdio::piped());
            if !self.stdin_set {
                self.std.stdin(Stdio::null());
            }
            let child = self.spawn()?;
            child.wait_with_output().await
        })
    }
}
