//! The real implementations behind the [`crate::loom`] facade.

pub(crate) mod sync {
    pub(crate) use std::sync::Arc;
    /// For values outside any protocol (the builder's callbacks): always
    /// std's, also under loom.
    pub(crate) use std::sync::Arc as StdArc;
    /// For process-wide statics outside any protocol (the signal driver's
    /// globals, set up once): always std's. Nothing that uses it is built
    /// under loom.
    #[cfg(feature = "signal")]
    pub(crate) use std::sync::OnceLock;
    /// loom's `Arc` has no weak count: only code left out of the loom
    /// build (`context`) uses it.
    #[cfg(all(feature = "sync", feature = "time"))]
    pub(crate) use std::sync::Weak;

    pub(crate) mod atomic {
        /// For process-wide tables outside any protocol (the await-site
        /// table): always std's, so a `static` can hold them.
        pub(crate) use std::sync::atomic::AtomicPtr as StaticAtomicPtr;
        /// For statics outside any protocol (id counters): always std's.
        pub(crate) use std::sync::atomic::AtomicU64 as StaticAtomicU64;
        /// For statistics outside any protocol (task poll counts and times,
        /// read Relaxed by dumps): always std's, so loom models do not
        /// explore them.
        pub(crate) use std::sync::atomic::AtomicU64 as StatAtomicU64;
        pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    }

    /// A mutex without poisoning (parking_lot's), behind the facade's API.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(parking_lot::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Self {
            Mutex(parking_lot::const_mutex(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock()
        }
    }

    /// A reader-writer lock without poisoning (parking_lot's), behind the
    /// facade's API (the `watch` channel's value). Only `sync` uses it.
    #[derive(Debug, Default)]
    #[cfg_attr(not(feature = "sync"), allow(dead_code))]
    pub(crate) struct RwLock<T>(parking_lot::RwLock<T>);

    #[cfg_attr(not(feature = "sync"), allow(dead_code))]
    pub(crate) type RwLockReadGuard<'a, T> = parking_lot::RwLockReadGuard<'a, T>;
    #[cfg_attr(not(feature = "sync"), allow(dead_code))]
    pub(crate) type RwLockWriteGuard<'a, T> = parking_lot::RwLockWriteGuard<'a, T>;

    #[cfg_attr(not(feature = "sync"), allow(dead_code))]
    impl<T> RwLock<T> {
        pub(crate) fn new(value: T) -> Self {
            RwLock(parking_lot::RwLock::new(value))
        }

        pub(crate) fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read()
        }

        pub(crate) fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write()
        }
    }

    /// A condition variable paired with [`Mutex`].
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(parking_lot::Condvar);

    impl Condvar {
        pub(crate) const fn new() -> Self {
            Condvar(parking_lot::Condvar::new())
        }

        pub(crate) fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.wait(&mut guard);
            guard
        }

        /// Waits until notified or until `deadline`; returns the guard and
        /// whether the deadline passed.
        pub(crate) fn wait_until<'a, T>(
            &self,
            mut guard: MutexGuard<'a, T>,
            deadline: std::time::Instant,
        ) -> (MutexGuard<'a, T>, bool) {
            let timed_out = self.0.wait_until(&mut guard, deadline).timed_out();
            (guard, timed_out)
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

pub(crate) mod thread {
    /// For user-declared task-local keys (`task_local!`), which live in
    /// the user's own thread-locals and are part of no protocol: always
    /// std's.
    pub(crate) use std::thread::LocalKey as StdLocalKey;
    pub(crate) use std::thread::{current, Builder, JoinHandle};
}

pub(crate) mod cell {
    /// `std::cell::UnsafeCell` with loom's closure API, so the same code can
    /// be model-checked for concurrent access.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

pub(crate) mod deque {
    pub(crate) use crossbeam_deque::{Injector, Steal, Stealer, Worker};
}

pub(crate) use std::thread_local;
