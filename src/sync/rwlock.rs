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
    /// The lock's semaphore; one read permit is held.
    sem: &'a ll::Semaphore,
    /// The data (or, after `map`, a part of it); valid while the permit
    /// is held.
    data: *const T,
    _marker: PhantomData<&'a T>,
}

// SAFETY: the guard is a `&'a T` plus the duty to release a permit of a
// `Sync` semaphore: sending or sharing it shares the `&T` (`T: Sync`).
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: as for `Send`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

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

/// An [`RwLockWriteGuard`] narrowed to a part of the data by
/// [`RwLockWriteGuard::map`]; releases the write lock on drop.
#[must_use = "dropping the guard releases the write lock at once"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    /// The lock's semaphore; every permit is held.
    sem: &'a ll::Semaphore,
    /// Derived from the `&mut` the permits grant; valid while held.
    data: *mut T,
    _marker: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a `&'a mut T` plus the duty to release permits of a
// `Sync` semaphore: sending it sends the `&mut T` (`T: Send`).
unsafe impl<T: ?Sized + Send> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: `&guard` gives only `&T` (`T: Sync`).
unsafe impl<T: ?Sized + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}

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
    #[track_caller]
    pub fn read(&self) -> impl std::future::Future<Output = RwLockReadGuard<'_, T>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::RwLockRead, async move {
            acquired(self.sem.acquire(1).await);
            self.read_guard()
        })
    }

    /// Waits for exclusive access. Cancel-safe.
    #[track_caller]
    pub fn write(&self) -> impl std::future::Future<Output = RwLockWriteGuard<'_, T>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::RwLockWrite, async move {
            acquired(self.sem.acquire(MAX_READS).await);
            RwLockWriteGuard { lock: self, _marker: PhantomData }
        })
    }

    /// Shared access now, if no writer holds or waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(()) => Ok(self.read_guard()),
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

    /// The guard for a read permit just taken.
    fn read_guard(&self) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard { sem: &self.sem, data: self.data.get(), _marker: PhantomData }
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

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// Narrows the guard to a part of the data, keeping the read lock
    /// until the new guard drops. An associated function
    /// (`RwLockReadGuard::map(guard, ..)`), so it does not shadow a method
    /// of `T`.
    ///
    /// ```
    /// use weft::sync::{RwLock, RwLockReadGuard};
    /// let lock = RwLock::new((String::from("name"), 3));
    /// let name: RwLockReadGuard<'_, String> = RwLockReadGuard::map(lock.try_read().unwrap(), |p| &p.0);
    /// assert_eq!(*name, "name");
    /// assert!(lock.try_write().is_err(), "still read-locked");
    /// ```
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data: *const U = f(&*this);
        let sem = this.sem;
        // The permit moves to the new guard.
        std::mem::forget(this);
        RwLockReadGuard { sem, data, _marker: PhantomData }
    }

    /// As [`map`](Self::map), where `f` may decline (`None`): then the
    /// original guard comes back in `Err`.
    ///
    /// ```
    /// use weft::sync::{RwLock, RwLockReadGuard};
    /// let lock = RwLock::new(vec![10, 20]);
    /// let guard = RwLockReadGuard::try_map(lock.try_read().unwrap(), |v| v.get(9)).unwrap_err();
    /// let second = RwLockReadGuard::try_map(guard, |v| v.get(1)).unwrap();
    /// assert_eq!(*second, 20);
    /// ```
    pub fn try_map<U: ?Sized, F>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let data: *const U = match f(&*this) {
            Some(data) => data,
            None => return Err(this),
        };
        let sem = this.sem;
        std::mem::forget(this);
        Ok(RwLockReadGuard { sem, data, _marker: PhantomData })
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the lock's data and a read permit is
        // held, so no writer (which needs every permit) has `&mut T`; the
        // permit's Acquire hand-off made the last writer's writes visible.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.sem.release(1);
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

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Narrows the guard to a part of the data, keeping the write lock
    /// until the mapped guard drops. An associated function.
    ///
    /// ```
    /// use weft::sync::{RwLock, RwLockWriteGuard};
    /// let lock = RwLock::new((0u32, 0u32));
    /// let mut second = RwLockWriteGuard::map(lock.try_write().unwrap(), |p| &mut p.1);
    /// *second = 9;
    /// assert!(lock.try_read().is_err(), "still write-locked");
    /// drop(second);
    /// assert_eq!(*lock.try_read().unwrap(), (0, 9));
    /// ```
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        let lock: &'a RwLock<T> = this.lock;
        // Every permit moves to the mapped guard.
        std::mem::forget(this);
        RwLockMappedWriteGuard { sem: &lock.sem, data, _marker: PhantomData }
    }

    /// As [`map`](Self::map), where `f` may decline (`None`): then the
    /// original guard comes back in `Err`.
    ///
    /// ```
    /// use weft::sync::{RwLock, RwLockWriteGuard};
    /// let lock = RwLock::new(vec![1]);
    /// let guard = RwLockWriteGuard::try_map(lock.try_write().unwrap(), |v| v.get_mut(3)).unwrap_err();
    /// *RwLockWriteGuard::try_map(guard, |v| v.first_mut()).unwrap() = 5;
    /// assert_eq!(*lock.try_read().unwrap(), [5]);
    /// ```
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        let lock: &'a RwLock<T> = this.lock;
        std::mem::forget(this);
        Ok(RwLockMappedWriteGuard { sem: &lock.sem, data, _marker: PhantomData })
    }
}

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    /// Narrows further; see [`RwLockWriteGuard::map`].
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        let sem = this.sem;
        std::mem::forget(this);
        RwLockMappedWriteGuard { sem, data, _marker: PhantomData }
    }

    /// Narrows further if `f` returns `Some`; see
    /// [`RwLockWriteGuard::try_map`].
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        let sem = this.sem;
        std::mem::forget(this);
        Ok(RwLockMappedWriteGuard { sem, data, _marker: PhantomData })
    }
}

impl<T: ?Sized> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` came from the `&mut` of a write guard whose
        // permits this guard now holds: valid and unaliased while we live.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference
        // derived from the guard.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized> Drop for RwLockMappedWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.sem.release(MAX_READS as usize);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockMappedWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
