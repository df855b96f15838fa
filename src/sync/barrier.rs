//! A reusable barrier: `n` tasks wait until all `n` have arrived.
//!
//! One lock around the arrival count, the generation number and the
//! waiters' wakers. The `n`-th arrival of a generation is its leader: it
//! resets the count, bumps the generation and wakes everyone, all under
//! the lock. A waiter is released once it sees, under the same lock, a
//! generation other than the one it arrived in, so a wake-up cannot be
//! lost (it registers its waker under the lock that the leader takes to
//! bump and wake) and a late poll of an old generation's waiter is not
//! confused by the next generation's arrivals.

use super::wait_list::WaitList;
use crate::loom::sync::Mutex;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Lets `n` tasks wait until all of them have reached the same point.
/// Reusable: after each group of `n` is released, the next `n` waits
/// start a new generation.
///
/// Exactly one waiter of each generation is its leader
/// ([`BarrierWaitResult::is_leader`]): the one whose arrival completed it.
///
/// ```
/// use std::sync::Arc;
/// use weft::sync::Barrier;
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let barrier = Arc::new(Barrier::new(4));
///     let tasks: Vec<_> = (0..4)
///         .map(|_| {
///             let barrier = barrier.clone();
///             weft::spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for t in tasks {
///         leaders += t.await.unwrap() as usize;
///     }
///     assert_eq!(leaders, 1);
/// });
/// ```
///
/// # Cancellation
///
/// Not cancel-safe, as tokio's: an arrival counts from the first poll of
/// `wait()`, and dropping the future afterwards does not take it back.
/// The generation still completes when `n` arrivals have been counted.
pub struct Barrier {
    n: usize,
    state: Mutex<State>,
}

struct State {
    /// Arrivals in the current generation (always below `n`).
    arrived: usize,
    /// Bumped by each generation's leader.
    generation: u64,
    /// The waiters of the current generation.
    waiters: WaitList,
}

/// What [`Barrier::wait`] returns: whether this waiter was the leader of
/// its generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this waiter's arrival completed the generation (exactly one
    /// per generation).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` tasks. A barrier for 0 tasks behaves as one for
    /// 1 (every `wait` returns at once, as the leader).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let single = weft::sync::Barrier::new(1);
    /// assert!(rt.block_on(single.wait()).is_leader());
    /// assert!(rt.block_on(single.wait()).is_leader(), "a new generation each time");
    /// ```
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State { arrived: 0, generation: 0, waiters: WaitList::new() }),
        }
    }

    /// Waits until `n` tasks have called `wait` in this generation.
    /// Returns a result whose [`is_leader`](BarrierWaitResult::is_leader)
    /// is true for exactly one of them. Not cancel-safe (see the type's
    /// doc).
    #[track_caller]
    pub fn wait(&self) -> impl std::future::Future<Output = BarrierWaitResult> + '_ {
        crate::rt::task::wait::waiting(crate::rt::task::WaitKind::Barrier, async move {
            let generation = {
                let mut state = self.state.lock();
                state.arrived += 1;
                if state.arrived == self.n {
                    state.arrived = 0;
                    state.generation = state.generation.wrapping_add(1);
                    let wakers = state.waiters.take_all().collect::<Vec<_>>();
                    drop(state);
                    for w in wakers {
                        w.wake();
                    }
                    return BarrierWaitResult(true);
                }
                state.generation
            };
            Released { barrier: self, generation, key: None }.await;
            BarrierWaitResult(false)
        })
    }

    /// The number of tasks each generation waits for.
    pub fn n(&self) -> usize {
        self.n
    }
}

/// Resolves once the barrier has left `generation`.
struct Released<'a> {
    barrier: &'a Barrier,
    generation: u64,
    key: Option<u64>,
}

impl Future for Released<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let coop = std::task::ready!(crate::rt::coop::poll_proceed(cx));
        let mut state = this.barrier.state.lock();
        if state.generation != this.generation {
            // The leader took every waker; a key of ours is stale.
            this.key = None;
            coop.made_progress();
            return Poll::Ready(());
        }
        state.waiters.register(&mut this.key, cx.waker());
        Poll::Pending
    }
}

impl Drop for Released<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let waker = self.barrier.state.lock().waiters.remove(key);
            drop(waker);
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &state.arrived)
            .field("generation", &state.generation)
            .finish()
    }
}
