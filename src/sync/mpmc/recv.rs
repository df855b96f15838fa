//! The receiving half: [`Receiver`] and its [`RecvFuture`].
//!
//! A receive that finds a value (buffered, or held by a waiting sender)
//! takes it under one lock acquisition. Otherwise the future links a node
//! in the channel's receiver queue, and a sender hands its value straight
//! into that node's slot (Go's direct hand-off).

use super::chan::{refresh, Chan, RecvSlot, RecvWaiter};
use super::error::TryRecvError;
use crate::loom::sync::Arc;
use crate::rt::coop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

/// The receiving half of an [`mpmc`](super) channel. Clone it for more
/// consumers: each message goes to exactly one of them.
///
/// ```
/// let (tx, rx) = weft::sync::mpmc::channel(4);
/// let rx2 = rx.clone();
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// assert_eq!(rx2.try_recv(), Ok(1));
/// assert_eq!(rx.try_recv(), Ok(2));
/// ```
pub struct Receiver<T> {
    pub(super) chan: Arc<Chan<T>>,
}

/// Future of [`Receiver::recv`].
///
/// Cancel-safe: a message is taken out of the channel only by the poll
/// that returns it. If a sender handed a message to this future and it is
/// dropped before returning it, the message goes to the next waiting
/// receiver, or back to the head of the buffer.
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    chan: &'a Chan<T>,
    node: RecvWaiter<T>,
    waiting: bool,
}

// SAFETY: the node is `Send` for `T: Send`; the channel is shared through
// `&Chan`, which is `Sync` for `T: Send`.
unsafe impl<T: Send> Send for RecvFuture<'_, T> {}
// SAFETY: no `&self` method touches the node.
unsafe impl<T: Send> Sync for RecvFuture<'_, T> {}

impl<T> Receiver<T> {
    /// Receives the next message, waiting for one; `None` once the
    /// channel is closed and drained. Each message goes to exactly one
    /// receiver. Cancel-safe (see [`RecvFuture`]).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, rx) = weft::sync::mpmc::channel(8);
    ///     let workers: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let rx = rx.clone();
    ///             weft::spawn(async move {
    ///                 let mut n = 0;
    ///                 while let Some(job) = rx.recv().await {
    ///                     n += job;
    ///                 }
    ///                 n
    ///             })
    ///         })
    ///         .collect();
    ///     for job in 1..=100 {
    ///         tx.send(job).await.unwrap();
    ///     }
    ///     drop(tx); // closes the channel: the workers' loops end
    ///     let mut total = 0;
    ///     for w in workers {
    ///         total += w.await.unwrap();
    ///     }
    ///     assert_eq!(total, 5050);
    /// });
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture { chan: &self.chan, node: RecvWaiter::new(), waiting: false }
    }

    /// Takes a message if one is there now (buffered, or held by a
    /// waiting sender), without waiting.
    ///
    /// ```
    /// use weft::sync::mpmc::{channel, TryRecvError};
    /// let (tx, rx) = channel(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(5).unwrap();
    /// tx.close();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut synced = self.chan.lock();
        match synced.take() {
            Some((value, waker)) => {
                drop(synced);
                if let Some(w) = waker {
                    w.wake();
                }
                Ok(value)
            }
            None if synced.is_drained() => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel for everyone, as [`Sender::close`](super::Sender::close).
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed (messages may still be buffered).
    pub fn is_closed(&self) -> bool {
        self.chan.lock().closed
    }

    /// Values buffered now.
    pub fn len(&self) -> usize {
        self.chan.lock().buf.len()
    }

    /// Whether nothing is buffered now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity given to [`channel`](super::channel) (0: rendezvous).
    pub fn capacity(&self) -> usize {
        self.chan.lock().cap
    }

    /// Live senders of this channel.
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// Live receivers of this channel.
    pub fn receiver_count(&self) -> usize {
        self.chan.receiver_count()
    }
}

impl<T> RecvFuture<'_, T> {
    /// Whether a sender handed this future a message it has not returned
    /// yet (for the loom model of the cancel-safety hand-back).
    #[cfg(all(test, loom))]
    pub(crate) fn holds_message(&self) -> bool {
        if !self.waiting {
            return false;
        }
        let synced = self.chan.lock();
        // SAFETY: we hold the lock; the node is ours and alive.
        unsafe { self.node.with(&synced, |slot, _| matches!(slot, RecvSlot::Handed(_))) }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = ready!(coop::poll_proceed(cx));
        // SAFETY: nothing is moved out of the pinned part (the node); the
        // node is only used through `&`, so it keeps its address.
        let this = unsafe { self.get_unchecked_mut() };
        let mut synced = this.chan.lock();
        if this.waiting {
            // SAFETY: we hold the lock; the node is ours and alive.
            let handed = unsafe {
                this.node.with(&synced, |slot, waker| match std::mem::replace(slot, RecvSlot::Idle) {
                    RecvSlot::Handed(v) => Some(Some(v)),
                    RecvSlot::Linked => {
                        // Still queued: by invariant 1 there is nothing
                        // to take.
                        *slot = RecvSlot::Linked;
                        refresh(waker, cx.waker());
                        Some(None)
                    }
                    RecvSlot::Closed | RecvSlot::Idle => None,
                })
            };
            match handed {
                Some(Some(v)) => {
                    let mut wakers = Vec::new();
                    synced.handed_out(&mut wakers);
                    drop(synced);
                    wakers.into_iter().for_each(Waker::wake);
                    this.waiting = false;
                    coop.made_progress();
                    return Poll::Ready(Some(v));
                }
                Some(None) => return Poll::Pending,
                // Woken by `close`: take what is left, else the end.
                None => this.waiting = false,
            }
        }
        if let Some((value, waker)) = synced.take() {
            drop(synced);
            if let Some(w) = waker {
                w.wake();
            }
            coop.made_progress();
            return Poll::Ready(Some(value));
        }
        if synced.is_drained() {
            drop(synced);
            coop.made_progress();
            return Poll::Ready(None);
        }
        // SAFETY: the node is in no list (not waiting), lives in this
        // pinned future and is unlinked under the lock by `Drop` if still
        // linked.
        unsafe { synced.link_receiver(&this.node, cx.waker()) };
        this.waiting = true;
        Poll::Pending
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    /// Unlinks a waiting node, or passes on a message handed to it (to the
    /// next waiting receiver, or back to the buffer's head).
    fn drop(&mut self) {
        if !self.waiting {
            return;
        }
        let mut wakers = Vec::new();
        let mut synced = self.chan.lock();
        // SAFETY: we hold the lock; the node is ours and alive.
        let slot = unsafe { self.node.with(&synced, |slot, _| std::mem::replace(slot, RecvSlot::Idle)) };
        let waker = match slot {
            RecvSlot::Linked => {
                // SAFETY: it was `Linked`, so it is in the receiver queue.
                unsafe { synced.unlink_receiver(&self.node) };
                None
            }
            RecvSlot::Handed(v) => {
                // Given back before the count drops: a closed channel's
                // waiting receivers then see the value, not the end.
                let w = synced.give_back(v);
                synced.handed_out(&mut wakers);
                w
            }
            RecvSlot::Closed | RecvSlot::Idle => None,
        };
        drop(synced);
        if let Some(w) = waker {
            w.wake();
        }
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.add_receiver();
        Receiver { chan: self.chan.clone() }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("chan", &*self.chan).finish()
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").field("waiting", &self.waiting).finish_non_exhaustive()
    }
}
