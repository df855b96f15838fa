//! An async reader-writer lock on the batch semaphore: a reader holds one
//! of `MAX_READS` permits, a writer holds all of them. FIFO fairness comes
//! from the semaphore: a queued writer takes the permits readers give back
//! (partial assignment at the head of the queue) and no later reader jumps
//! it, so writers do not starve.

use super::batch_semaphore as ll;
use super::error::TryLockError;
use super::mutex::acquired;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

/// Concurrent readers at most (and the permits a writer takes).
const MAX_READS: u32 = u32::MAX >> 3;

/// A reader-writer lock for tasks: many readers or one writer, granted in
/// FIFO order; guards may be held across `.await`.
///
/// Cancel-safe like [`Mutex`](super::Mutex): dropping a `read()` or
/// `write()` future at any point loses nothing (a writer that was partly
/// served gives its permits back, to the next in line first).
///
/// ```
/// use weft::sync::RwLock;
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let lock = RwLock::new(vec![1, 2]);
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await; // readers share
///         assert_eq!(r1.len() + r2.len(), 4);
///         assert!(lock.try_write().is_err());
///     }
///     lock.write().await.push(3);
///     assert_eq!(lock.into_inner(), vec![1, 2, 3]);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    sem: ll::Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the lock owns a `T`; moving the lock moves the `T`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: `&RwLock<T>` gives `&T` to many threads at once (needs `T: Sync`)
// and `&mut T` to one at a time (moves it: needs `T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// Shared access to an [`RwLock`]'s data; releases on drop.
///
/// ```
/// let lock = weft::sync::RwLock::new(1);
/// let (a, b) = (lock.try_read().unwrap(), lock.try_read().unwrap());
/// assert_eq!(*a + *b, 2);
/// ```
#[must_use = "dropping the guard releases the read lock at once"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _marker: PhantomData<&'a T>,
}

/// Exclusive access to an [`RwLock`]'s data; releases on drop.
///
/// ```
/// let lock = weft::sync::RwLock::new(1);
/// *lock.try_write().unwrap() += 1;
/// assert_eq!(*lock.try_read().unwrap(), 2);
/// ```
#[must_use = "dropping the guard releases the write lock at once"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _marker: PhantomData<&'a mut T>,
}

impl<T> RwLock<T> {
    crate::sync::maybe_const_fn! {
        /// A new, unlocked lock (a `const fn`).
        pub fn new(value: T) -> RwLock<T> {
            RwLock { sem: ll::Semaphore::new(MAX_READS as usize), data: UnsafeCell::new(value) }
        }
    }

    /// The data, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared access. Cancel-safe.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        acquired(self.sem.acquire(1).await);
        RwLockReadGuard { lock: self, _marker: PhantomData }
    }

    /// Waits for exclusive access. Cancel-safe.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        acquired(self.sem.acquire(MAX_READS).await);
        RwLockWriteGuard { lock: self, _marker: PhantomData }
    }

    /// Shared access now, if no writer holds or waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(()) => Ok(RwLockReadGuard { lock: self, _marker: PhantomData }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Exclusive access now, if nobody holds or waits for the lock.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(MAX_READS) {
            Ok(()) => Ok(RwLockWriteGuard { lock: self, _marker: PhantomData }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// The data, through `&mut self` (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    /// Shows the data if a read lock is available now; never waits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read permit is held, so no writer (which needs every
        // permit) has `&mut T`; the permit's Acquire hand-off made the last
        // writer's writes visible.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: every permit is held: no other guard exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: every permit is held, and `&mut self` makes this the only
        // reference derived from the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release(MAX_READS as usize);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
