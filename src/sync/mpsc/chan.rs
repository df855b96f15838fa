//! The state shared by every handle of one mpsc channel: Go's `hchan`
//! shape, one lock around the buffer and the receiver's waker.
//!
//! Lock-free and locked state are kept apart: [`Chan`] holds the sender
//! count (an atomic) and the bounded channel's capacity semaphore (which
//! has its own synchronisation); [`Synced`] holds everything that is read
//! and written under [`Chan::synced`].
//!
//! Invariants (docs/design/channels.md, "mpsc"):
//! - A message enters `queue` only under the lock. Once `rx_closed` is set
//!   (receiver closed or dropped) a push without a reserved slot fails and
//!   hands the value back; a push through a slot reserved before (bounded
//!   channels: a `Permit`, or a `send` between its acquire and its push)
//!   still succeeds until the receiver is dropped (`rx_dropped`), after
//!   which it fails too (and a permit's value is dropped outside the
//!   lock).
//! - `tx_closed` is set, under the lock, by the sender whose decrement
//!   took the count to zero. The receiver reports the end of the stream
//!   only when it finds `queue` empty *and* (`tx_closed`, or `rx_closed`
//!   with no slot held outside the channel) under the same lock, so every
//!   message pushed before, and every message a reservation made before
//!   the close still sends, is drained first. (A reservation borrows or
//!   owns a sender, so `tx_closed` implies none is held.)
//! - The receiver stores its waker under the lock only after finding
//!   `queue` empty and the channel open, and every push or close takes the
//!   waker under the lock after changing what the receiver checks: a push
//!   can never fall between the receiver's check and its registration
//!   (no lost wake-up). Wakers are woken after the lock is released.
//! - Bounded: every message in the channel (in `queue` or in the
//!   receiver's local batch) and every outstanding reservation holds one
//!   permit of the semaphore; the receiver releases one per message it
//!   hands out, so `capacity` is the room left.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use crate::loom::sync::Mutex;
use crate::sync::batch_semaphore::Semaphore;
use crate::sync::wait_list::WaitList;
use std::collections::VecDeque;
use std::fmt;
use std::task::{Context, Poll, Waker};

/// One channel's shared state.
pub(super) struct Chan<T> {
    pub(super) synced: Mutex<Synced<T>>,
    /// Live senders (`Sender`, `UnboundedSender`, `OwnedPermit` each hold
    /// one). Only its transition to zero matters, and that is acted on
    /// under the lock.
    tx_count: AtomicUsize,
    /// Live weak senders (`WeakSender`, `WeakUnboundedSender`): counted
    /// for `weak_count` only; they keep the channel's memory, not the
    /// channel open.
    weak_count: AtomicUsize,
    /// Bounded channels: the free slots. `None`: unbounded.
    pub(super) sem: Option<Semaphore>,
    /// The bound given to `channel` (0 for unbounded).
    pub(super) bound: usize,
}

/// What is guarded by [`Chan::synced`].
pub(super) struct Synced<T> {
    /// Messages sent and not yet moved to the receiver's local batch.
    pub(super) queue: VecDeque<T>,
    /// The receiver's waker while it waits for a message or the end.
    pub(super) rx_waker: Option<Waker>,
    /// The receiver was closed or dropped: no push without a reserved
    /// slot succeeds any more.
    pub(super) rx_closed: bool,
    /// The receiver was dropped: no push succeeds any more.
    rx_dropped: bool,
    /// Every sender is gone.
    pub(super) tx_closed: bool,
    /// Pending `Sender::closed` futures.
    closed_waiters: WaitList,
}

/// Outcome of a push.
#[must_use]
pub(super) enum Push<T> {
    /// In the queue; the receiver was woken if it waited.
    Sent,
    /// The receiver is gone: the value is handed back.
    Closed(T),
}

impl<T> Chan<T> {
    pub(super) fn new(sem: Option<Semaphore>, bound: usize) -> Chan<T> {
        Chan {
            synced: Mutex::new(Synced {
                queue: VecDeque::new(),
                rx_waker: None,
                rx_closed: false,
                rx_dropped: false,
                tx_closed: false,
                closed_waiters: WaitList::new(),
            }),
            tx_count: AtomicUsize::new(1),
            weak_count: AtomicUsize::new(0),
            sem,
            bound,
        }
    }

    /// Appends `value` unless the receiver is closed or dropped; wakes the
    /// receiver. For pushes that hold no reserved slot (unbounded sends).
    pub(super) fn push(&self, value: T) -> Push<T> {
        self.push_inner(value, false)
    }

    /// Appends `value`, which holds a slot of the bounded channel taken
    /// before the receiver closed (a [`Permit`](super::Permit), or a
    /// `send` between its acquire and its push), unless the receiver was
    /// dropped. After `Receiver::close` such a message is still delivered:
    /// the receiver reports the end only once no slot is held outside the
    /// channel (`RxCore::refill`).
    pub(super) fn push_reserved(&self, value: T) -> Push<T> {
        self.push_inner(value, true)
    }

    fn push_inner(&self, value: T, reserved: bool) -> Push<T> {
        let mut synced = self.synced.lock();
        if synced.rx_dropped || (synced.rx_closed && !reserved) {
            return Push::Closed(value);
        }
        synced.queue.push_back(value);
        let waker = synced.rx_waker.take();
        drop(synced);
        if let Some(w) = waker {
            w.wake();
        }
        Push::Sent
    }

    /// A new sender handle.
    pub(super) fn add_sender(&self) {
        // Relaxed: the caller holds a sender, so the count is above zero
        // and stays so across this increment; nothing is published by it.
        self.tx_count.fetch_add(1, Relaxed);
    }

    /// A new sender handle from a weak one, unless every sender is gone
    /// (then the sending side is closed for good and `false`).
    pub(super) fn try_add_sender(&self) -> bool {
        // Relaxed: as in `add_sender`. The CAS never revives a count that
        // reached zero, so the last drop's close stands; whether an upgrade
        // beats a concurrent last drop is decided by the RMW order alone.
        let mut cur = self.tx_count.load(Relaxed);
        loop {
            if cur == 0 {
                return false;
            }
            match self.tx_count.compare_exchange_weak(cur, cur + 1, Relaxed, Relaxed) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Live (strong) senders now.
    pub(super) fn sender_count(&self) -> usize {
        // Relaxed: a snapshot for the caller.
        self.tx_count.load(Relaxed)
    }

    /// A weak sender was created (`up`) or dropped; returns nothing.
    pub(super) fn weak_changed(&self, up: bool) {
        // Relaxed: a statistic for `weak_count`; nothing depends on it.
        if up {
            self.weak_count.fetch_add(1, Relaxed);
        } else {
            self.weak_count.fetch_sub(1, Relaxed);
        }
    }

    /// Live weak senders now.
    pub(super) fn weak_sender_count(&self) -> usize {
        // Relaxed: a snapshot for the caller.
        self.weak_count.load(Relaxed)
    }

    /// A sender handle is gone; the last one closes the sending side.
    pub(super) fn drop_sender(&self) {
        // Relaxed: the RMW's total order alone decides which drop is the
        // last; what that drop does next (set `tx_closed`) and everything
        // the senders pushed before are ordered by the lock, not by this
        // counter.
        if self.tx_count.fetch_sub(1, Relaxed) != 1 {
            return;
        }
        let mut synced = self.synced.lock();
        synced.tx_closed = true;
        let waker = synced.rx_waker.take();
        drop(synced);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Closes the receiving side (idempotent): pushes fail from now on,
    /// waiting senders and `closed()` futures are woken. With `drain`,
    /// also returns what the queue held (the receiver is being dropped;
    /// the caller drops the messages outside the lock).
    pub(super) fn close_rx(&self, drain: bool) -> VecDeque<T> {
        let mut synced = self.synced.lock();
        synced.rx_closed = true;
        synced.rx_dropped |= drain;
        let waiters = synced.closed_waiters.take_all();
        let (rest, own_waker) = if drain {
            (std::mem::take(&mut synced.queue), synced.rx_waker.take())
        } else {
            (VecDeque::new(), None)
        };
        drop(synced);
        if let Some(sem) = &self.sem {
            sem.close();
        }
        for w in waiters {
            w.wake();
        }
        drop(own_waker);
        rest
    }

    /// Slots of a bounded channel held outside it: by unused reservations
    /// and by sends between their acquire and their push. Exact when the
    /// caller holds the lock and the queue and the receiver's batch are
    /// empty (every other slot is then free); 0 for unbounded channels.
    pub(super) fn slots_held_outside(&self) -> usize {
        self.sem.as_ref().map_or(0, |sem| self.bound.saturating_sub(sem.available_permits()))
    }

    /// A reserved slot was given back unused (a dropped or released
    /// permit), after its permit went back to the semaphore. If the
    /// receiver is closed it may be waiting for the last such slot before
    /// it reports the end: wake it.
    pub(super) fn slot_returned(&self, sem: &Semaphore) {
        // The semaphore is closed together with `rx_closed` (`close_rx`).
        // The release our caller made and the close are RMWs of the same
        // semaphore word, so if this Acquire load misses the close, the
        // close comes after our release in that word's order and the
        // receiver, which reads the permits after closing, sees ours.
        if !sem.is_closed() {
            return;
        }
        let waker = self.synced.lock().rx_waker.take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether the receiver is gone.
    pub(super) fn is_rx_closed(&self) -> bool {
        self.synced.lock().rx_closed
    }

    /// `Ready` once the receiver is gone; otherwise registers `cx`'s
    /// waker under `key`.
    pub(super) fn poll_rx_closed(&self, key: &mut Option<u64>, cx: &mut Context<'_>) -> Poll<()> {
        let mut synced = self.synced.lock();
        if synced.rx_closed {
            return Poll::Ready(());
        }
        synced.closed_waiters.register(key, cx.waker());
        Poll::Pending
    }

    /// A `closed()` future went away while registered.
    pub(super) fn forget_closed_waiter(&self, key: u64) {
        let waker = self.synced.lock().closed_waiters.remove(key);
        drop(waker);
    }

    /// Whether two handles belong to this channel.
    pub(super) fn same(&self, other: &Chan<T>) -> bool {
        std::ptr::eq(self, other)
    }
}

/// Future of `Sender::closed` / `UnboundedSender::closed`: resolves when
/// the receiver is gone. Cancel-safe: a dropped one removes its waker.
pub(super) struct Closed<'a, T> {
    pub(super) chan: &'a Chan<T>,
    pub(super) key: Option<u64>,
}

impl<T> std::future::Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let coop = std::task::ready!(crate::rt::coop::poll_proceed(cx));
        std::task::ready!(this.chan.poll_rx_closed(&mut this.key, cx));
        coop.made_progress();
        this.key = None;
        Poll::Ready(())
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.chan.forget_closed_waiter(key);
        }
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan")
            .field("bound", &self.bound)
            // Relaxed: a diagnostic snapshot.
            .field("senders", &self.tx_count.load(Relaxed))
            .finish_non_exhaustive()
    }
}
