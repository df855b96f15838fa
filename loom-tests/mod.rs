//! loom model checks of weft's concurrency protocols.
//!
//! Compiled into the crate only under `cfg(all(test, loom))` (see the end of
//! `src/lib.rs`), so the models can use crate-private items. Under loom the
//! facade in `src/loom/` swaps in loom's atomics, locks, threads and cells,
//! replaces crossbeam's queues with a mutex-based queue and shrinks
//! `LOCAL_QUEUE_CAPACITY` to 4.
//!
//! Run (see `docs/testing.md` for what each model checks and how long it
//! takes):
//!
//! ```text
//! CARGO_TARGET_DIR=target/loom RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test --release --lib loom_tests
//! ```
//!
//! - `task`: wake / complete / abort / `JoinHandle` drop and poll racing on
//!   one task, driven by hand through a toy scheduler; `task::leak`, the
//!   task dumps' leak check racing the task's waker and handles.
//! - `sleep`: a real 2-worker runtime; wakes racing workers going to sleep.
//! - `shutdown`: spawns and wakes racing runtime shutdown.
//! - `blocking`: the blocking pool: a spawn racing an idle thread's wake,
//!   its keep-alive exit and shutdown (the pool alone, with a toy job).
//! - `steal`: a worker's local queue drained by its owner and a thief.
//! - `park`: the worker parker's token.
//! - `priority`: the background cap's tokens: a returned token racing a
//!   worker without one parking on Background work (never stranded), and
//!   never more holders than the cap.
//! - `active`: the active-worker target lowered and raised while workers
//!   run, search and park (live CPU-quota tracking).
//! - `compensate`: the monitor's compensation for a stalled worker: its
//!   runnext task to the injector, a retired slot let in to run it, and
//!   retired again (handing back what it holds) while the poll still
//!   blocks.
//! - `stall_stack`: the stall-stack hand-off between the monitor and the
//!   signal handler on a stalled worker: a stack is whole or absent, a
//!   withdrawn or unasked capture writes nothing.
//! - `joinset`: `JoinSet`'s notified list: completions on other threads
//!   racing `join_next`'s registration, and racing the set's drop.
//! - `localset`: `LocalSet`'s remote wakes racing its poller going idle,
//!   and racing its drop.
//! - `netpoll`: readiness vs interest, clear vs a new edge, a stale token
//!   vs a new owner, a worker parked in the poller, the timer deadline
//!   hand-off between the poller's owner and a timer inserter.
//! - `test_clock`: a paused clock on a 1-worker runtime: auto-advance
//!   reaching a sleep in `block_on`, and `advance` returning only after
//!   the task it woke ran (a lost idleness check is a deadlock).
//! - `sync_semaphore`: the batch semaphore: release vs an acquirer
//!   registering, an acquire dropped mid-hand-off (permits conserved),
//!   close vs acquire.
//! - `sync_notify`: `Notify`: notify_one vs a registering `Notified`,
//!   notify_one vs a `Notified` being dropped (pass-on), notify_waiters vs
//!   a new `Notified`.
//! - `sync_once_cell`: `OnceCell` initializers racing (one init function
//!   runs), and one cancelled mid-init racing a second caller.
//! - `sync_oneshot`: a oneshot's send / sender drop / receiver drop /
//!   `closed()` racing the other side's poll (value dropped once, no lost
//!   wake-up).
//! - `sync_mpsc`: sends and the last sender's drop racing the receiver
//!   going to sleep; the receiver's drop racing a send; a full bounded
//!   sender waiting for the receiver to free a slot; a weak sender's
//!   upgrade racing the last sender's drop.
//! - `sync_mpmc`: the rendezvous hand-off (send vs receive, a send or a
//!   receive cancelled mid-hand-off) and close racing waiting senders and
//!   receivers.
//! - `sync_watch`: sends and the sender's drop racing `changed()`;
//!   `closed()` racing the last receiver's drop.
//! - `sync_broadcast`: sends (lagging a one-slot ring) and the last
//!   sender's drop racing a receiver going to sleep.
//! - `signal`: the signal slot protocol: a handler (flag, then a byte
//!   into a one-byte self-pipe) racing a dispatch (drain, then publish)
//!   and a receiver registering; a storm of two handlers on a full pipe.
//! - `timer`: a timer firing racing its owner's poll, cancel, drop and
//!   first registration.
//! - `trace`: the flight recorder's ring: a copy racing the writer's
//!   wrap (no torn event); outside threads racing for the external
//!   ring's try-lock (each event recorded whole or counted as dropped).
//!
//! Bookkeeping (drop counters, "was this waker woken" flags) uses std
//! atomics on purpose: they are not part of any protocol under test, are
//! only read after the model's threads are joined, and keep loom's search
//! space to the crate's own operations. What a protocol must publish (a flag
//! written before a wake and read by the poll it causes) uses loom atomics
//! with `Relaxed`, so loom checks that the crate's orderings carry it.

mod active;
mod blocking;
mod compensate;
mod joinset;
mod localset;
mod netpoll;
mod park;
mod priority;
mod shutdown;
#[cfg(all(unix, feature = "signal"))]
mod signal;
mod sleep;
mod stall_stack;
mod steal;
mod sync_broadcast;
mod sync_mpmc;
mod sync_mpsc;
mod sync_notify;
mod sync_once_cell;
mod sync_oneshot;
mod sync_semaphore;
mod sync_watch;
mod task;
#[cfg(feature = "time")]
mod test_clock;
mod timer;
mod trace;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

/// Runs `f` under loom with `LOOM_MAX_PREEMPTIONS` (2 when unset, tokio's CI
/// value; an unbounded search of these models does not finish).
pub(crate) fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    model_min_preemptions(2, f);
}

/// `model` for models small enough to search deeper than CI's bound: the
/// preemption bound is at least `min` (a larger `LOOM_MAX_PREEMPTIONS`
/// still wins). Used where a side of the race needs more than two
/// preemptions to reach.
pub(crate) fn model_min_preemptions<F>(min: usize, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.map_or(min, |bound| bound.max(min)));
    let iterations = std::sync::Arc::new(AtomicUsize::new(0));
    let count = iterations.clone();
    let start = std::time::Instant::now();
    let body = move || {
        count.fetch_add(1, Ordering::Relaxed);
        f();
    };
    if std::env::var_os("LOOM_LOG").is_some() {
        // loom's own entry point installs the `tracing` subscriber that
        // prints the LOOM_LOG trace of the failing interleaving (set
        // LOOM_MAX_PREEMPTIONS explicitly then).
        loom::model(body);
    } else {
        builder.check(body);
    }
    // Shown with `--nocapture`; docs/testing.md lists these figures.
    println!(
        "loom: {} interleavings explored in {:.1?} (preemption bound {:?})",
        iterations.load(Ordering::Relaxed),
        start.elapsed(),
        builder.preemption_bound
    );
}

/// The outcomes a model reached over all its interleavings, so that a test
/// can check it really explored the race it is named after (both sides of
/// it), not one degenerate ordering.
#[derive(Clone, Default, Debug)]
pub(crate) struct Outcomes(std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<&'static str>>>);

impl Outcomes {
    pub(crate) fn saw(&self, outcome: &'static str) {
        self.0.lock().unwrap().insert(outcome);
    }

    /// Call after `model` returns.
    pub(crate) fn assert_all_seen(&self, expected: &[&'static str]) {
        let seen = self.0.lock().unwrap();
        for e in expected {
            assert!(seen.contains(e), "no interleaving reached outcome {e:?}; seen: {seen:?}");
        }
    }
}

/// A shared counter for test bookkeeping (see the module doc: std, not loom).
#[derive(Clone, Default, Debug)]
pub(crate) struct Counter(std::sync::Arc<AtomicUsize>);

impl Counter {
    pub(crate) fn incr(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Counts its own drop: put one in a future to count the future's drops, in
/// an output to count the output's.
#[derive(Debug)]
pub(crate) struct DropCount(pub(crate) Counter);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.incr();
    }
}

/// An output value whose creations and drops are both counted.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) value: usize,
    _drop: DropCount,
}

impl Output {
    pub(crate) fn new(value: usize, created: &Counter, dropped: &Counter) -> Output {
        created.incr();
        Output { value, _drop: DropCount(dropped.clone()) }
    }
}

/// A waker that records how often it was woken and when it is dropped
/// (so a join waker left in a task's trailer is seen to be freed).
#[derive(Debug)]
pub(crate) struct FlagWaker {
    pub(crate) wakes: Counter,
    _drop: DropCount,
}

impl Wake for FlagWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wakes.incr();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.wakes.incr();
    }
}

/// A new counting waker: returns the waker, its wake counter and its drop
/// counter (incremented when the last clone is dropped).
pub(crate) fn flag_waker() -> (Waker, Counter, Counter) {
    let wakes = Counter::default();
    let dropped = Counter::default();
    let waker = Waker::from(std::sync::Arc::new(FlagWaker {
        wakes: wakes.clone(),
        _drop: DropCount(dropped.clone()),
    }));
    (waker, wakes, dropped)
}

/// Polls a future once with a no-op waker (for handles of a runtime that is
/// gone, which nobody could wake).
pub(crate) fn poll_once<F: std::future::Future + Unpin>(fut: &mut F) -> std::task::Poll<F::Output> {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = Waker::from(std::sync::Arc::new(Noop));
    let mut cx = std::task::Context::from_waker(&waker);
    std::pin::Pin::new(fut).poll(&mut cx)
}
