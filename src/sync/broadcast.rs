//! A multi-producer, multi-consumer broadcast channel: every receiver
//! sees every value sent after it subscribed, unless it falls more than
//! the capacity behind.
//!
//! Values sit in a ring of `capacity` slots. A receiver that is so slow
//! that its next value was overwritten gets [`RecvError::Lagged`] with the
//! number of values it missed, and continues from the oldest value still
//! kept. Once every sender is gone and a receiver has read everything,
//! it gets [`RecvError::Closed`].
//!
//! ```
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     let (tx, mut rx1) = weft::sync::broadcast::channel(16);
//!     let mut rx2 = tx.subscribe();
//!     tx.send(10).unwrap();
//!     tx.send(20).unwrap();
//!     drop(tx);
//!     for rx in [&mut rx1, &mut rx2] {
//!         assert_eq!(rx.recv().await, Ok(10));
//!         assert_eq!(rx.recv().await, Ok(20));
//!         assert!(rx.recv().await.is_err());
//!     }
//! });
//! ```
//!
//! # Cancel safety
//!
//! [`Receiver::recv`] is cancel-safe: a position is consumed only in the
//! poll that returns its value (or the `Lagged` error).

// Invariants
//
// - `Tail` (under its mutex) holds the next position to write, the
//   receiver count, the closed flag and the waiting receivers. A send
//   holds the tail lock while it writes a slot (under the slot's write
//   lock) and advances the position; locks are always taken tail first,
//   then a slot.
// - Each slot records the position it holds (its version): slot
//   `pos % capacity` holds position `pos` exactly when its recorded
//   position is `pos`. A receiver wanting position `next` reads its slot
//   under the slot's read lock (no tail lock on this fast path); if the
//   slot holds something else, it takes the tail lock: `next == tail`
//   means nothing new (register and wait), `tail - next > capacity`
//   means `next` was overwritten (lagged), otherwise the slot now holds
//   `next` (written since the first look).
// - No lost wake-up: a receiver registers under the tail lock after
//   seeing `next == tail` and not closed; a send advances `tail` and a
//   last sender's drop sets `closed` under the same lock, then wake
//   everyone registered.
// - A value stays in its slot until it is overwritten or the channel is
//   dropped (receivers clone it out).

use crate::loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use crate::loom::sync::{Arc, Mutex, RwLock};
use crate::sync::wait_list::WaitList;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

struct Shared<T> {
    slots: Box<[RwLock<Slot<T>>]>,
    tail: Mutex<Tail>,
    /// Live senders; its drop to zero is acted on under the tail lock.
    tx_count: AtomicUsize,
}

struct Slot<T> {
    /// The position this slot holds (meaningful once `value` is `Some`).
    pos: u64,
    value: Option<T>,
}

struct Tail {
    /// The next position to write.
    pos: u64,
    rx_count: usize,
    /// Every sender is gone.
    closed: bool,
    waiters: WaitList,
}

/// Creates a broadcast channel keeping the last `capacity` values.
///
/// # Panics
///
/// If `capacity` is 0 (a channel that keeps nothing could deliver
/// nothing; use at least 1).
///
/// ```
/// let (tx, mut rx) = weft::sync::broadcast::channel(2);
/// tx.send('a').unwrap();
/// assert_eq!(rx.try_recv(), Ok('a'));
/// ```
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel requires capacity > 0 (use 1 for the smallest ring)");
    let slots = (0..capacity).map(|_| RwLock::new(Slot { pos: 0, value: None })).collect();
    let shared = Arc::new(Shared {
        slots,
        tail: Mutex::new(Tail { pos: 0, rx_count: 1, closed: false, waiters: WaitList::new() }),
        tx_count: AtomicUsize::new(1),
    });
    (Sender { shared: shared.clone() }, Receiver { shared, next: 0 })
}

/// The sending half of a broadcast [`channel`]; clone it for more
/// producers.
///
/// ```
/// let (tx, rx) = weft::sync::broadcast::channel::<u8>(4);
/// assert_eq!(tx.receiver_count(), 1);
/// assert_eq!(tx.send(1), Ok(1), "one receiver got it");
/// drop(rx);
/// assert!(tx.send(2).is_err(), "nobody listens");
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half of a broadcast [`channel`]. Each receiver reads every
/// value independently.
///
/// ```
/// use weft::sync::broadcast::{channel, error::TryRecvError};
/// let (tx, mut rx) = channel(1);
/// tx.send(1).unwrap();
/// tx.send(2).unwrap(); // overwrites 1
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(1)));
/// assert_eq!(rx.try_recv(), Ok(2));
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The next position this receiver reads.
    next: u64,
}

pub mod error {
    //! The errors of [`broadcast`](super) channels.
    use std::fmt;

    /// No receiver is subscribed: the value comes back.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::broadcast::channel(1);
    /// drop(rx);
    /// assert_eq!(tx.send("v").unwrap_err().0, "v");
    /// ```
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    /// Why [`Receiver::recv`](super::Receiver::recv) returned no value.
    ///
    /// ```
    /// use weft::sync::broadcast::{channel, error::RecvError};
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = channel(1);
    ///     tx.send(1).unwrap();
    ///     tx.send(2).unwrap();
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Err(RecvError::Lagged(1)));
    ///     assert_eq!(rx.recv().await, Ok(2));
    ///     assert_eq!(rx.recv().await, Err(RecvError::Closed));
    /// });
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RecvError {
        /// Every sender is gone and every value was read.
        Closed,
        /// This receiver fell behind: this many values were overwritten
        /// before it read them. The next `recv` returns the oldest value
        /// still kept.
        Lagged(u64),
    }

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no
    /// value.
    ///
    /// ```
    /// use weft::sync::broadcast::{channel, error::TryRecvError};
    /// let (tx, mut rx) = channel::<u8>(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// Nothing new; senders are still alive.
        Empty,
        /// Every sender is gone and every value was read.
        Closed,
        /// As [`RecvError::Lagged`].
        Lagged(u64),
    }

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SendError(..)")
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("broadcast channel has no receivers")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("broadcast channel closed"),
                RecvError::Lagged(n) => write!(f, "broadcast receiver lagged behind by {n} values"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("broadcast channel empty"),
                TryRecvError::Closed => f.write_str("broadcast channel closed"),
                TryRecvError::Lagged(n) => write!(f, "broadcast receiver lagged behind by {n} values"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

impl<T> Shared<T> {
    fn slot(&self, pos: u64) -> &RwLock<Slot<T>> {
        &self.slots[(pos % self.slots.len() as u64) as usize]
    }
}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver; returns how many there
    /// are. Fails, giving the value back, if there is none. Never waits:
    /// a slow receiver loses the oldest values instead ([`RecvError::Lagged`]).
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut tail = self.shared.tail.lock();
        if tail.rx_count == 0 {
            return Err(SendError(value));
        }
        let pos = tail.pos;
        let old = {
            let mut slot = self.shared.slot(pos).write();
            slot.pos = pos;
            slot.value.replace(value)
        };
        tail.pos += 1;
        let receivers = tail.rx_count;
        let waiters = tail.waiters.take_all();
        drop(tail);
        for w in waiters {
            w.wake();
        }
        // The overwritten value is dropped outside every lock.
        drop(old);
        Ok(receivers)
    }

    /// A new receiver that will see values sent from now on.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut late = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(late.try_recv(), Ok(2));
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        new_receiver(&self.shared)
    }

    /// Live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.tail.lock().rx_count
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

fn new_receiver<T>(shared: &Arc<Shared<T>>) -> Receiver<T> {
    let mut tail = shared.tail.lock();
    tail.rx_count += 1;
    let next = tail.pos;
    drop(tail);
    Receiver { shared: shared.clone(), next }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        // Relaxed: the caller holds a sender, so the count stays above
        // zero across this increment; nothing is published by it.
        self.shared.tx_count.fetch_add(1, Relaxed);
        Sender { shared: self.shared.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Relaxed: the RMW order alone picks the last sender; what it does
        // next (set `closed`) is ordered by the tail lock.
        if self.shared.tx_count.fetch_sub(1, Relaxed) != 1 {
            return;
        }
        let waiters = {
            let mut tail = self.shared.tail.lock();
            tail.closed = true;
            tail.waiters.take_all()
        };
        for w in waiters {
            w.wake();
        }
    }
}

/// What a receive attempt found.
enum Next<T> {
    Value(T),
    Lagged(u64),
    /// Nothing new (the waker is registered if one was given).
    Empty,
    Closed,
}

impl<T: Clone> Receiver<T> {
    /// Reads position `next`, registering `cx`'s waker under `key` if
    /// nothing is there yet.
    fn next(&mut self, waiter: Option<(&mut Option<u64>, &Context<'_>)>) -> Next<T> {
        let shared = &*self.shared;
        {
            // Fast path: the slot already holds our position.
            let slot = shared.slot(self.next).read();
            if slot.pos == self.next {
                if let Some(v) = &slot.value {
                    let v = v.clone();
                    self.next += 1;
                    return Next::Value(v);
                }
            }
        }
        let mut tail = shared.tail.lock();
        if tail.pos == self.next {
            if tail.closed {
                return Next::Closed;
            }
            if let Some((key, cx)) = waiter {
                tail.waiters.register(key, cx.waker());
            }
            return Next::Empty;
        }
        let cap = shared.slots.len() as u64;
        if tail.pos - self.next > cap {
            let oldest = tail.pos - cap;
            let missed = oldest - self.next;
            self.next = oldest;
            return Next::Lagged(missed);
        }
        // Written since the fast path looked; sends are held off by the
        // tail lock, so the slot holds our position now.
        let slot = shared.slot(self.next).read();
        debug_assert_eq!(slot.pos, self.next);
        let v = slot.value.clone().expect("a written slot holds a value");
        self.next += 1;
        Next::Value(v)
    }

    /// Receives the next value: `Err(Lagged(n))` if `n` values were
    /// overwritten before this receiver read them (the next call returns
    /// the oldest kept), `Err(Closed)` once every sender is gone and
    /// everything was read. Cancel-safe.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = weft::sync::broadcast::channel(4);
    ///     weft::spawn(async move { tx.send("hi").unwrap() });
    ///     assert_eq!(rx.recv().await, Ok("hi"));
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a position in the channel is consumed only in the poll that
    /// returns its value (or the `Lagged` error). If `recv` loses a `select!`,
    /// the next `recv` returns the same value.
    #[track_caller]
    pub fn recv(&mut self) -> impl std::future::Future<Output = Result<T, RecvError>> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::BroadcastRecv, Recv { rx: self, key: None })
    }

    /// Takes the next value if there is one, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.next(None) {
            Next::Value(v) => Ok(v),
            Next::Lagged(n) => Err(TryRecvError::Lagged(n)),
            Next::Empty => Err(TryRecvError::Empty),
            Next::Closed => Err(TryRecvError::Closed),
        }
    }
}

impl<T> Receiver<T> {
    /// A new receiver starting at the current end (it sees values sent
    /// from now on, not the ones this receiver has yet to read).
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut rx2 = rx.resubscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx2.try_recv(), Ok(2));
    /// ```
    pub fn resubscribe(&self) -> Receiver<T> {
        new_receiver(&self.shared)
    }

    /// Values sent and not yet read by this receiver (at most the
    /// capacity; more means it lagged).
    pub fn len(&self) -> usize {
        (self.shared.tail.lock().pos - self.next) as usize
    }

    /// Whether nothing new was sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.tail.lock().rx_count -= 1;
    }
}

/// Future of [`Receiver::recv`].
struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    key: Option<u64>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.rx.poll_recv_keyed(&mut this.key, cx)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.rx.forget_waiter(&mut self.key);
    }
}

impl<T: Clone> Receiver<T> {
    /// One receive attempt for a future or stream that keeps its waiter
    /// slot in `key` between polls (and gives it up with
    /// `forget_waiter` when dropped): `recv`'s future and
    /// `stream::BroadcastStream`.
    pub(crate) fn poll_recv_keyed(
        &mut self,
        key: &mut Option<u64>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, RecvError>> {
        let coop = std::task::ready!(crate::rt::coop::poll_proceed(cx));
        let out = match self.next(Some((key, cx))) {
            Next::Empty => return Poll::Pending,
            Next::Value(v) => Ok(v),
            Next::Lagged(n) => Err(RecvError::Lagged(n)),
            Next::Closed => Err(RecvError::Closed),
        };
        coop.made_progress();
        Poll::Ready(out)
    }
}

impl<T> Receiver<T> {
    /// Removes the waiter registered under `key`, if any.
    pub(crate) fn forget_waiter(&self, key: &mut Option<u64>) {
        if let Some(key) = key.take() {
            let waker = self.shared.tail.lock().waiters.remove(key);
            drop(waker);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver").field("next", &self.next).finish_non_exhaustive()
    }
}
