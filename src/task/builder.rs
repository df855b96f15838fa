//! `task::Builder`: spawn a task with a name (shown in task dumps) or a
//! scheduling class.

use super::{JoinHandle, Priority};
use crate::loom::sync::StdArc;
use crate::rt::context;
use crate::rt::task::Meta;
use crate::runtime::Handle;
use std::future::Future;
use std::io;
use std::panic::Location;

/// Configures a task before spawning it: its name and its [`Priority`]
/// class.
///
/// A name shows up in [`Handle::dump`](crate::Handle::dump) reports next to
/// the task's spawn location, which is recorded for every task (the caller
/// of `spawn` / `spawn_on`, through `#[track_caller]`).
///
/// A name must be at most [`Builder::MAX_NAME_LEN`] bytes and contain no control
/// characters (so that a dump stays one line per group and bounded in
/// size); otherwise `spawn` returns an `InvalidInput` error and spawns
/// nothing. An empty name is allowed.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// let join = weft::task::Builder::new()
///     .name("conn-handler")
///     .spawn_on(async { 1 + 1 }, rt.handle())
///     .unwrap();
/// assert_eq!(rt.block_on(join).unwrap(), 2);
///
/// // Names with control characters are refused.
/// let bad = weft::task::Builder::new().name("two\nlines").spawn_on(async {}, rt.handle());
/// assert_eq!(bad.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct Builder<'a> {
    name: Option<&'a str>,
    priority: Option<Priority>,
}

impl<'a> Builder<'a> {
    /// The longest name [`Builder::name`] accepts, in bytes.
    pub const MAX_NAME_LEN: usize = 1024;

    /// A builder for an unnamed task.
    pub fn new() -> Builder<'a> {
        Builder { name: None, priority: None }
    }

    /// Names the task (checked when it is spawned; see the type's docs).
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name), ..self }
    }

    /// Sets the task's scheduling class (see [`Priority`]). Without it the
    /// task is `Normal`, or `Background` when spawned from a `Background`
    /// task; a class given here always wins over that inheritance.
    ///
    /// Classes order the runtime's worker queues only: the closure of a
    /// `spawn_blocking` runs on its own OS thread, where no class applies,
    /// and `LocalSet` tasks (which this builder does not spawn) are always
    /// `Normal`.
    ///
    /// ```
    /// use weft::task::{Builder, Priority};
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let compaction = Builder::new()
    ///     .name("compaction")
    ///     .priority(Priority::Background)
    ///     .spawn_on(async { weft::task::current_priority() }, rt.handle())
    ///     .unwrap();
    /// assert_eq!(rt.block_on(compaction).unwrap(), Some(Priority::Background));
    /// ```
    pub fn priority(self, priority: Priority) -> Builder<'a> {
        Builder { priority: Some(priority), ..self }
    }

    /// Spawns the task onto the current runtime (from a task, from inside
    /// `Runtime::block_on`, or after `Runtime::enter`).
    ///
    /// # Errors
    /// `InvalidInput` if the name is longer than [`Builder::MAX_NAME_LEN`] bytes or
    /// contains a control character.
    ///
    /// # Panics
    /// Outside a weft runtime, as [`crate::spawn`] does; use
    /// [`Builder::spawn_on`] with a [`Handle`] there.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let named = weft::task::Builder::new().name("resolver").spawn(async { "done" }).unwrap();
    ///     assert_eq!(named.await.unwrap(), "done");
    ///     let too_long = "x".repeat(weft::task::Builder::MAX_NAME_LEN + 1);
    ///     assert!(weft::task::Builder::new().name(&too_long).spawn(async {}).is_err());
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = self.meta(Location::caller())?;
        let mut future = Some(future);
        let spawned =
            context::with_current(|h| h.map(|h| h.spawn_with(future.take().expect("spawned once"), meta)));
        match spawned {
            Some(join) => Ok(join),
            None => panic!(
                "weft::task::Builder::spawn called outside a weft runtime. Call it from a task, from \
                 inside Runtime::block_on, or after Runtime::enter(); or use Builder::spawn_on with a Handle."
            ),
        }
    }

    /// Spawns the task onto the runtime of `handle`, from any thread.
    ///
    /// # Errors
    /// As [`Builder::spawn`].
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = self.meta(Location::caller())?;
        Ok(handle.inner.spawn_with(future, meta))
    }

    fn meta(&self, spawned_at: &'static Location<'static>) -> io::Result<Meta> {
        let name = match self.name {
            None => None,
            Some(name) => Some(StdArc::from(check_name(name)?)),
        };
        let priority = self.priority.unwrap_or_else(inherited_priority);
        Ok(Meta { spawned_at, name, priority })
    }
}

/// The class of a task spawned without one from this thread: the polled
/// task's, if it passes on (`Priority::inherited`).
pub(crate) fn inherited_priority() -> Priority {
    Priority::inherited(super::current_priority())
}

/// The rule of [`Builder`]'s docs.
fn check_name(name: &str) -> io::Result<&str> {
    const MAX_NAME_LEN: usize = Builder::MAX_NAME_LEN;
    if name.len() > MAX_NAME_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("task name is {} bytes long; at most {MAX_NAME_LEN} are allowed", name.len()),
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("task name {name:?} contains the control character {c:?}; names are shown in task dumps"),
        ));
    }
    Ok(name)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    const MAX_NAME_LEN: usize = Builder::MAX_NAME_LEN;

    #[test]
    fn names_are_checked() {
        assert!(check_name("").is_ok());
        assert!(check_name("conn-handler #3 ü").is_ok());
        assert!(check_name(&"x".repeat(MAX_NAME_LEN)).is_ok());
        let long = check_name(&"x".repeat(MAX_NAME_LEN + 1)).unwrap_err();
        assert_eq!(long.kind(), io::ErrorKind::InvalidInput);
        assert!(long.to_string().contains("1025 bytes"), "{long}");
        for bad in ["a\nb", "tab\there", "nul\0", "esc\u{1b}[31m"] {
            assert_eq!(check_name(bad).unwrap_err().kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}
