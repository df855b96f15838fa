//! An async once-cell: a value set at most once, by one initializer at a
//! time.
//!
//! Built on the batch semaphore with one permit. An initializer holds the
//! permit while its (async) init function runs; others queue on the
//! semaphore, FIFO. A successful initializer writes the value, publishes
//! it through `set` (Release), and closes the semaphore *without*
//! returning the permit, which wakes every queued initializer with
//! "closed", meaning "initialized": they read the value (Acquire) and
//! return it. An initializer that fails or is cancelled (its future
//! dropped while the init function runs) returns the permit, and the next
//! one in line tries. The value is written only by the permit's holder and
//! only before `set` becomes true, and never changes again through `&self`,
//! so readers that saw `set` need no lock.

use super::batch_semaphore::{Semaphore, TryAcquireError};
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use std::cell::UnsafeCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;

/// A thread-safe cell written at most once, whose initializer may be
/// async: [`get_or_init`](Self::get_or_init) runs exactly one initializer
/// at a time and every other caller waits for its value.
///
/// - Concurrent callers: one init function runs; the others wait (FIFO)
///   and get its value.
/// - Cancel-safe: if the task running the init function is cancelled (or
///   the init function fails, in [`get_or_try_init`](Self::get_or_try_init)),
///   the next waiting caller runs its own init function.
///
/// ```
/// use weft::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::const_new();
///
/// async fn load_config() -> String {
///     weft::task::yield_now().await; // stands for a real read
///     "port=8080".to_string()
/// }
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let tasks: Vec<_> =
///         (0..4).map(|_| weft::spawn(async { CONFIG.get_or_init(load_config).await.len() })).collect();
///     for t in tasks {
///         assert_eq!(t.await.unwrap(), 9);
///     }
///     assert_eq!(CONFIG.get().map(String::as_str), Some("port=8080"));
/// });
/// ```
pub struct OnceCell<T> {
    /// The value is there. Stored (Release) once, after the value is
    /// written; cleared only through `&mut self`.
    set: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
    /// One permit: the right to initialize. Closed once initialized.
    sem: Semaphore,
}

// SAFETY: the cell owns a `T` (moving the cell moves it): `T: Send`.
unsafe impl<T: Send> Send for OnceCell<T> {}
// SAFETY: through `&OnceCell` one thread may write the `T` (the
// initializer, which may have received the value from another thread:
// `T: Send`) and many may read it at once (`T: Sync`). Writes happen only
// under the semaphore's permit and before `set` is published.
unsafe impl<T: Send + Sync> Sync for OnceCell<T> {}

/// Why [`OnceCell::set`] failed; the value comes back.
///
/// ```
/// use weft::sync::{OnceCell, SetError};
/// let cell = OnceCell::new_with(Some(1));
/// assert!(matches!(cell.set(2), Err(SetError::AlreadyInitializedError(2))));
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// Another caller is initializing it right now.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// Whether the cell already held a value.
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// Whether another caller was initializing the cell.
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }

    /// The value that was not stored.
    pub fn into_inner(self) -> T {
        match self {
            SetError::AlreadyInitializedError(v) | SetError::InitializingError(v) => v,
        }
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("the OnceCell is already initialized"),
            SetError::InitializingError(_) => {
                f.write_str("the OnceCell is being initialized by another caller")
            }
        }
    }
}

impl<T: fmt::Debug> Error for SetError<T> {}

/// Gives the initializing permit back unless disarmed: a failed,
/// panicking or cancelled initializer lets the next one try.
struct InitPermit<'a>(Option<&'a Semaphore>);

impl Drop for InitPermit<'_> {
    fn drop(&mut self) {
        if let Some(sem) = self.0 {
            sem.release(1);
        }
    }
}

impl<T> OnceCell<T> {
    /// An empty cell.
    ///
    /// ```
    /// let cell = weft::sync::OnceCell::<u8>::new();
    /// assert!(!cell.initialized());
    /// ```
    pub fn new() -> OnceCell<T> {
        OnceCell::empty()
    }

    crate::sync::maybe_const_fn! {
        /// An empty cell, as a `const fn` (for a `static`).
        pub fn const_new() -> OnceCell<T> {
            OnceCell::empty()
        }
    }

    crate::sync::maybe_const_fn! {
        fn empty() -> OnceCell<T> {
            OnceCell {
                set: AtomicBool::new(false),
                value: UnsafeCell::new(MaybeUninit::uninit()),
                sem: Semaphore::new(1),
            }
        }
    }

    /// A cell holding `value` if it is `Some`, else empty.
    ///
    /// ```
    /// let cell = weft::sync::OnceCell::new_with(Some("ready"));
    /// assert_eq!(cell.get(), Some(&"ready"));
    /// ```
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(v) = value {
            // Nobody else can see the cell yet, so the permit is free.
            if cell.set(v).is_err() {
                unreachable!("a new OnceCell is neither initialized nor being initialized");
            }
        }
        cell
    }

    /// Whether the cell holds a value.
    pub fn initialized(&self) -> bool {
        // Acquire: pairs with the Release store in `store`, so a caller
        // that sees `true` may read the value.
        self.set.load(Ordering::Acquire)
    }

    /// The value, if the cell holds one. Never waits.
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: `set` is true (Acquire-loaded above), so the value
            // was written before its Release store and is never written
            // again through `&self`.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// The value through `&mut self`, if there is one.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        // Relaxed: `&mut self` excludes every other access.
        if self.set.load(Ordering::Relaxed) {
            // SAFETY: initialized (as in `get`); `&mut self` is exclusive.
            Some(unsafe { self.value.get_mut().assume_init_mut() })
        } else {
            None
        }
    }

    /// Writes the value while holding the permit, publishes it, and
    /// closes the semaphore (keeping the permit), waking every waiter.
    fn store(&self, value: T, mut permit: InitPermit<'_>) -> &T {
        // SAFETY: the caller holds the only permit and `set` is false (the
        // semaphore is not closed, or the permit could not have been
        // taken), so nobody reads or writes the value now.
        unsafe { (*self.value.get()).write(value) };
        // Release: pairs with the Acquire load in `initialized`/`get`,
        // publishing the value just written.
        self.set.store(true, Ordering::Release);
        permit.0 = None;
        self.sem.close();
        self.get().expect("stored just above")
    }

    /// Stores `value` if the cell is empty and nobody is initializing it;
    /// otherwise gives it back in the error.
    ///
    /// ```
    /// let cell = weft::sync::OnceCell::new();
    /// assert!(cell.set(1).is_ok());
    /// assert_eq!(cell.set(2).unwrap_err().into_inner(), 2);
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.sem.try_acquire(1) {
            Ok(()) => {
                self.store(value, InitPermit(Some(&self.sem)));
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(SetError::InitializingError(value)),
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitializedError(value)),
        }
    }

    /// Waits for the right to initialize: `Some(permit)` to run an init
    /// function, `None` when the cell got its value meanwhile.
    async fn acquire_init(&self) -> Option<InitPermit<'_>> {
        match self.sem.acquire(1).await {
            // The semaphore closes only once initialized, and a closing
            // initializer keeps the permit, so holding it means empty.
            Ok(()) => Some(InitPermit(Some(&self.sem))),
            Err(_) => {
                // The acquire may have seen the close through a Relaxed
                // load of the semaphore's word (its fast path), which
                // orders nothing. This Acquire load (`is_closed`) pairs
                // with the Release RMW of `close`, which the initializer
                // made after its Release store of `set`: the value is
                // visible to the caller's `get` from here on.
                let closed = self.sem.is_closed();
                debug_assert!(closed, "acquire fails only on a closed semaphore");
                None
            }
        }
    }

    /// The value, running `f` to produce it if the cell is empty. While an
    /// init function runs, other callers wait for its value. Cancel-safe:
    /// if this future is dropped while `f`'s future runs, the next waiting
    /// caller runs its own `f`.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let cell = weft::sync::OnceCell::new();
    ///     assert_eq!(*cell.get_or_init(|| async { 1 }).await, 1);
    ///     assert_eq!(*cell.get_or_init(|| async { 2 }).await, 1, "not run again");
    /// });
    /// ```
    #[track_caller]
    pub fn get_or_init<F, Fut>(&self, f: F) -> impl Future<Output = &T> + use<'_, T, F, Fut>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        // Only the wait for another caller's init is this call's own; the
        // init future's waits show as what they are.
        let site = crate::rt::task::wait::WaitSite::here(crate::rt::task::WaitKind::OnceCell);
        async move {
            if let Some(v) = self.get() {
                return v;
            }
            match site.wrap(self.acquire_init()).await {
                Some(permit) => {
                    let value = f().await;
                    self.store(value, permit)
                }
                None => self.get().expect("the semaphore closes only once the value is set"),
            }
        }
    }

    /// As [`get_or_init`](Self::get_or_init) with a fallible init
    /// function: on `Err` the cell stays empty, the error is returned, and
    /// the next waiting caller tries its own.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let cell = weft::sync::OnceCell::new();
    ///     let failed = cell.get_or_try_init(|| async { Err::<u32, _>("unreachable") }).await;
    ///     assert!(failed.is_err());
    ///     assert!(!cell.initialized());
    ///     assert_eq!(cell.get_or_try_init(|| async { Ok::<_, &str>(3) }).await, Ok(&3));
    /// });
    /// ```
    #[track_caller]
    pub fn get_or_try_init<E, F, Fut>(
        &self,
        f: F,
    ) -> impl Future<Output = Result<&T, E>> + use<'_, T, E, F, Fut>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        // As in `get_or_init`.
        let site = crate::rt::task::wait::WaitSite::here(crate::rt::task::WaitKind::OnceCell);
        async move {
            if let Some(v) = self.get() {
                return Ok(v);
            }
            match site.wrap(self.acquire_init()).await {
                Some(permit) => {
                    let value = f().await?;
                    Ok(self.store(value, permit))
                }
                None => Ok(self.get().expect("the semaphore closes only once the value is set")),
            }
        }
    }

    /// The value, consuming the cell.
    ///
    /// ```
    /// let cell = weft::sync::OnceCell::new_with(Some(5));
    /// assert_eq!(cell.into_inner(), Some(5));
    /// ```
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Takes the value out, leaving the cell empty (and ready to be
    /// initialized again).
    ///
    /// ```
    /// let mut cell = weft::sync::OnceCell::new_with(Some(5));
    /// assert_eq!(cell.take(), Some(5));
    /// assert!(cell.set(6).is_ok(), "empty again");
    /// ```
    pub fn take(&mut self) -> Option<T> {
        // Relaxed: `&mut self` excludes every other access.
        if !self.set.swap(false, Ordering::Relaxed) {
            return None;
        }
        // `&mut self`: no initializer or waiter exists (they borrow the
        // cell), so a fresh semaphore replaces the closed one.
        self.sem = Semaphore::new(1);
        // SAFETY: the value was initialized (`set` was true) and `set` is
        // now false, so it is read out exactly once.
        Some(unsafe { self.value.get_mut().assume_init_read() })
    }
}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        // Relaxed: `&mut self` excludes every other access.
        if self.set.load(Ordering::Relaxed) {
            // SAFETY: initialized, and dropped once (the cell is going away).
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> Self {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell").field("value", &self.get()).finish()
    }
}
