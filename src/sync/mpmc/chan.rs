//! The state shared by every handle of one mpmc channel: Go's `hchan`,
//! one lock around the buffer, the queue of waiting senders (each holding
//! its value) and the queue of waiting receivers (each with a slot a
//! sender can hand a value to).
//!
//! Invariants (docs/design/channels.md, "mpmc"), all under [`Chan::synced`]:
//! 1. A waiting receiver implies nothing to take: `recvq` non-empty ⇒
//!    `buf` and `sendq` empty. A sender hands its value to the oldest
//!    waiting receiver before it considers the buffer; a receiver links
//!    itself only after finding nothing to take; a value given back by a
//!    cancelled receive goes to the next waiting receiver first.
//! 2. Every value is in exactly one place: a send future (before it
//!    registers, or after its value came back), a linked sender node, the
//!    buffer, a receiver node's slot (handed, not yet returned), or the
//!    caller of `recv`/`try_recv`.
//! 3. `buf.len() <= cap`, except for values a cancelled receive gave back
//!    while no receiver waited: they go to the buffer's head even past the
//!    capacity, and senders wait until it is below again.
//! 4. Nodes are read and written only under the lock; a node is linked
//!    only while its future exists (a future's `Drop` unlinks it under the
//!    lock). Whoever unlinks a node sets its final state and takes its
//!    waker in the same critical section, and never touches the node after
//!    unlocking (the owner may free it then).
//! 5. Once `closed` is set no value enters the channel except a value
//!    given back by a cancelled receive (it was sent before); queued
//!    senders get their values back; queued receivers are woken and see
//!    the end once the buffer is drained *and* no value sits handed in a
//!    receiver's slot (`handed == 0`): such a value may still come back
//!    to the buffer, so a receiver that found nothing waits for it. The
//!    receive that takes the last handed value out, or gives it back,
//!    wakes the waiting receivers of a closed channel.

use super::super::list::{Links, List, Node};
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use crate::loom::sync::{Mutex, MutexGuard};
use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomPinned;
use std::ptr::NonNull;
use std::task::Waker;

/// One channel's shared state.
pub(super) struct Chan<T> {
    synced: Mutex<Synced<T>>,
    /// Live `Sender`s; the last one's drop closes the channel.
    senders: AtomicUsize,
    /// Live `Receiver`s; the last one's drop closes the channel and drops
    /// what is buffered.
    receivers: AtomicUsize,
}

/// What is guarded by [`Chan::synced`].
pub(super) struct Synced<T> {
    /// Buffered values (at most `cap` of them, invariant 3).
    pub(super) buf: VecDeque<T>,
    /// The bound given to `channel`; 0 is a rendezvous channel.
    pub(super) cap: usize,
    /// Senders waiting, oldest first, each holding its value.
    sendq: List<SendWaiter<T>>,
    /// Receivers waiting, oldest first (invariant 1).
    recvq: List<RecvWaiter<T>>,
    pub(super) closed: bool,
    /// Values in receivers' slots (`RecvSlot::Handed`), not yet returned
    /// by their futures nor given back (invariant 5).
    pub(super) handed: usize,
}

/// Where a waiting sender's value is.
pub(super) enum SendSlot<T> {
    /// Not registered.
    Idle,
    /// Linked in `sendq`, holding the value.
    Linked(T),
    /// A receiver took the value (or moved it into the buffer): the send
    /// completed.
    Taken,
    /// The channel closed first: the value comes back.
    Closed(T),
}

/// Where a waiting receiver stands.
pub(super) enum RecvSlot<T> {
    /// Not registered.
    Idle,
    /// Linked in `recvq`.
    Linked,
    /// A sender handed it this value (unlinked).
    Handed(T),
    /// The channel closed while it waited (unlinked).
    Closed,
}

/// A waiting sender's node, inside its pinned send future.
pub(super) struct SendWaiter<T> {
    links: UnsafeCell<Links<SendWaiter<T>>>,
    slot: UnsafeCell<(SendSlot<T>, Option<Waker>)>,
    _pin: PhantomPinned,
}

/// A waiting receiver's node, inside its pinned receive future.
pub(super) struct RecvWaiter<T> {
    links: UnsafeCell<Links<RecvWaiter<T>>>,
    slot: UnsafeCell<(RecvSlot<T>, Option<Waker>)>,
    _pin: PhantomPinned,
}

// SAFETY: `links` and `slot` are only accessed under the channel's lock
// (invariant 4); what they hold (a `T`, a `Waker`) is `Send` when `T` is.
unsafe impl<T: Send> Sync for SendWaiter<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for SendWaiter<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for RecvWaiter<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for RecvWaiter<T> {}

// SAFETY: `links` returns the same field for the node's whole life, and
// nothing but `List` touches it.
unsafe impl<T> Node for SendWaiter<T> {
    fn links(&self) -> &UnsafeCell<Links<SendWaiter<T>>> {
        &self.links
    }
}

// SAFETY: as for `SendWaiter`.
unsafe impl<T> Node for RecvWaiter<T> {
    fn links(&self) -> &UnsafeCell<Links<RecvWaiter<T>>> {
        &self.links
    }
}

/// Stores `waker` in a node's waker slot unless it already wakes the same
/// task.
pub(super) fn refresh(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        Some(w) => w.clone_from(waker),
        None => *slot = Some(waker.clone()),
    }
}

impl<T> SendWaiter<T> {
    pub(super) fn new() -> SendWaiter<T> {
        SendWaiter {
            links: UnsafeCell::new(Links::new()),
            slot: UnsafeCell::new((SendSlot::Idle, None)),
            _pin: PhantomPinned,
        }
    }

    /// Runs `f` on the node's state and waker.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the channel the node is (or is about
    /// to be) linked in, `lock` being its guard, and the node is alive.
    pub(super) unsafe fn with<R>(
        &self,
        lock: &Synced<T>,
        f: impl FnOnce(&mut SendSlot<T>, &mut Option<Waker>) -> R,
    ) -> R {
        let _ = lock;
        self.slot.with_mut(|p| {
            // SAFETY: the slot is only touched under that lock (invariant
            // 4), which the caller holds, so this `&mut` is unique.
            let (slot, waker) = unsafe { &mut *p };
            f(slot, waker)
        })
    }
}

impl<T> RecvWaiter<T> {
    pub(super) fn new() -> RecvWaiter<T> {
        RecvWaiter {
            links: UnsafeCell::new(Links::new()),
            slot: UnsafeCell::new((RecvSlot::Idle, None)),
            _pin: PhantomPinned,
        }
    }

    /// As [`SendWaiter::with`].
    ///
    /// # Safety
    ///
    /// As [`SendWaiter::with`].
    pub(super) unsafe fn with<R>(
        &self,
        lock: &Synced<T>,
        f: impl FnOnce(&mut RecvSlot<T>, &mut Option<Waker>) -> R,
    ) -> R {
        let _ = lock;
        self.slot.with_mut(|p| {
            // SAFETY: as in `SendWaiter::with`.
            let (slot, waker) = unsafe { &mut *p };
            f(slot, waker)
        })
    }
}

impl<T> Synced<T> {
    /// Takes the next value for a receiver: the buffer's head (refilling
    /// the buffer from the oldest waiting sender), or, with nothing
    /// buffered, the oldest waiting sender's value (a rendezvous). Returns
    /// the waker of the sender whose value was taken, to wake after
    /// unlocking.
    pub(super) fn take(&mut self) -> Option<(T, Option<Waker>)> {
        if let Some(v) = self.buf.pop_front() {
            let mut waker = None;
            if self.buf.len() < self.cap {
                if let Some((next, w)) = self.take_from_sender() {
                    self.buf.push_back(next);
                    waker = w;
                }
            }
            return Some((v, waker));
        }
        self.take_from_sender()
    }

    /// Unlinks the oldest waiting sender and takes its value.
    fn take_from_sender(&mut self) -> Option<(T, Option<Waker>)> {
        let node = self.sendq.pop_front()?;
        // SAFETY: `node` was linked until now, so its future is alive (it
        // unlinks under this lock before going away); we hold the lock.
        let (value, waker) = unsafe {
            node.as_ref().with(self, |slot, waker| match std::mem::replace(slot, SendSlot::Taken) {
                SendSlot::Linked(v) => (v, waker.take()),
                _ => unreachable!("a sender node in the queue holds its value"),
            })
        };
        Some((value, waker))
    }

    /// Places a sender's value: handed to the oldest waiting receiver, or
    /// appended to the buffer if it has room. Gives it back if neither
    /// (the sender must wait). The caller checked `closed`.
    pub(super) fn offer(&mut self, value: T) -> Result<Option<Waker>, T> {
        if !self.recvq.is_empty() {
            return Ok(self.hand_to_receiver(value));
        }
        if self.buf.len() < self.cap {
            self.buf.push_back(value);
            return Ok(None);
        }
        Err(value)
    }

    /// A value handed to a receive future that was dropped before
    /// returning it: to the next waiting receiver, or back to the head of
    /// the buffer (invariant 3).
    pub(super) fn give_back(&mut self, value: T) -> Option<Waker> {
        if !self.recvq.is_empty() {
            return self.hand_to_receiver(value);
        }
        self.buf.push_front(value);
        None
    }

    fn hand_to_receiver(&mut self, value: T) -> Option<Waker> {
        let node = self.recvq.pop_front().expect("checked non-empty");
        self.handed += 1;
        // SAFETY: as in `take_from_sender`, for a receiver node.
        unsafe {
            node.as_ref().with(self, |slot, waker| {
                *slot = RecvSlot::Handed(value);
                waker.take()
            })
        }
    }

    /// Whether a receiver that found nothing to take sees the end
    /// (invariant 5).
    pub(super) fn is_drained(&self) -> bool {
        self.closed && self.handed == 0
    }

    /// A handed value left its receiver's slot (returned by the future's
    /// poll, or taken out to be given back). If that ends a closed
    /// channel, the waiting receivers' wakers go to `wakers` (they wake
    /// to see the end).
    pub(super) fn handed_out(&mut self, wakers: &mut Vec<Waker>) {
        self.handed -= 1;
        if self.is_drained() && !self.recvq.is_empty() {
            self.wake_receivers(wakers);
        }
    }

    /// Unlinks every waiting receiver, marked `Closed`.
    fn wake_receivers(&mut self, wakers: &mut Vec<Waker>) {
        while let Some(node) = self.recvq.pop_front() {
            // SAFETY: as in `take_from_sender`, for a receiver node.
            let w = unsafe {
                node.as_ref().with(self, |slot, waker| {
                    *slot = RecvSlot::Closed;
                    waker.take()
                })
            };
            wakers.extend(w);
        }
    }

    /// Links a sender's node holding `value`.
    ///
    /// # Safety
    ///
    /// `node` is alive, in no list, and stays at its address until it is
    /// unlinked under this lock (its future is pinned and unlinks in
    /// `Drop`).
    pub(super) unsafe fn link_sender(&mut self, node: &SendWaiter<T>, value: T, waker: &Waker) {
        // SAFETY: we hold the lock; `node` is alive (caller).
        unsafe {
            node.with(self, |slot, w| {
                *slot = SendSlot::Linked(value);
                refresh(w, waker);
            });
            self.sendq.push_back(NonNull::from(node));
        }
    }

    /// Links a receiver's node.
    ///
    /// # Safety
    ///
    /// As [`link_sender`](Self::link_sender).
    pub(super) unsafe fn link_receiver(&mut self, node: &RecvWaiter<T>, waker: &Waker) {
        debug_assert!(self.buf.is_empty() && self.sendq.is_empty(), "invariant 1");
        // SAFETY: we hold the lock; `node` is alive (caller).
        unsafe {
            node.with(self, |slot, w| {
                *slot = RecvSlot::Linked;
                refresh(w, waker);
            });
            self.recvq.push_back(NonNull::from(node));
        }
    }

    /// Unlinks a sender's node that is still linked.
    ///
    /// # Safety
    ///
    /// `node` is linked in this channel's `sendq`.
    pub(super) unsafe fn unlink_sender(&mut self, node: &SendWaiter<T>) {
        // SAFETY: linked here (caller), and we hold the lock.
        unsafe { self.sendq.remove(NonNull::from(node)) }
    }

    /// Unlinks a receiver's node that is still linked.
    ///
    /// # Safety
    ///
    /// `node` is linked in this channel's `recvq`.
    pub(super) unsafe fn unlink_receiver(&mut self, node: &RecvWaiter<T>) {
        // SAFETY: linked here (caller), and we hold the lock.
        unsafe { self.recvq.remove(NonNull::from(node)) }
    }

    /// Closes the channel (invariant 5); `false` if it already was. The
    /// queued futures' wakers go to `wakers`, to wake after unlocking.
    fn close(&mut self, wakers: &mut Vec<Waker>) -> bool {
        if self.closed {
            return false;
        }
        self.closed = true;
        self.wake_receivers(wakers);
        while let Some(node) = self.sendq.pop_front() {
            // SAFETY: as in `take_from_sender`.
            let w = unsafe {
                node.as_ref().with(self, |slot, waker| {
                    if let SendSlot::Linked(v) = std::mem::replace(slot, SendSlot::Idle) {
                        *slot = SendSlot::Closed(v);
                    }
                    waker.take()
                })
            };
            wakers.extend(w);
        }
        true
    }
}

impl<T> Chan<T> {
    pub(super) fn new(cap: usize) -> Chan<T> {
        Chan {
            synced: Mutex::new(Synced {
                buf: VecDeque::with_capacity(cap.min(1024)),
                cap,
                sendq: List::new(),
                recvq: List::new(),
                closed: false,
                handed: 0,
            }),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Synced<T>> {
        self.synced.lock()
    }

    /// Closes the channel; `true` if this call closed it.
    pub(super) fn close(&self) -> bool {
        let mut wakers = Vec::new();
        let closed = self.lock().close(&mut wakers);
        for w in wakers {
            w.wake();
        }
        closed
    }

    pub(super) fn add_sender(&self) {
        // Relaxed: the caller holds a sender, so the count is above zero
        // and stays so; nothing is published by the increment.
        self.senders.fetch_add(1, Relaxed);
    }

    pub(super) fn drop_sender(&self) {
        // Relaxed: the RMW order alone decides which drop is the last;
        // what it does next (close) is ordered by the lock.
        if self.senders.fetch_sub(1, Relaxed) == 1 {
            self.close();
        }
    }

    pub(super) fn add_receiver(&self) {
        // Relaxed: as in `add_sender`.
        self.receivers.fetch_add(1, Relaxed);
    }

    /// The last receiver closes the channel and drops what is buffered
    /// (outside the lock: a value's drop may use this channel).
    pub(super) fn drop_receiver(&self) {
        // Relaxed: as in `drop_sender`.
        if self.receivers.fetch_sub(1, Relaxed) != 1 {
            return;
        }
        let mut wakers = Vec::new();
        let mut synced = self.lock();
        synced.close(&mut wakers);
        let rest = std::mem::take(&mut synced.buf);
        drop(synced);
        for w in wakers {
            w.wake();
        }
        drop(rest);
    }

    pub(super) fn sender_count(&self) -> usize {
        // Relaxed: a snapshot.
        self.senders.load(Relaxed)
    }

    pub(super) fn receiver_count(&self) -> usize {
        // Relaxed: a snapshot.
        self.receivers.load(Relaxed)
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan")
            .field("senders", &self.sender_count())
            .field("receivers", &self.receiver_count())
            .finish_non_exhaustive()
    }
}
