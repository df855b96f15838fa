//! A blocking closure as an ordinary task: a future that runs the closure
//! once when polled, scheduled by a `Schedule` impl that pushes it to the
//! pool.
//!
//! # References
//! `new_task` returns three references: the owned list's (`Task`), the first
//! `Notified`, and the `JoinHandle`. A blocking task is never in the
//! runtime's owned list (runtime shutdown must not try to cancel a closure
//! that is running), so the list's reference is dropped at creation; with
//! it gone, `BlockingSchedule::release` returns `None` and the harness's
//! `complete` drops only the running reference. The `Notified` travels
//! through the pool queue: `Job::run` polls it (that reference becomes the
//! running one and is dropped by `complete`), `Job::cancel` shuts the task
//! down (cancelled `JoinError`, closure dropped, reference dropped). The
//! `JoinHandle`'s reference is the last; the cell is freed when both are
//! gone.

use super::pool::{Job, Pool};
use crate::rt::scheduler;
use crate::rt::task::{self, JoinHandle, Notified, RawTask, Schedule, Task};
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The pool of a runtime: its jobs are blocking tasks' `Notified`s.
pub(crate) type BlockingPool = Pool<Notified>;

impl Job for Notified {
    fn run(self) {
        Notified::run(self);
    }

    fn cancel(self) {
        // Takes RUNNING (the task is queued, so idle), drops the closure,
        // stores `JoinError::cancelled`, wakes the joiner and gives up the
        // reference (the harness's `shutdown`).
        self.0.shutdown();
    }
}

/// The scheduler of a blocking task. It is only ever "scheduled" once, at
/// spawn (its future never returns `Pending`, so nothing wakes it); a
/// schedule goes to the pool all the same.
#[derive(Clone, Debug)]
pub(crate) struct BlockingSchedule {
    pool: BlockingPool,
}

impl Schedule for BlockingSchedule {
    fn schedule(&self, task: Notified) {
        self.pool.spawn(task);
    }

    fn release(&self, _task: RawTask) -> Option<Task> {
        // Never in an owned list (see the module doc).
        None
    }
}

/// The future of a blocking task: runs `func` once, inside the runtime's
/// context (so `weft::spawn` and `Handle::current` work in the closure)
/// and outside any coop budget (pool threads never set one).
pub(crate) struct BlockingTask<F> {
    func: Option<F>,
    runtime: Option<scheduler::Handle>,
}

// The closure is moved out before it is called, never pinned.
impl<F> Unpin for BlockingTask<F> {}

impl<F, R> Future for BlockingTask<F>
where
    F: FnOnce() -> R,
{
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let func = self.func.take().expect("a blocking task is polled once");
        let _enter = self.runtime.clone().map(crate::rt::context::enter);
        Poll::Ready(crate::rt::coop::unconstrained(func))
    }
}

/// Spawns `func` on `pool`; `runtime` is entered while it runs.
pub(crate) fn spawn<F, R>(
    pool: &BlockingPool,
    runtime: Option<scheduler::Handle>,
    func: F,
    spawned_at: &'static Location<'static>,
) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (notified, join) = new_blocking_task(pool, runtime, func, spawned_at);
    pool.spawn(notified);
    join
}

/// Allocates the task and gives up the owned list's reference.
fn new_blocking_task<F, R>(
    pool: &BlockingPool,
    runtime: Option<scheduler::Handle>,
    func: F,
    spawned_at: &'static Location<'static>,
) -> (Notified, JoinHandle<R>)
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let future = BlockingTask { func: Some(func), runtime };
    let (list_ref, notified, join) =
        task::new_task(future, BlockingSchedule { pool: pool.clone() }, spawned_at);
    // Not bound to any owned list: its reference goes now (see module doc).
    drop(list_ref);
    (notified, join)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::rt::blocking::pool::Config;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc as StdArc;
    use std::task::Waker;

    struct CountDrop(StdArc<AtomicUsize>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn pool() -> BlockingPool {
        Pool::new(Config { max_threads: 1, ..Config::default() })
    }

    fn refs(n: &Notified) -> usize {
        n.0.raw().state().load().ref_count()
    }

    fn poll_join<T>(join: &mut JoinHandle<T>) -> Poll<Result<T, crate::JoinError>> {
        struct Noop;
        impl std::task::Wake for Noop {
            fn wake(self: StdArc<Self>) {}
        }
        Pin::new(join).poll(&mut Context::from_waker(&Waker::from(StdArc::new(Noop))))
    }

    /// The list's reference is gone at creation; running the task leaves
    /// only the handle's; dropping the handle frees the cell (which drops
    /// the scheduler and so its clone of the pool) exactly once.
    #[test]
    fn a_run_task_is_freed_exactly_once() {
        let pool = pool();
        let base = pool.strong_count();
        let dropped = StdArc::new(AtomicUsize::new(0));
        let guard = CountDrop(dropped.clone());
        let (notified, mut join) = new_blocking_task(
            &pool,
            None,
            move || {
                let _guard = guard;
                7
            },
            Location::caller(),
        );
        assert_eq!(refs(&notified), 2, "Notified + JoinHandle");
        assert_eq!(pool.strong_count(), base + 1);
        let raw = notified.0.raw();
        Job::run(notified);
        assert_eq!(raw.state().load().ref_count(), 1, "only the JoinHandle's is left");
        assert!(raw.state().load().is_complete());
        assert_eq!(dropped.load(SeqCst), 1, "the closure ran and was dropped once");
        assert!(matches!(poll_join(&mut join), Poll::Ready(Ok(7))));
        drop(join);
        assert_eq!(pool.strong_count(), base, "cell freed");
        assert_eq!(dropped.load(SeqCst), 1);
    }

    /// A cancelled (never run) task: closure dropped once, cancelled error,
    /// cell freed once the handle goes; also when the handle went first.
    #[test]
    fn a_cancelled_task_is_freed_exactly_once() {
        let pool = pool();
        let base = pool.strong_count();
        for handle_first in [false, true] {
            let ran = StdArc::new(AtomicUsize::new(0));
            let dropped = StdArc::new(AtomicUsize::new(0));
            let (guard, ran2) = (CountDrop(dropped.clone()), ran.clone());
            let (notified, mut join) = new_blocking_task(
                &pool,
                None,
                move || {
                    let _guard = guard;
                    ran2.fetch_add(1, SeqCst);
                },
                Location::caller(),
            );
            if handle_first {
                drop(join);
                assert_eq!(refs(&notified), 1);
                Job::cancel(notified);
            } else {
                Job::cancel(notified);
                match poll_join(&mut join) {
                    Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{e:?}"),
                    other => panic!("expected a cancelled JoinError, got {:?}", other.map(|r| r.is_ok())),
                }
                drop(join);
            }
            assert_eq!(ran.load(SeqCst), 0, "a cancelled closure never runs");
            assert_eq!(dropped.load(SeqCst), 1, "closure dropped exactly once");
            assert_eq!(pool.strong_count(), base, "cell freed");
        }
    }

    /// A panic in the closure becomes the handle's panic error; the cell is
    /// still freed once.
    #[test]
    fn a_panicking_closure_is_a_join_error_and_freed() {
        let pool = pool();
        let base = pool.strong_count();
        let (notified, mut join) =
            new_blocking_task(&pool, None, || -> u8 { panic!("boom") }, Location::caller());
        Job::run(notified);
        match poll_join(&mut join) {
            Poll::Ready(Err(e)) => assert!(e.is_panic()),
            _ => panic!("expected a panic JoinError"),
        }
        drop(join);
        assert_eq!(pool.strong_count(), base);
    }

    /// The closure runs outside any coop budget, even when the code that
    /// runs the job is inside one.
    #[test]
    fn the_closure_runs_unbudgeted() {
        let pool = pool();
        let (notified, mut join) =
            new_blocking_task(&pool, None, crate::rt::coop::remaining, Location::caller());
        crate::rt::coop::budget(|| Job::run(notified));
        assert!(matches!(poll_join(&mut join), Poll::Ready(Ok(None))));
    }

    /// End to end through the pool's threads, without a runtime.
    #[test]
    fn the_pool_runs_it_on_a_blocking_thread() {
        let pool = pool();
        let mut join =
            spawn(&pool, None, || std::thread::current().name().map(str::to_owned), Location::caller());
        let name = loop {
            if let Poll::Ready(r) = poll_join(&mut join) {
                break r.unwrap();
            }
            std::thread::yield_now();
        };
        assert_eq!(name.as_deref(), Some("weft-blocking-0"));
        pool.begin_shutdown();
        assert!(pool.wait_threads(None));
    }
}
