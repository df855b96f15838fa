//! The errors of the sync primitives.

use std::fmt;

/// [`Semaphore::acquire`](super::Semaphore::acquire) failed: the semaphore
/// was closed.
///
/// ```
/// # weft::Runtime::builder().worker_threads(1).build().unwrap().block_on(async {
/// let sem = weft::sync::Semaphore::new(0);
/// sem.close();
/// let err = sem.acquire().await.unwrap_err();
/// assert_eq!(err.to_string(), "semaphore closed");
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(pub(crate) ());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// [`Semaphore::try_acquire`](super::Semaphore::try_acquire) failed.
///
/// ```
/// use weft::sync::{Semaphore, TryAcquireError};
/// let sem = Semaphore::new(1);
/// let _p = sem.try_acquire().unwrap();
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are available now, or other tasks are already
    /// queued for them (acquisition is FIFO-fair).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl From<super::batch_semaphore::TryAcquireError> for TryAcquireError {
    fn from(e: super::batch_semaphore::TryAcquireError) -> Self {
        match e {
            super::batch_semaphore::TryAcquireError::Closed => TryAcquireError::Closed,
            super::batch_semaphore::TryAcquireError::NoPermits => TryAcquireError::NoPermits,
        }
    }
}

/// [`Mutex::try_lock`](super::Mutex::try_lock) or
/// [`RwLock::try_read`](super::RwLock::try_read) /
/// [`try_write`](super::RwLock::try_write) failed: the lock is held (or
/// others are queued for it).
///
/// ```
/// let m = weft::sync::Mutex::new(1);
/// let _g = m.try_lock().unwrap();
/// assert_eq!(m.try_lock().unwrap_err().to_string(), "lock is held");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(pub(crate) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("lock is held")
    }
}

impl std::error::Error for TryLockError {}
