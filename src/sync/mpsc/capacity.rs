//! The bounded channel's free-slot counter: a small FIFO semaphore with
//! the API of `crate::sync::batch_semaphore::Semaphore` (`acquire(n)`,
//! `try_acquire(n)`, `release(n)`, `close`, `available_permits`), so the
//! channel can switch to the shared semaphore by changing one `use`.
//!
//! Everything is under one mutex (its own, not the channel's): the count,
//! the closed flag, the FIFO queue of waiting acquirers and the ids of
//! acquirers that were handed their permits but have not yet seen it.
//! `release` hands permits to the queue's head first (nobody jumps the
//! queue) and wakes exactly the acquirers it served, after unlocking.
//!
//! Cancel safety: a dropped `Acquire` that was already handed its
//! permits gives them back (to the next waiter); one still queued leaves
//! the queue.

use crate::loom::sync::Mutex;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The semaphore was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AcquireError;

/// Why `try_acquire` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits now (or others are already waiting).
    NoPermits,
}

pub(crate) struct Semaphore {
    state: Mutex<State>,
}

struct State {
    permits: usize,
    closed: bool,
    /// Acquirers waiting, oldest first.
    queue: VecDeque<Waiter>,
    /// Acquirers that were handed their permits and not yet polled.
    granted: Vec<u64>,
    next_id: u64,
}

struct Waiter {
    id: u64,
    need: usize,
    waker: Waker,
}

impl State {
    /// Hands permits to the queue's head while they suffice; returns the
    /// wakers of the acquirers served (to wake after unlocking).
    fn assign(&mut self) -> Vec<Waker> {
        let mut woken = Vec::new();
        while let Some(head) = self.queue.front() {
            if head.need > self.permits {
                break;
            }
            let head = self.queue.pop_front().expect("front exists");
            self.permits -= head.need;
            self.granted.push(head.id);
            woken.push(head.waker);
        }
        woken
    }
}

fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// Future of [`Semaphore::acquire`].
pub(crate) struct Acquire<'a> {
    sem: &'a Semaphore,
    need: usize,
    /// Set once queued.
    id: Option<u64>,
    /// Returned `Ready`: nothing to give back on drop.
    done: bool,
}

impl Semaphore {
    pub(crate) fn new(permits: usize) -> Semaphore {
        Semaphore {
            state: Mutex::new(State {
                permits,
                closed: false,
                queue: VecDeque::new(),
                granted: Vec::new(),
                next_id: 0,
            }),
        }
    }

    /// Waits for `n` permits, FIFO-fair.
    pub(crate) fn acquire(&self, n: u32) -> Acquire<'_> {
        Acquire { sem: self, need: n as usize, id: None, done: false }
    }

    /// Takes `n` permits now, or fails (also while others wait).
    pub(crate) fn try_acquire(&self, n: u32) -> Result<(), TryAcquireError> {
        let mut st = self.state.lock();
        if st.closed {
            return Err(TryAcquireError::Closed);
        }
        let n = n as usize;
        if !st.queue.is_empty() || st.permits < n {
            return Err(TryAcquireError::NoPermits);
        }
        st.permits -= n;
        Ok(())
    }

    /// Gives back `n` permits: to the waiters first, oldest first.
    pub(crate) fn release(&self, n: usize) {
        let woken = {
            let mut st = self.state.lock();
            st.permits += n;
            st.assign()
        };
        wake_all(woken);
    }

    /// Closes: waiting and later acquires fail. Permits already handed
    /// out stay valid.
    pub(crate) fn close(&self) {
        let woken: Vec<Waker> = {
            let mut st = self.state.lock();
            st.closed = true;
            st.queue.drain(..).map(|w| w.waker).collect()
        };
        wake_all(woken);
    }

    pub(crate) fn available_permits(&self) -> usize {
        self.state.lock().permits
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "Acquire polled after completion");
        let mut st = this.sem.state.lock();
        if let Some(id) = this.id {
            if let Some(pos) = st.granted.iter().position(|&g| g == id) {
                st.granted.swap_remove(pos);
                this.done = true;
                return Poll::Ready(Ok(()));
            }
            if st.closed {
                // `close` emptied the queue.
                this.done = true;
                return Poll::Ready(Err(AcquireError));
            }
            if let Some(w) = st.queue.iter_mut().find(|w| w.id == id) {
                w.waker.clone_from(cx.waker());
            }
            return Poll::Pending;
        }
        if st.closed {
            this.done = true;
            return Poll::Ready(Err(AcquireError));
        }
        if st.queue.is_empty() && st.permits >= this.need {
            st.permits -= this.need;
            this.done = true;
            return Poll::Ready(Ok(()));
        }
        let id = st.next_id;
        st.next_id += 1;
        st.queue.push_back(Waiter { id, need: this.need, waker: cx.waker().clone() });
        this.id = Some(id);
        Poll::Pending
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let (Some(id), false) = (self.id, self.done) else { return };
        let woken = {
            let mut st = self.sem.state.lock();
            if let Some(pos) = st.granted.iter().position(|&g| g == id) {
                // Handed permits we will not use: pass them on.
                st.granted.swap_remove(pos);
                st.permits += self.need;
                st.assign()
            } else if let Some(pos) = st.queue.iter().position(|w| w.id == id) {
                let _ = st.queue.remove(pos);
                // The head may have been waiting behind us.
                st.assign()
            } else {
                Vec::new()
            }
        };
        wake_all(woken);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore").finish_non_exhaustive()
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire").field("need", &self.need).finish_non_exhaustive()
    }
}
