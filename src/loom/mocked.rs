//! loom's model-checked primitives behind the [`crate::loom`] facade, and a
//! small mutex-based queue with crossbeam-deque's API.
//!
//! crossbeam-deque has no loom support. The mocked queue lets loom explore the
//! protocols *around* the queues (task state, sleep/wake, shutdown, steal vs
//! pop hand-off) while crossbeam stays responsible for the queues themselves.

pub(crate) mod sync {
    pub(crate) use loom::sync::Arc;
    /// For values outside any protocol (the builder's callbacks, which need
    /// unsizing to `dyn Fn`, which loom's `Arc` lacks): always std's.
    pub(crate) use std::sync::Arc as StdArc;

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
        /// For process-wide tables outside any protocol (the await-site
        /// table): always std's, so a `static` can hold them.
        pub(crate) use std::sync::atomic::AtomicPtr as StaticAtomicPtr;
        /// For statics outside any protocol (id counters): always std's.
        pub(crate) use std::sync::atomic::AtomicU64 as StaticAtomicU64;
        /// For statistics outside any protocol (task poll counts and times,
        /// read Relaxed by dumps): always std's, so loom models do not
        /// explore them.
        pub(crate) use std::sync::atomic::AtomicU64 as StatAtomicU64;
    }

    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().expect("loom mutex poisoned")
        }
    }

    #[derive(Debug)]
    pub(crate) struct RwLock<T>(loom::sync::RwLock<T>);

    pub(crate) type RwLockReadGuard<'a, T> = loom::sync::RwLockReadGuard<'a, T>;
    pub(crate) type RwLockWriteGuard<'a, T> = loom::sync::RwLockWriteGuard<'a, T>;

    impl<T> RwLock<T> {
        pub(crate) fn new(value: T) -> Self {
            RwLock(loom::sync::RwLock::new(value))
        }

        pub(crate) fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read().expect("loom rwlock poisoned")
        }

        pub(crate) fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write().expect("loom rwlock poisoned")
        }
    }

    #[derive(Debug)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.wait(guard).expect("loom mutex poisoned")
        }

        /// loom has no clock: a deadline wait is a plain wait.
        pub(crate) fn wait_until<'a, T>(
            &self,
            guard: MutexGuard<'a, T>,
            _deadline: std::time::Instant,
        ) -> (MutexGuard<'a, T>, bool) {
            (self.wait(guard), false)
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
    pub(crate) use loom::thread::{current, Builder, JoinHandle};
    /// For user-declared task-local keys (`task_local!`), which live in
    /// the user's own thread-locals and are part of no protocol: always
    /// std's.
    pub(crate) use std::thread::LocalKey as StdLocalKey;
}

pub(crate) mod cell {
    pub(crate) use loom::cell::UnsafeCell;
}

pub(crate) mod deque {
    //! A mutex-guarded `VecDeque` with the subset of crossbeam-deque's API
    //! that weft uses. Only for loom models.
    use super::sync::{Arc, Mutex};
    use std::collections::VecDeque;

    pub(crate) use crossbeam_deque::Steal;

    #[derive(Debug)]
    pub(crate) struct Worker<T> {
        inner: Arc<Mutex<VecDeque<T>>>,
    }

    #[derive(Debug)]
    pub(crate) struct Stealer<T> {
        inner: Arc<Mutex<VecDeque<T>>>,
    }

    impl<T> Clone for Stealer<T> {
        fn clone(&self) -> Self {
            Stealer { inner: self.inner.clone() }
        }
    }

    impl<T> Worker<T> {
        pub(crate) fn new_fifo() -> Self {
            Worker { inner: Arc::new(Mutex::new(VecDeque::new())) }
        }

        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer { inner: self.inner.clone() }
        }

        pub(crate) fn push(&self, value: T) {
            self.inner.lock().push_back(value);
        }

        pub(crate) fn pop(&self) -> Option<T> {
            self.inner.lock().pop_front()
        }

        pub(crate) fn len(&self) -> usize {
            self.inner.lock().len()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.inner.lock().is_empty()
        }
    }

    fn take_batch<T>(src: &Mutex<VecDeque<T>>, dest: &Worker<T>, limit: usize) -> Steal<T> {
        let mut batch = Vec::new();
        {
            let mut src = src.lock();
            let n = src.len().div_ceil(2).min(limit.max(1));
            for _ in 0..n {
                batch.extend(src.pop_front());
            }
        }
        let mut batch = batch.into_iter();
        match batch.next() {
            None => Steal::Empty,
            Some(first) => {
                for rest in batch {
                    dest.push(rest);
                }
                Steal::Success(first)
            }
        }
    }

    impl<T> Stealer<T> {
        #[allow(dead_code)] // crossbeam's API, kept whole; weft steals in batches
        pub(crate) fn steal(&self) -> Steal<T> {
            match self.inner.lock().pop_front() {
                Some(v) => Steal::Success(v),
                None => Steal::Empty,
            }
        }

        pub(crate) fn steal_batch_with_limit_and_pop(&self, dest: &Worker<T>, limit: usize) -> Steal<T> {
            take_batch(&self.inner, dest, limit)
        }

        pub(crate) fn len(&self) -> usize {
            self.inner.lock().len()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.inner.lock().is_empty()
        }
    }

    #[derive(Debug)]
    pub(crate) struct Injector<T> {
        inner: Mutex<VecDeque<T>>,
    }

    impl<T> Injector<T> {
        pub(crate) fn steal_batch_with_limit(&self, dest: &Worker<T>, limit: usize) -> Steal<()> {
            match take_batch(&self.inner, dest, limit) {
                Steal::Success(first) => {
                    dest.push(first);
                    Steal::Success(())
                }
                Steal::Empty => Steal::Empty,
                Steal::Retry => Steal::Retry,
            }
        }

        pub(crate) fn new() -> Self {
            Injector { inner: Mutex::new(VecDeque::new()) }
        }

        pub(crate) fn push(&self, value: T) {
            self.inner.lock().push_back(value);
        }

        pub(crate) fn steal(&self) -> Steal<T> {
            match self.inner.lock().pop_front() {
                Some(v) => Steal::Success(v),
                None => Steal::Empty,
            }
        }

        pub(crate) fn steal_batch_with_limit_and_pop(&self, dest: &Worker<T>, limit: usize) -> Steal<T> {
            take_batch(&self.inner, dest, limit)
        }

        pub(crate) fn len(&self) -> usize {
            self.inner.lock().len()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.inner.lock().is_empty()
        }
    }
}

/// `loom::thread_local!` that also accepts std's `const { ... }` initializer
/// form (loom's macro does not), so the same declarations compile in both
/// builds. The initializer simply runs lazily under loom.
macro_rules! loom_thread_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }; $($rest:tt)*) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init);
        $crate::loom::thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init);
        $crate::loom::thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init);
    };
}
pub(crate) use loom_thread_local as thread_local;
