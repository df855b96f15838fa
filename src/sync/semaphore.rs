//! The public counting semaphore, a thin layer over the batch semaphore.

use super::batch_semaphore as ll;
use super::error::{AcquireError, TryAcquireError};
// std's `Arc` in both builds: it is the public receiver type.
use crate::loom::sync::StdArc as Arc;
use std::fmt;

/// A counting semaphore for tasks: permits are acquired asynchronously,
/// one or many at a time, in FIFO order.
///
/// - **Fair:** waiters are served in arrival order. A waiter that wants
///   several permits takes what is released until it has them all; no
///   later waiter (and no `try_acquire`) overtakes it meanwhile.
/// - **Cancel-safe:** dropping an `acquire` future at any point (queued,
///   partly or fully served but not yet polled) gives back every permit it
///   was assigned, to the next waiter first.
/// - **Uncontended cost:** one atomic read-modify-write, no lock, no
///   allocation; a waiting acquire allocates nothing either (its queue node
///   lives inside the future).
/// - Works on any executor; inside a weft task each acquire takes one unit
///   of the cooperative budget.
///
/// ```
/// use std::sync::Arc;
/// use weft::sync::Semaphore;
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     // At most 2 of the 5 tasks inside the critical part at once.
///     let sem = Arc::new(Semaphore::new(2));
///     let tasks: Vec<_> = (0..5)
///         .map(|i| {
///             let sem = sem.clone();
///             weft::spawn(async move {
///                 let _permit = sem.acquire().await.unwrap();
///                 i * 2
///             })
///         })
///         .collect();
///     let mut sum = 0;
///     for t in tasks {
///         sum += t.await.unwrap();
///     }
///     assert_eq!(sum, 20);
///     assert_eq!(sem.available_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    ll: ll::Semaphore,
}

/// Permits borrowed from a [`Semaphore`]; dropping it gives them back.
///
/// ```
/// let sem = weft::sync::Semaphore::new(3);
/// let permit = sem.try_acquire_many(2).unwrap();
/// assert_eq!(permit.num_permits(), 2);
/// assert_eq!(sem.available_permits(), 1);
/// drop(permit);
/// assert_eq!(sem.available_permits(), 3);
/// sem.try_acquire().unwrap().forget(); // gone for good
/// assert_eq!(sem.available_permits(), 2);
/// ```
#[must_use = "dropping the permit gives it back at once"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: u32,
}

/// Permits from an `Arc<Semaphore>`, with no borrow (can be moved into a
/// spawned task); dropping it gives them back.
///
/// ```
/// use std::sync::Arc;
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let sem = Arc::new(weft::sync::Semaphore::new(1));
///     let permit = sem.clone().acquire_owned().await.unwrap();
///     weft::spawn(async move { drop(permit) }).await.unwrap();
///     assert_eq!(sem.available_permits(), 1);
/// });
/// ```
#[must_use = "dropping the permit gives it back at once"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: u32,
}

impl Semaphore {
    /// The most permits a semaphore can hold: `usize::MAX >> 3`.
    pub const MAX_PERMITS: usize = ll::MAX_PERMITS;

    crate::sync::maybe_const_fn! {
        /// A semaphore with `permits` permits (a `const fn`, so it can
        /// initialise a `static`).
        ///
        /// # Panics
        ///
        /// If `permits` is more than [`Semaphore::MAX_PERMITS`]; pass a
        /// smaller count.
        pub fn new(permits: usize) -> Semaphore {
            assert!(
                permits <= ll::MAX_PERMITS,
                "Semaphore::new: more than Semaphore::MAX_PERMITS (usize::MAX >> 3) permits; pass a smaller count"
            );
            Semaphore { ll: ll::Semaphore::new(permits) }
        }
    }

    /// Permits available now (0 while tasks are queued).
    pub fn available_permits(&self) -> usize {
        self.ll.available_permits()
    }

    /// Adds `n` permits: queued waiters are served first, in order.
    ///
    /// # Panics
    ///
    /// If the semaphore would then hold more than
    /// [`Semaphore::MAX_PERMITS`] permits.
    pub fn add_permits(&self, n: usize) {
        self.ll.release(n);
    }

    /// Removes up to `n` available permits for good; returns how many were
    /// removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        self.ll.forget_permits(n)
    }

    /// Waits for one permit. Fails only if the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future gives back anything it was
    /// assigned, and the waiter loses its place in the queue.
    #[track_caller]
    pub fn acquire(
        &self,
    ) -> impl std::future::Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::SemaphoreAcquire, async move {
            self.acquire_many(1).await
        })
    }

    /// Waits for `n` permits (all at once from the caller's point of view;
    /// they may be assigned in parts while it waits at the head of the
    /// queue). `n == 0` succeeds at once unless the semaphore is closed.
    ///
    /// Cancel-safe, as [`acquire`](Semaphore::acquire). A request for more
    /// than [`Semaphore::MAX_PERMITS`] (possible only where `usize` is 32
    /// bits) can never be met and waits until the semaphore is closed.
    #[track_caller]
    pub fn acquire_many(
        &self,
        n: u32,
    ) -> impl std::future::Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::SemaphoreAcquire, async move {
            match self.ll.acquire(n).await {
                Ok(()) => Ok(SemaphorePermit { sem: self, permits: n }),
                Err(ll::AcquireError) => Err(AcquireError(())),
            }
        })
    }

    /// Takes one permit if one is available and nobody is queued.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are available and nobody is queued.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.ll.try_acquire(n)?;
        Ok(SemaphorePermit { sem: self, permits: n })
    }

    /// [`acquire`](Semaphore::acquire) for an `Arc<Semaphore>`: the permit
    /// keeps the semaphore alive and borrows nothing.
    #[track_caller]
    pub fn acquire_owned(
        self: Arc<Self>,
    ) -> impl std::future::Future<Output = Result<OwnedSemaphorePermit, AcquireError>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::SemaphoreAcquire, async move {
            self.acquire_many_owned(1).await
        })
    }

    /// [`acquire_many`](Semaphore::acquire_many) for an `Arc<Semaphore>`.
    #[track_caller]
    pub fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> impl std::future::Future<Output = Result<OwnedSemaphorePermit, AcquireError>> {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::SemaphoreAcquire, async move {
            match self.ll.acquire(n).await {
                Ok(()) => Ok(OwnedSemaphorePermit { sem: self, permits: n }),
                Err(ll::AcquireError) => Err(AcquireError(())),
            }
        })
    }

    /// [`try_acquire`](Semaphore::try_acquire) for an `Arc<Semaphore>`.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Semaphore::try_acquire_many) for an
    /// `Arc<Semaphore>`.
    pub fn try_acquire_many_owned(self: Arc<Self>, n: u32) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.ll.try_acquire(n)?;
        Ok(OwnedSemaphorePermit { sem: self, permits: n })
    }

    /// Closes the semaphore: queued acquires complete with
    /// [`AcquireError`], and so do later ones. Permits already held stay
    /// valid, and dropping them still adds to `available_permits`.
    pub fn close(&self) {
        self.ll.close();
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.ll.is_closed()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.ll, f)
    }
}

impl SemaphorePermit<'_> {
    /// Keeps the permits out of the semaphore for good (they are not given
    /// back on drop).
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.ll.release(self.permits as usize);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").field("permits", &self.permits).finish()
    }
}

impl OwnedSemaphorePermit {
    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.ll.release(self.permits as usize);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit").field("permits", &self.permits).finish()
    }
}
