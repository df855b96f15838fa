//! `JoinError`: why a task produced no output.

use super::Id;
use std::any::Any;
use std::fmt;
use std::io;

/// One word: the payload's fat box sits behind a thin one, so a
/// `JoinError` is two words and a finished small task's stage stays small
/// (docs/design/task.md, "Cell size"); a panic costs one allocation more.
enum Repr {
    Cancelled,
    #[allow(clippy::box_collection)]
    Panic(Box<Box<dyn Any + Send + 'static>>),
}

/// A task was cancelled (aborted, or the runtime shut down) or panicked.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let crashed = weft::spawn(async { panic!("boom") }).await.unwrap_err();
///     assert!(crashed.is_panic());
///     let payload = crashed.into_panic();
///     assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
///
///     let stuck = weft::spawn(std::future::pending::<()>());
///     let id = stuck.id();
///     stuck.abort();
///     let cancelled = stuck.await.unwrap_err();
///     assert!(cancelled.is_cancelled() && cancelled.id() == id);
///     assert!(cancelled.try_into_panic().is_err()); // no payload: handed back
/// });
/// ```
pub struct JoinError {
    repr: Repr,
    id: Id,
}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError { repr: Repr::Cancelled, id }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError { repr: Repr::Panic(Box::new(payload)), id }
    }

    /// True if the task was cancelled by `abort` or by runtime shutdown.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload. Panics if the task was cancelled rather than
    /// panicked; use [`JoinError::try_into_panic`] to check first.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancelled task's error; check is_panic() first")
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(*p),
            Repr::Cancelled => Err(self),
        }
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        self.id
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(p) => match panic_message(&***p) {
                Some(msg) => write!(f, "task {} panicked with message {:?}", self.id, msg),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({})", self.id),
            Repr::Panic(p) => match panic_message(&***p) {
                Some(msg) => write!(f, "JoinError::Panic({}, {:?})", self.id, msg),
                None => write!(f, "JoinError::Panic({}, ..)", self.id),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(err: JoinError) -> io::Error {
        io::Error::other(err.to_string())
    }
}
