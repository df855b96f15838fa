//! The sending half: [`Sender`] and its [`SendFuture`].
//!
//! A send that can complete at once (a receiver waits, or the buffer has
//! room) does so under one lock acquisition. Otherwise the value moves
//! into a node inside the pinned future, linked in the channel's sender
//! queue, where a receiver takes it (invariant 2 in `chan.rs`).

use super::chan::{refresh, Chan, SendSlot, SendWaiter};
use super::error::{SendError, TrySendError};
use crate::loom::sync::Arc;
use crate::rt::coop;
use crate::rt::task::wait::WaitSite;
use crate::rt::task::WaitKind;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// The sending half of an [`mpmc`](super) channel. Clone it for more
/// producers; the channel closes when the last clone is dropped (or on
/// [`close`](Sender::close)).
///
/// ```
/// let (tx, rx) = weft::sync::mpmc::channel(2);
/// let tx2 = tx.clone();
/// tx.try_send(1).unwrap();
/// tx2.try_send(2).unwrap();
/// assert_eq!(tx.len(), 2);
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub struct Sender<T> {
    pub(super) chan: Arc<Chan<T>>,
}

/// Future of [`Sender::send`].
///
/// Cancel safety: dropped before it completes, the value was not
/// delivered and is dropped with the future; a value a receiver already
/// took counts as sent (the future would have returned `Ok`).
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    /// The value until it is placed or linked.
    value: Option<T>,
    node: SendWaiter<T>,
    /// The caller of `send`, for task dumps.
    site: WaitSite,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not polled yet.
    Init,
    /// The node is linked, or was unlinked by a receiver or by `close`.
    Waiting,
    /// Returned `Ready`.
    Done,
}

// SAFETY: the node is `Send` for `T: Send`; the channel is shared through
// `&Chan`, which is `Sync` for `T: Send`.
unsafe impl<T: Send> Send for SendFuture<'_, T> {}
// SAFETY: no `&self` method touches the value or the node.
unsafe impl<T: Send> Sync for SendFuture<'_, T> {}

impl<T> Sender<T> {
    /// Sends `value`: hands it to a waiting receiver, or buffers it, or
    /// waits until one of the two is possible. On a rendezvous channel
    /// (capacity 0) it completes only once a receiver has taken the value.
    /// Fails, giving the value back, if the channel is or becomes closed
    /// before the value was taken.
    ///
    /// Cancel safety: see [`SendFuture`].
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// rt.block_on(async {
    ///     let (tx, rx) = weft::sync::mpmc::channel(0); // rendezvous
    ///     let worker = weft::spawn(async move { rx.recv().await });
    ///     tx.send("job").await.unwrap(); // returns once the worker has it
    ///     assert_eq!(worker.await.unwrap(), Some("job"));
    /// });
    /// ```
    #[track_caller]
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            chan: &self.chan,
            value: Some(value),
            node: SendWaiter::new(),
            state: State::Init,
            site: WaitSite::here(WaitKind::MpmcSend),
        }
    }

    /// Sends `value` if that is possible now: a receiver waits, or the
    /// buffer has room. Otherwise gives it back as `Full` or `Closed`.
    ///
    /// ```
    /// use weft::sync::mpmc::{channel, TrySendError};
    /// let (tx, _rx) = channel(0);
    /// // Nobody is receiving: a rendezvous channel has no room at all.
    /// assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut synced = self.chan.lock();
        if synced.closed {
            return Err(TrySendError::Closed(value));
        }
        match synced.offer(value) {
            Ok(waker) => {
                drop(synced);
                if let Some(w) = waker {
                    w.wake();
                }
                Ok(())
            }
            Err(value) => Err(TrySendError::Full(value)),
        }
    }

    /// Closes the channel for everyone: sends fail from now on (waiting
    /// ones get their values back), receivers get what is buffered, then
    /// `None`. Returns `true` if this call closed it.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpmc::channel(4);
    /// tx.try_send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!rx.close(), "already closed");
    /// assert!(tx.try_send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed.
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

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let site = self.site;
        site.pending(self.poll_send(cx))
    }
}

impl<T> SendFuture<'_, T> {
    fn poll_send(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let coop = ready!(coop::poll_proceed(cx));
        // SAFETY: nothing is moved out of the pinned part (the node); the
        // node is only used through `&`, so it keeps its address.
        let this = unsafe { self.get_unchecked_mut() };
        let out = match this.state {
            State::Init => {
                let value = this.value.take().expect("SendFuture: value present until the first poll");
                let mut synced = this.chan.lock();
                if synced.closed {
                    drop(synced);
                    Poll::Ready(Err(SendError(value)))
                } else {
                    match synced.offer(value) {
                        Ok(waker) => {
                            drop(synced);
                            if let Some(w) = waker {
                                w.wake();
                            }
                            Poll::Ready(Ok(()))
                        }
                        Err(value) => {
                            // SAFETY: the node is in no list (state Init),
                            // lives in this pinned future and is unlinked
                            // under the lock by `Drop` if still linked.
                            unsafe { synced.link_sender(&this.node, value, cx.waker()) };
                            this.state = State::Waiting;
                            return Poll::Pending;
                        }
                    }
                }
            }
            State::Waiting => {
                let synced = this.chan.lock();
                // SAFETY: we hold the lock; the node is ours and alive.
                let out = unsafe {
                    this.node.with(&synced, |slot, waker| match std::mem::replace(slot, SendSlot::Idle) {
                        SendSlot::Linked(v) => {
                            *slot = SendSlot::Linked(v);
                            refresh(waker, cx.waker());
                            Poll::Pending
                        }
                        SendSlot::Taken => Poll::Ready(Ok(())),
                        SendSlot::Closed(v) => Poll::Ready(Err(SendError(v))),
                        SendSlot::Idle => unreachable!("a waiting sender's node is never idle"),
                    })
                };
                drop(synced);
                if out.is_pending() {
                    return Poll::Pending;
                }
                out
            }
            State::Done => panic!("`SendFuture` polled after it completed"),
        };
        this.state = State::Done;
        coop.made_progress();
        out
    }
}

impl<T> Drop for SendFuture<'_, T> {
    /// Unlinks a waiting node; its value (not delivered) is dropped after
    /// the lock is released.
    fn drop(&mut self) {
        if self.state != State::Waiting {
            return;
        }
        let mut synced = self.chan.lock();
        // SAFETY: we hold the lock; the node is ours and alive.
        let (linked, value) = unsafe {
            self.node.with(&synced, |slot, _| match std::mem::replace(slot, SendSlot::Idle) {
                SendSlot::Linked(v) => (true, Some(v)),
                SendSlot::Closed(v) => (false, Some(v)),
                SendSlot::Taken | SendSlot::Idle => (false, None),
            })
        };
        if linked {
            // SAFETY: it was `Linked`, so it is in the sender queue.
            unsafe { synced.unlink_sender(&self.node) };
        }
        drop(synced);
        drop(value);
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("chan", &*self.chan).finish()
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture").field("state", &self.state).finish_non_exhaustive()
    }
}
