//! The receiving end shared by [`Receiver`](super::Receiver) and
//! [`UnboundedReceiver`](super::UnboundedReceiver).
//!
//! The receiver keeps a local batch: when it is empty, one lock swaps the
//! whole shared queue into it (the two `VecDeque`s trade places, so no
//! allocation happens in a steady state), and the next messages come out
//! of the batch without touching the lock. Senders thus contend for the
//! lock with the receiver once per batch, not once per message.
//!
//! Bounded channels keep their bound across the swap: a message holds its
//! permit until it leaves the batch (see `chan.rs`).
//!
//! Cancel safety: a message leaves the channel only in the same poll that
//! returns it (`Ready(Some(..))`, or pushed into the caller's `Vec` by
//! `recv_many`), so dropping a pending receive future loses nothing.

use super::chan::Chan;
use super::error::TryRecvError;
use crate::loom::sync::Arc;
use std::collections::VecDeque;
use std::fmt;
use std::task::{Context, Poll};

/// What the shared queue had for the receiver.
enum Refill {
    /// The local batch is not empty now.
    Ready,
    /// Nothing now; the channel is open (the receiver's waker is stored
    /// if one was given).
    Empty,
    /// Nothing and nothing will come.
    Closed,
}

pub(super) struct RxCore<T> {
    pub(super) chan: Arc<Chan<T>>,
    /// Messages taken from the shared queue and not handed out yet.
    local: VecDeque<T>,
}

impl<T> RxCore<T> {
    pub(super) fn new(chan: Arc<Chan<T>>) -> RxCore<T> {
        RxCore { chan, local: VecDeque::new() }
    }

    /// Moves the shared queue into the (empty) local batch. With a
    /// context, registers its waker when there is nothing (under the
    /// same lock as the check: no push can slip between).
    fn refill(&mut self, cx: Option<&mut Context<'_>>) -> Refill {
        debug_assert!(self.local.is_empty());
        let mut synced = self.chan.synced.lock();
        if !synced.queue.is_empty() {
            std::mem::swap(&mut synced.queue, &mut self.local);
            return Refill::Ready;
        }
        // After `close`, a slot reserved before it may still send: the end
        // comes once none is held (the permit's `send` pushes and takes the
        // waker, its drop wakes us through `Chan::slot_returned`).
        if synced.tx_closed || (synced.rx_closed && self.chan.slots_held_outside() == 0) {
            return Refill::Closed;
        }
        if let Some(cx) = cx {
            match &mut synced.rx_waker {
                Some(w) => w.clone_from(cx.waker()),
                slot @ None => *slot = Some(cx.waker().clone()),
            }
        }
        Refill::Empty
    }

    /// Gives `n` handed-out messages' slots back to the senders.
    fn release(&self, n: usize) {
        if let Some(sem) = &self.chan.sem {
            sem.release(n);
        }
    }

    fn pop(&mut self) -> Option<T> {
        let v = self.local.pop_front()?;
        self.release(1);
        Some(v)
    }

    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = std::task::ready!(crate::rt::coop::poll_proceed(cx));
        if self.local.is_empty() {
            match self.refill(Some(cx)) {
                Refill::Ready => {}
                Refill::Empty => return Poll::Pending,
                Refill::Closed => {
                    coop.made_progress();
                    return Poll::Ready(None);
                }
            }
        }
        coop.made_progress();
        Poll::Ready(self.pop())
    }

    pub(super) fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        let coop = std::task::ready!(crate::rt::coop::poll_proceed(cx));
        if self.local.is_empty() {
            match self.refill(Some(cx)) {
                Refill::Ready => {}
                Refill::Empty => return Poll::Pending,
                Refill::Closed => {
                    coop.made_progress();
                    return Poll::Ready(0);
                }
            }
        }
        coop.made_progress();
        let n = limit.min(self.local.len());
        buf.extend(self.local.drain(..n));
        self.release(n);
        Poll::Ready(n)
    }

    pub(super) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if self.local.is_empty() {
            match self.refill(None) {
                Refill::Ready => {}
                Refill::Empty => return Err(TryRecvError::Empty),
                Refill::Closed => return Err(TryRecvError::Disconnected),
            }
        }
        self.pop().ok_or(TryRecvError::Empty)
    }

    pub(super) fn close(&mut self) {
        drop(self.chan.close_rx(false));
    }

    pub(super) fn len(&self) -> usize {
        self.local.len() + self.chan.synced.lock().queue.len()
    }
}

impl<T> Drop for RxCore<T> {
    fn drop(&mut self) {
        // Close first (no push succeeds after this), then drop what was
        // in the queue: every message is dropped exactly once, here or by
        // the sender that got it back. The local batch drops with `self`.
        let rest = self.chan.close_rx(true);
        drop(rest);
    }
}

impl<T> fmt::Debug for RxCore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("chan", &*self.chan).field("batched", &self.local.len()).finish()
    }
}
