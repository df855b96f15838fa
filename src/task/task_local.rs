//! Task-local values: [`task_local!`](crate::task_local) declares a key,
//! [`LocalKey::scope`] runs a future with a value bound to it.
//!
//! The value lives inside the scoped future, not in the task. Each poll
//! swaps it into a thread-local slot, polls the inner future, and swaps
//! it back out, so code running inside that poll (on whatever worker the
//! task happens to run) reads it, and code outside never does. The swap
//! back happens in a guard's `Drop`, so a panicking poll restores the
//! outer value too. Nested scopes of one key see the innermost value and
//! restore the outer one when their poll ends.

use crate::loom::thread::StdLocalKey;
use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Declares task-local keys: `static NAME: LocalKey<T>` items whose value
/// is set for the extent of a future with [`LocalKey::scope`] (or of a
/// closure with [`LocalKey::sync_scope`]).
///
/// ```
/// weft::task_local! {
///     /// The id of the request being served.
///     static REQUEST_ID: u64;
///     pub static USER: String;
/// }
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let served = REQUEST_ID.scope(7, async {
///         weft::task::yield_now().await; // survives suspension
///         REQUEST_ID.get()
///     });
///     assert_eq!(weft::spawn(served).await.unwrap(), 7);
///     assert!(REQUEST_ID.try_with(|_| ()).is_err(), "not set outside the scope");
/// });
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_key {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __WEFT_TASK_LOCAL: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey::__new(__WEFT_TASK_LOCAL)
        };
    };
}

/// A key for task-local values of type `T`, declared with
/// [`task_local!`](crate::task_local).
///
/// The value is set only while a future scoped with [`scope`](Self::scope)
/// is being polled (or a closure run with [`sync_scope`](Self::sync_scope)
/// runs). Tasks spawned from inside do not inherit it: scope them again.
pub struct LocalKey<T: 'static> {
    inner: StdLocalKey<RefCell<Option<T>>>,
}

/// The value of a [`LocalKey`] was read outside any scope that sets it.
///
/// ```
/// weft::task_local!(static DEPTH: u32);
/// let err = DEPTH.try_with(|d| *d).unwrap_err();
/// assert!(err.to_string().contains("not set"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessError(());

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set: read it inside LocalKey::scope or sync_scope")
    }
}

impl Error for AccessError {}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(inner: StdLocalKey<RefCell<Option<T>>>) -> LocalKey<T> {
        LocalKey { inner }
    }

    /// Runs `future` with the key set to `value` during each of its polls.
    ///
    /// The returned future owns `value`; it is dropped with that future
    /// (after the inner future, which is dropped inside the scope).
    ///
    /// ```
    /// weft::task_local!(static NAME: &'static str);
    ///
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(NAME.scope("outer", async {
    ///     NAME.scope("inner", async { assert_eq!(NAME.get(), "inner") }).await;
    ///     assert_eq!(NAME.get(), "outer");
    /// }));
    /// ```
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture { key: self, slot: Some(value), future: Some(future), _pinned: PhantomPinned }
    }

    /// Runs `f` with the key set to `value`, and restores the outer value
    /// afterwards (also if `f` panics).
    ///
    /// ```
    /// weft::task_local!(static LIMIT: usize);
    /// let doubled = LIMIT.sync_scope(21, || LIMIT.with(|l| l * 2));
    /// assert_eq!(doubled, 42);
    /// ```
    ///
    /// # Panics
    /// If called inside [`with`](Self::with) of the same key (the value is
    /// borrowed there and cannot be swapped).
    #[track_caller]
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        let mut slot = Some(value);
        self.enter(&mut slot, f)
    }

    /// Swaps `slot` into the thread-local for the duration of `f`.
    #[track_caller]
    fn enter<R>(&'static self, slot: &mut Option<T>, f: impl FnOnce() -> R) -> R {
        /// Swaps the value back out on every exit path, unwinding too.
        struct Restore<'a, T: 'static> {
            key: &'static LocalKey<T>,
            slot: &'a mut Option<T>,
        }
        impl<T: 'static> Drop for Restore<'_, T> {
            fn drop(&mut self) {
                // The swap in succeeded, so the slot exists and no `with`
                // of this key is active now (every borrow taken inside
                // ended with its closure).
                let _ = self.key.inner.try_with(|cell| {
                    if let Ok(mut current) = cell.try_borrow_mut() {
                        std::mem::swap(self.slot, &mut *current);
                    }
                });
            }
        }
        let swapped = self.inner.try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut current) => {
                std::mem::swap(slot, &mut *current);
                Ok(())
            }
            Err(_) => Err("the key is borrowed by an active LocalKey::with"),
        });
        match swapped {
            Ok(Ok(())) => {}
            Ok(Err(why)) => panic!("weft: cannot enter a task-local scope: {why}; end the `with` first"),
            Err(_) => panic!(
                "weft: cannot enter a task-local scope: this thread's task-local storage is being \
                 destroyed (the thread is exiting)"
            ),
        }
        let _restore = Restore { key: self, slot };
        f()
    }

    /// Runs `f` with a reference to the current value.
    ///
    /// ```
    /// weft::task_local!(static TAGS: Vec<&'static str>);
    /// TAGS.sync_scope(vec!["a", "b"], || assert_eq!(TAGS.with(|t| t.len()), 2));
    /// ```
    ///
    /// # Panics
    /// If the key is not set (outside any scope); [`try_with`](Self::try_with)
    /// returns an error instead.
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(_) => panic!(
                "weft: task-local value read outside its scope. Set it with LocalKey::scope (for a \
                 future) or LocalKey::sync_scope (for a closure), or use try_with."
            ),
        }
    }

    /// Runs `f` with a reference to the current value, or returns
    /// [`AccessError`] if the key is not set here.
    ///
    /// ```
    /// weft::task_local!(static ID: u32);
    /// assert!(ID.try_with(|id| *id).is_err());
    /// assert_eq!(ID.sync_scope(3, || ID.try_with(|id| *id)), Ok(3));
    /// ```
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        let mut f = Some(f);
        let r = self.inner.try_with(|cell| {
            // A shared borrow: nested `with`s of one key are fine; only a
            // scope entered inside a `with` conflicts (and panics there).
            let value = cell.try_borrow().ok()?;
            let value = value.as_ref()?;
            Some((f.take().expect("called once"))(value))
        });
        match r {
            Ok(Some(r)) => Ok(r),
            _ => Err(AccessError(())),
        }
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A clone of the current value.
    ///
    /// ```
    /// weft::task_local!(static ROUTE: String);
    /// ROUTE.sync_scope("/health".to_string(), || assert_eq!(ROUTE.get(), "/health"));
    /// ```
    ///
    /// # Panics
    /// If the key is not set.
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

/// A future run with a task-local value set during each of its polls;
/// see [`LocalKey::scope`].
#[must_use = "futures do nothing unless awaited or spawned"]
pub struct TaskLocalFuture<T: 'static, F> {
    key: &'static LocalKey<T>,
    /// The value while the inner future is not being polled (during a
    /// poll it sits in the thread-local and this holds the outer value).
    slot: Option<T>,
    /// `None` once it completed (it is dropped inside the scope then).
    /// Structurally pinned: only ever dropped in place.
    future: Option<F>,
    _pinned: PhantomPinned,
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned (never moved out, only
        // dropped in place through `Pin::set` or with `self`); `key` and
        // `slot` are not pinned and are only swapped, never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let key = this.key;
        let future = &mut this.future;
        key.enter(&mut this.slot, || {
            // SAFETY: `future` lives in the pinned `TaskLocalFuture` and is
            // not moved while it is Some (see above).
            let mut fut = unsafe { Pin::new_unchecked(future) };
            let Some(inner) = fut.as_mut().as_pin_mut() else {
                panic!("weft: TaskLocalFuture polled after it completed");
            };
            let out = inner.poll(cx);
            if out.is_ready() {
                // Dropped here, inside the scope, so its destructor sees
                // the value as its body did.
                fut.set(None);
            }
            out
        })
    }
}

impl<T: 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        if self.future.is_none() {
            return;
        }
        // SAFETY: dropping in place (`Pin::set`) keeps the pinning promise;
        // `self` is not used as pinned after this.
        let mut fut = unsafe { Pin::new_unchecked(&mut self.future) };
        // Drop the inner future inside the scope, as at completion. If the
        // scope cannot be entered here (inside a `with` of this key, or the
        // thread's storage is going away), drop it outside: a destructor
        // must not panic for that.
        let enterable = self.key.inner.try_with(|cell| cell.try_borrow_mut().is_ok()).unwrap_or(false);
        if enterable {
            let key = self.key;
            key.enter(&mut self.slot, || fut.set(None));
        } else {
            fut.set(None);
        }
    }
}

impl<T: 'static + fmt::Debug, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture").field("value", &self.slot).finish_non_exhaustive()
    }
}
