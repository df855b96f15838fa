//! An async mutex: the batch semaphore with one permit, plus the data.
//!
//! Holding the permit is holding the lock. The data sits in a std
//! `UnsafeCell` (not the loom facade's closure-API cell: guards hand out
//! plain references that live across `.await`s); the semaphore's
//! Release/Acquire hand-off is what orders one holder's writes before the
//! next holder's reads, and the semaphore itself is what the loom models
//! check.

use super::batch_semaphore as ll;
use super::error::TryLockError;
use crate::loom::sync::StdArc as Arc;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

/// A mutual-exclusion lock for data shared between tasks, whose guard may
/// be held across `.await`.
///
/// - **Fair:** waiters get the lock in the order they asked for it
///   (FIFO hand-off: an unlock passes the lock straight to the oldest
///   waiter, and `try_lock` fails while anyone is queued).
/// - **Cancel-safe:** dropping a `lock()` future at any point loses
///   nothing; if the lock had just been handed to it, it passes on.
/// - Uncontended lock and unlock are one atomic read-modify-write each.
/// - Not poisoned by a panic while held (the guard is dropped during
///   unwinding and the lock passes on).
///
/// Prefer `std::sync::Mutex` (or `parking_lot`) when the lock is never held
/// across an `.await`; it is cheaper.
///
/// ```
/// use std::sync::Arc;
/// use weft::sync::Mutex;
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let count = Arc::new(Mutex::new(0));
///     let tasks: Vec<_> = (0..4)
///         .map(|_| {
///             let count = count.clone();
///             weft::spawn(async move {
///                 for _ in 0..100 {
///                     let mut guard = count.lock().await;
///                     weft::task::yield_now().await; // held across an await
///                     *guard += 1;
///                 }
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(*count.lock().await, 400);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    sem: ll::Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex owns a `T` and hands it to one thread at a time, so it
// may move to another thread if `T` may.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: `&Mutex<T>` gives `&mut T` to one holder at a time (the
// semaphore's single permit), which moves the `T` between threads: `T: Send`
// is needed, `T: Sync` is not.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Access to a [`Mutex`]'s data; unlocks on drop.
///
/// ```
/// let m = weft::sync::Mutex::new(String::from("a"));
/// let mut guard = m.try_lock().unwrap();
/// guard.push('b');
/// drop(guard);
/// assert_eq!(m.into_inner(), "ab");
/// ```
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    /// Send iff `T: Send`, Sync iff `T: Sync` (the guard derefs to `&mut T`).
    _marker: PhantomData<&'a mut T>,
}

/// A [`MutexGuard`] that keeps its `Arc<Mutex>` alive instead of borrowing
/// it (can move into a spawned task); unlocks on drop.
///
/// ```
/// use std::sync::Arc;
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let m = Arc::new(weft::sync::Mutex::new(0));
///     let mut guard = m.clone().lock_owned().await;
///     weft::spawn(async move { *guard += 1 }).await.unwrap();
///     assert_eq!(*m.lock().await, 1);
/// });
/// ```
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct OwnedMutexGuard<T: ?Sized> {
    lock: Arc<Mutex<T>>,
    /// Sync iff `T: Sync` (the `Arc` alone would make it Sync for `T: Send`).
    _marker: PhantomData<T>,
}

impl<T> Mutex<T> {
    crate::sync::maybe_const_fn! {
        /// A new, unlocked mutex (a `const fn`, so it can initialise a
        /// `static`).
        pub fn new(value: T) -> Mutex<T> {
            Mutex { sem: ll::Semaphore::new(1), data: UnsafeCell::new(value) }
        }
    }

    /// The data, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future gives up its place in the queue
    /// (or passes the lock on, if it had just been handed to it).
    #[track_caller]
    pub fn lock(&self) -> impl std::future::Future<Output = MutexGuard<'_, T>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::MutexLock, async move {
            acquired(self.sem.acquire(1).await);
            MutexGuard { lock: self, _marker: PhantomData }
        })
    }

    /// Takes the lock if it is free and nobody is queued for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(()) => Ok(MutexGuard { lock: self, _marker: PhantomData }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// [`lock`](Mutex::lock) for an `Arc<Mutex>`: the guard owns a clone of
    /// the `Arc` instead of a borrow.
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> impl std::future::Future<Output = OwnedMutexGuard<T>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::MutexLock, async move {
            acquired(self.sem.acquire(1).await);
            OwnedMutexGuard { lock: self, _marker: PhantomData }
        })
    }

    /// [`try_lock`](Mutex::try_lock) for an `Arc<Mutex>`.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(()) => Ok(OwnedMutexGuard { lock: self, _marker: PhantomData }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// The data, through `&mut self` (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

/// The semaphore of a `Mutex` or `RwLock` is never closed, so acquiring
/// cannot fail.
pub(super) fn acquired(r: Result<(), ll::AcquireError>) {
    if r.is_err() {
        unreachable!("the semaphore of a weft Mutex/RwLock is never closed");
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    /// Shows the data if the lock is free now; never waits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit, so no `&mut T`
        // exists elsewhere; the permit's Acquire hand-off made the previous
        // holder's writes visible.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference
        // derived from the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Narrows the guard to a part of the data (a field, an element),
    /// keeping the lock held until the mapped guard drops. An associated
    /// function (`MutexGuard::map(guard, ..)`), so it does not shadow a
    /// method of `T`.
    ///
    /// ```
    /// use weft::sync::{MappedMutexGuard, Mutex, MutexGuard};
    ///
    /// struct Stats { hits: u64, misses: u64 }
    /// let m = Mutex::new(Stats { hits: 0, misses: 0 });
    /// let mut hits: MappedMutexGuard<'_, u64> = MutexGuard::map(m.try_lock().unwrap(), |s| &mut s.hits);
    /// *hits += 1;
    /// assert!(m.try_lock().is_err(), "still locked");
    /// drop(hits);
    /// assert_eq!(m.try_lock().unwrap().hits, 1);
    /// ```
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        let lock: &'a Mutex<T> = this.lock;
        let sem = &lock.sem;
        // The permit moves to the mapped guard.
        std::mem::forget(this);
        MappedMutexGuard { sem, data, _marker: PhantomData }
    }

    /// As [`map`](Self::map), where `f` may decline (`None`): then the
    /// original guard comes back in `Err`.
    ///
    /// ```
    /// use weft::sync::{Mutex, MutexGuard};
    /// let m = Mutex::new(vec![1, 2]);
    /// let guard = m.try_lock().unwrap();
    /// let guard = MutexGuard::try_map(guard, |v| v.get_mut(5)).unwrap_err();
    /// let first = MutexGuard::try_map(guard, |v| v.first_mut()).unwrap();
    /// assert_eq!(*first, 1);
    /// ```
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        let lock: &'a Mutex<T> = this.lock;
        let sem = &lock.sem;
        std::mem::forget(this);
        Ok(MappedMutexGuard { sem, data, _marker: PhantomData })
    }
}

/// A [`MutexGuard`] narrowed to a part of the data by
/// [`MutexGuard::map`]; unlocks the mutex on drop.
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    /// The semaphore of the locked mutex; one permit is held.
    sem: &'a ll::Semaphore,
    /// Derived from the `&mut` the permit grants; valid while it is held.
    data: *mut T,
    _marker: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a `&'a mut T` plus the duty to release a permit of
// a semaphore that is `Sync`: sending it sends the `&mut T` (`T: Send`).
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: `&guard` gives only `&T` (`T: Sync`).
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// Narrows further; see [`MutexGuard::map`].
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        let sem = this.sem;
        std::mem::forget(this);
        MappedMutexGuard { sem, data, _marker: PhantomData }
    }

    /// Narrows further if `f` returns `Some`; see [`MutexGuard::try_map`].
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        let sem = this.sem;
        std::mem::forget(this);
        Ok(MappedMutexGuard { sem, data, _marker: PhantomData })
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` came from the `&mut` of a guard whose permit this
        // guard now holds, so it is valid and unaliased while we live.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference
        // derived from the guard.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(&self) -> &Arc<Mutex<T>> {
        &self.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: as in `MutexGuard::deref`: the guard holds the permit.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `MutexGuard::deref_mut`.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
