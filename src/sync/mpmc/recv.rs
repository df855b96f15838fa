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
use crate::rt::task::wait::WaitSite;
use crate::rt::task::WaitKind;
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
    /// The receive [`poll_recv`](Receiver::poll_recv) keeps between
    /// calls; allocated by the first call that has to wait.
    polled: Option<PolledRecv<T>>,
}

/// A receive waiting across `poll_recv` calls: its node, boxed so that it
/// keeps its address while the `Receiver` moves.
struct PolledRecv<T> {
    node: Pin<Box<RecvWaiter<T>>>,
    waiting: bool,
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
    /// The caller of `recv`, for task dumps.
    site: WaitSite,
}

// SAFETY: the node is `Send` for `T: Send`; the channel is shared through
// `&Chan`, which is `Sync` for `T: Send`.
unsafe impl<T: Send> Send for RecvFuture<'_, T> {}
// SAFETY: no `&self` method touches the node.
unsafe impl<T: Send> Sync for RecvFuture<'_, T> {}

impl<T> Receiver<T> {
    pub(super) fn new(chan: Arc<Chan<T>>) -> Receiver<T> {
        Receiver { chan, polled: None }
    }

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
    #[track_caller]
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            chan: &self.chan,
            node: RecvWaiter::new(),
            waiting: false,
            site: WaitSite::here(WaitKind::MpmcRecv),
        }
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

    /// Polls for the next message: what awaiting [`recv`](Self::recv)
    /// does, with the waiting receive kept in this `Receiver` between
    /// calls instead of in a future. `Ready(None)` once the channel is
    /// closed and drained. This is the receiver's
    /// [`Stream`](crate::stream::Stream) (`poll_next`), so a clone of the
    /// receiver polled as a stream is one consumer among the others.
    ///
    /// Cancel-safe in the same way as `recv`: a message leaves the
    /// channel only in the call that returns it. While this receiver
    /// waits (the last call returned `Pending`) it is in the channel's
    /// queue of receivers like a pending `recv`, so a sender may hand it
    /// a message; the message then waits in the receiver for the next
    /// call, and goes to another receiver (or back to the buffer's head)
    /// if this one is dropped first. Dropping the future of
    /// `StreamExt::next` therefore loses nothing, but a receiver that
    /// stops being polled while it waits keeps the message handed to it
    /// from the other consumers until it is polled again or dropped.
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     let (jobs, queue) = weft::sync::mpmc::channel::<u32>(8);
    ///     let workers: Vec<_> = (0..3)
    ///         .map(|_| weft::spawn(queue.clone().fold(0, |n, job| async move { n + job })))
    ///         .collect();
    ///     drop(queue);
    ///     for job in 1..=100 {
    ///         jobs.send(job).await.unwrap();
    ///     }
    ///     jobs.close(); // every worker's stream ends once the jobs are drained
    ///     let mut total = 0;
    ///     for w in workers {
    ///         total += w.await.unwrap();
    ///     }
    ///     assert_eq!(total, 5050);
    /// });
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let polled = self
            .polled
            .get_or_insert_with(|| PolledRecv { node: Box::pin(RecvWaiter::new()), waiting: false });
        // SAFETY: the node is boxed and pinned, so it keeps its address
        // for as long as the `Receiver` holds it; it is polled only with
        // this channel; `Drop for Receiver` releases it before freeing it.
        unsafe { poll_node(&self.chan, &polled.node, &mut polled.waiting, cx) }
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

impl<T> Receiver<T> {
    /// Whether a sender handed the receive kept by `poll_recv` a message
    /// it has not returned yet (for the loom models of the stream).
    #[cfg(all(test, loom))]
    pub(crate) fn holds_message(&self) -> bool {
        let Some(polled) = &self.polled else { return false };
        if !polled.waiting {
            return false;
        }
        let synced = self.chan.lock();
        // SAFETY: we hold the lock; the node is ours and alive.
        unsafe { polled.node.with(&synced, |slot, _| matches!(slot, RecvSlot::Handed(_))) }
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
        // SAFETY: nothing is moved out of the pinned part (the node); the
        // node is only used through `&`, so it keeps its address.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: the node lives in this pinned future, is polled only
        // with this channel, and `Drop` releases it.
        let poll = unsafe { poll_node(this.chan, &this.node, &mut this.waiting, cx) };
        this.site.pending(poll)
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the node was polled only with this channel.
        unsafe { release_node(self.chan, &self.node, &mut self.waiting) }
    }
}

/// One poll of a receive whose waiter is `node`: takes a value (handed to
/// the node, buffered, or held by a waiting sender), reports the end, or
/// links the node and returns `Pending`. `waiting` says whether the node
/// is registered (linked, or unlinked by a sender or the close and not
/// yet looked at).
///
/// # Safety
///
/// `node` stays at its address until [`release_node`] has run on it, is
/// polled only with `chan`, and `waiting` is the flag of this node alone.
unsafe fn poll_node<T>(
    chan: &Chan<T>,
    node: &RecvWaiter<T>,
    waiting: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<Option<T>> {
    let coop = ready!(coop::poll_proceed(cx));
    let mut synced = chan.lock();
    if *waiting {
        // SAFETY: we hold the lock; the node is alive (caller).
        let handed = unsafe {
            node.with(&synced, |slot, waker| match std::mem::replace(slot, RecvSlot::Idle) {
                RecvSlot::Handed(v) => Some(Some(v)),
                RecvSlot::Linked => {
                    // Still queued: by invariant 1 there is nothing to
                    // take.
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
                *waiting = false;
                coop.made_progress();
                return Poll::Ready(Some(v));
            }
            Some(None) => return Poll::Pending,
            // Woken by `close`: take what is left, else the end.
            None => *waiting = false,
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
    // SAFETY: the node is in no list (not waiting), stays at its address
    // and is unlinked under the lock by `release_node` if still linked
    // (caller).
    unsafe { synced.link_receiver(node, cx.waker()) };
    *waiting = true;
    Poll::Pending
}

/// Ends a receive that will not be polled again: unlinks a waiting node,
/// or passes on a message handed to it (to the next waiting receiver, or
/// back to the buffer's head). The node is idle afterwards.
///
/// # Safety
///
/// `node` was polled (through [`poll_node`]) only with `chan`, and
/// `waiting` is its flag.
unsafe fn release_node<T>(chan: &Chan<T>, node: &RecvWaiter<T>, waiting: &mut bool) {
    if !std::mem::take(waiting) {
        return;
    }
    let mut wakers = Vec::new();
    let mut synced = chan.lock();
    // SAFETY: we hold the lock; the node is alive (caller).
    let slot = unsafe { node.with(&synced, |slot, _| std::mem::replace(slot, RecvSlot::Idle)) };
    let waker = match slot {
        RecvSlot::Linked => {
            // SAFETY: it was `Linked`, so it is in this channel's receiver
            // queue (caller: polled only with `chan`).
            unsafe { synced.unlink_receiver(node) };
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

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.add_receiver();
        Receiver::new(self.chan.clone())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // The stream's receive first: a message handed to it goes back to
        // the channel while this receiver still counts, so the last
        // receiver's drop below drops it with the buffer.
        if let Some(polled) = &mut self.polled {
            // SAFETY: the node was polled only with this channel.
            unsafe { release_node(&self.chan, &polled.node, &mut polled.waiting) };
        }
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
