//! Synchronisation primitives for tasks: [`Semaphore`], [`Notify`],
//! [`Mutex`] and [`RwLock`] (guards can be narrowed with `map`),
//! [`OnceCell`] (async one-time initialisation) and [`Barrier`]; and
//! channels: [`oneshot`], [`mpsc`], [`mpmc`], [`watch`], [`broadcast`].
//!
//! All of them are runtime-independent: their futures work when awaited on
//! weft, on another executor, or in a hand-written `block_on`. They take
//! part in weft's cooperative budget when polled inside a weft task.
//!
//! ```
//! use std::sync::Arc;
//! use weft::sync::{Mutex, Notify};
//!
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     let queue = Arc::new(Mutex::new(Vec::new()));
//!     let ready = Arc::new(Notify::new());
//!     let consumer = {
//!         let (queue, ready) = (queue.clone(), ready.clone());
//!         weft::spawn(async move {
//!             loop {
//!                 if let Some(v) = queue.lock().await.pop() {
//!                     return v;
//!                 }
//!                 ready.notified().await;
//!             }
//!         })
//!     };
//!     queue.lock().await.push(42);
//!     ready.notify_one();
//!     assert_eq!(consumer.await.unwrap(), 42);
//! });
//! ```
//!
//! # Guarantees
//!
//! - No wake-up is lost: a task waiting on a primitive is woken once the
//!   resource it waits for is released or notified.
//! - Cancellation loses nothing: dropping an acquire or lock future gives
//!   back the permits it was assigned, and dropping a `Notified` that
//!   `notify_one` chose passes the notification on.
//! - Waiting allocates nothing: a waiter lives inside its pinned future.
//!
//! # Channels
//!
//! - [`oneshot`]: one value, once (request/reply).
//! - [`mpsc`]: many producers, one consumer; bounded with back-pressure,
//!   or unbounded.
//! - [`mpmc`]: many producers, many consumers, each message to one of
//!   them; bounded, or capacity 0 for a rendezvous (Go's channels).
//! - [`watch`]: one value that changes; receivers see the latest.
//! - [`broadcast`]: every value to every receiver, a bounded ring; slow
//!   receivers skip ahead (`Lagged`).
//!
//! # Cancel safety of the channels
//!
//! | future | dropped before it completes |
//! | --- | --- |
//! | `oneshot::Receiver` | closes the channel (a later `send` gets its value back) |
//! | `oneshot::Sender::closed` | nothing lost |
//! | `mpsc` `recv`, `recv_many` | nothing lost: a message leaves the channel only in the poll that returns it |
//! | `mpsc::Sender::send` | its own value is dropped unsent; no capacity is lost |
//! | `mpmc::Receiver::recv` | nothing lost: a message handed to it goes to another receiver or back to the buffer |
//! | `mpmc::Sender::send` | its value is dropped undelivered, unless a receiver already took it (then it was sent) |
//! | `mpsc::Sender::reserve`, `reserve_owned` | no capacity is lost |
//! | `mpsc` `closed` | nothing lost |
//! | `watch::Receiver::changed` | nothing marked seen |
//! | `watch::Receiver::wait_for` | only the values it already checked are marked seen |
//! | `watch::Sender::closed` | nothing lost |
//! | `broadcast::Receiver::recv` | nothing lost: a position is consumed only in the poll that returns it |

// Shared pieces (crate-private):
// - `batch_semaphore`: permits in one atomic word plus an intrusive FIFO
//   list of waiters under a lock; `Semaphore`, `Mutex` and `RwLock` are
//   thin layers over it (and so is the bounded mpsc channel's
//   back-pressure).
// - `list`: the intrusive waiter list (nodes live inside the pinned
//   futures, so waiting allocates nothing).
// - `wake_list`: wakers collected under a lock, woken after it.
//
// Invariants every primitive here keeps:
// - a waiter node is linked only while its future exists: dropping a
//   future unlinks its node under the lock before the memory goes away;
// - no wake-up is lost: a waiter is registered (linked, waker stored) and
//   the resource re-checked under the same lock that a releaser or
//   notifier takes to serve it;
// - cancellation loses nothing: dropping an acquire future gives back the
//   permits it was assigned, dropping a `Notified` that was chosen by
//   `notify_one` passes the notification on.
//
// The argument is in `docs/design/sync.md`, with a table of which
// operations are cancel-safe.

mod barrier;
pub(crate) mod batch_semaphore;
pub mod broadcast;
mod error;
mod list;
pub mod mpmc;
pub mod mpsc;
mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod rwlock;
mod semaphore;
pub(crate) mod wait_list;
mod wake_list;
pub mod watch;

pub use barrier::{Barrier, BarrierWaitResult};
pub use error::{AcquireError, TryAcquireError, TryLockError};
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, OwnedMutexGuard};
pub use notify::{Notified, Notify};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{RwLock, RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

/// A `const fn` in normal builds, a plain `fn` under loom (whose atomics and
/// locks have no `const` constructors).
macro_rules! maybe_const_fn {
    ($(#[$m:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(all(test, loom)))]
        $(#[$m])* $vis const fn $($rest)*
        #[cfg(all(test, loom))]
        $(#[$m])* $vis fn $($rest)*
    };
}
pub(crate) use maybe_const_fn;
