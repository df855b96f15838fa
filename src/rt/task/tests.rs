//! Unit tests of the task system against a toy scheduler that only queues.
//!
//! The toy `Schedule` pushes every `Notified` into a `Mutex<VecDeque>` and
//! its `release` returns `None`, so each test drives the task by hand
//! (`notified.run()`), holds the owned list's reference itself (the `Task`
//! returned by `new_task`), and can check the state word between steps.
//!
//! Tests end by checking that
//! - the future was dropped exactly once and every output exactly once,
//! - the task's allocation is gone: each cell owns a clone of the toy
//!   scheduler, an `Arc`, whose strong count is back to 1 only once every
//!   cell holding it has been freed.

use super::state::Snapshot;
use super::{new_task, JoinError, JoinHandle, Notified, RawTask, Schedule, Task};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

// ----- the toy scheduler ------------------------------------------------------

#[derive(Default)]
struct ToyInner {
    queue: Mutex<VecDeque<Notified>>,
    /// `Schedule::schedule` calls (wakes and aborts of an idle task).
    schedules: AtomicUsize,
    /// `Schedule::yield_now` calls (a wake during the task's own poll).
    yields: AtomicUsize,
    /// `Schedule::release` calls (one per completion).
    releases: AtomicUsize,
    /// The longest the queue has been (tests with one task: at most one
    /// `Notified` may exist at a time).
    max_queued: AtomicUsize,
    /// Tasks whose owned-list reference the toy holds (`Toy::list`), as a
    /// real scheduler's owned list does: `release` hands it back.
    listed: Mutex<Vec<Task>>,
}

#[derive(Clone, Default)]
struct Toy(Arc<ToyInner>);

impl Schedule for Toy {
    fn schedule(&self, task: Notified) {
        self.0.schedules.fetch_add(1, SeqCst);
        self.push(task);
    }

    fn yield_now(&self, task: Notified) {
        self.0.yields.fetch_add(1, SeqCst);
        self.push(task);
    }

    /// A listed task stays listed until its handle is done with it, as on
    /// the real scheduler; the others leave at once.
    fn complete_joinable(&self, task: RawTask) -> super::Completed {
        if self.0.listed.lock().unwrap().iter().any(|t| t.raw() == task) {
            return super::Completed::Kept;
        }
        match self.release(task) {
            Some(task) => super::Completed::Released(task),
            None => super::Completed::NotListed,
        }
    }

    fn release(&self, task: RawTask) -> Option<Task> {
        self.0.releases.fetch_add(1, SeqCst);
        let mut listed = self.0.listed.lock().unwrap();
        let at = listed.iter().position(|t| t.raw() == task)?;
        Some(listed.swap_remove(at))
    }
}

impl Toy {
    #[track_caller]
    fn spawn<F>(&self, future: F) -> (Task, Notified, JoinHandle<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        new_task(future, self.clone(), Location::caller())
    }

    /// Keeps the owned list's reference, to give it back on `release`.
    fn list(&self, task: Task) {
        self.0.listed.lock().unwrap().push(task);
    }

    fn push(&self, task: Notified) {
        let mut queue = self.0.queue.lock().unwrap();
        queue.push_back(task);
        self.0.max_queued.fetch_max(queue.len(), SeqCst);
    }

    fn max_queued(&self) -> usize {
        self.0.max_queued.load(SeqCst)
    }

    fn queued(&self) -> usize {
        self.0.queue.lock().unwrap().len()
    }

    fn pop(&self) -> Option<Notified> {
        self.0.queue.lock().unwrap().pop_front()
    }

    /// Runs one queued `Notified` (the lock is released before the poll).
    fn run_one(&self) -> bool {
        match self.pop() {
            Some(task) => {
                task.run();
                true
            }
            None => false,
        }
    }

    fn schedules(&self) -> usize {
        self.0.schedules.load(SeqCst)
    }

    fn yields(&self) -> usize {
        self.0.yields.load(SeqCst)
    }

    /// Strong count of the scheduler `Arc`: 1 + one per live task cell (+ one
    /// per extra `Toy` clone the test holds).
    fn live_cells(&self) -> usize {
        Arc::strong_count(&self.0) - 1
    }

    /// Drops whatever is queued, then checks that every task cell is gone and
    /// that no task was ever queued twice.
    #[track_caller]
    fn assert_all_freed(&self) {
        while let Some(task) = self.pop() {
            drop(task);
        }
        assert_eq!(self.live_cells(), 0, "a task allocation was leaked (or freed too late)");
        // Every test has at most one live task at a time.
        assert!(self.max_queued() <= 1, "a task was queued twice at once");
    }
}

// ----- a probe future and output ------------------------------------------------

/// What happened to one test future and its output.
#[derive(Default)]
struct Probe {
    polls: AtomicUsize,
    future_drops: AtomicUsize,
    output_drops: AtomicUsize,
    /// The last waker the future saw (a clone: it owns a task reference).
    waker: Mutex<Option<Waker>>,
    panic_on_future_drop: AtomicBool,
    panic_on_output_drop: AtomicBool,
}

impl Probe {
    fn polls(&self) -> usize {
        self.polls.load(SeqCst)
    }
    fn future_drops(&self) -> usize {
        self.future_drops.load(SeqCst)
    }
    fn output_drops(&self) -> usize {
        self.output_drops.load(SeqCst)
    }
    fn take_waker(&self) -> Waker {
        self.waker.lock().unwrap().take().expect("the future stored no waker")
    }
}

/// The output of a probe future; counts its drops.
#[derive(Debug)]
struct Output {
    probe: Arc<Probe>,
    value: u32,
}

impl Drop for Output {
    fn drop(&mut self) {
        self.probe.output_drops.fetch_add(1, SeqCst);
        if self.probe.panic_on_output_drop.load(SeqCst) {
            panic!("output destructor panics on purpose");
        }
    }
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe").field("polls", &self.polls()).finish_non_exhaustive()
    }
}

/// What a probe future does on each poll.
type Step = Box<dyn FnMut(&Probe, &mut Context<'_>) -> Poll<u32> + Send>;

/// A future that runs `step` on each poll and counts polls and drops.
struct ProbeFuture {
    probe: Arc<Probe>,
    step: Step,
    done: bool,
}

impl Future for ProbeFuture {
    type Output = Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        let this = self.get_mut();
        assert!(!this.done, "the task polled its future after it returned Ready");
        this.probe.polls.fetch_add(1, SeqCst);
        match (this.step)(&this.probe, cx) {
            Poll::Ready(value) => {
                this.done = true;
                Poll::Ready(Output { probe: this.probe.clone(), value })
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for ProbeFuture {
    fn drop(&mut self) {
        self.probe.future_drops.fetch_add(1, SeqCst);
        if self.probe.panic_on_future_drop.load(SeqCst) {
            panic!("future destructor panics on purpose");
        }
    }
}

fn probe_future(
    step: impl FnMut(&Probe, &mut Context<'_>) -> Poll<u32> + Send + 'static,
) -> (Arc<Probe>, ProbeFuture) {
    let probe = Arc::new(Probe::default());
    (probe.clone(), ProbeFuture { probe, step: Box::new(step), done: false })
}

/// Ready(7) on the first poll.
fn ready_now() -> (Arc<Probe>, ProbeFuture) {
    probe_future(|_, _| Poll::Ready(7))
}

/// Stores a clone of its waker and returns Pending until polled `n` times.
fn ready_on_poll(n: usize) -> (Arc<Probe>, ProbeFuture) {
    probe_future(move |probe, cx| {
        if probe.polls() >= n {
            return Poll::Ready(n as u32);
        }
        *probe.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    })
}

/// Stores a clone of its waker and never completes.
fn pending_forever() -> (Arc<Probe>, ProbeFuture) {
    ready_on_poll(usize::MAX)
}

/// Wakes through a new clone, by value (the path that consumes a reference).
fn wake_by_val(waker: &Waker) {
    let clone = waker.clone();
    clone.wake();
}

// ----- helpers -----------------------------------------------------------------

/// A waker that counts its wakes.
#[derive(Default)]
struct CountingWaker {
    wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let count = Arc::new(CountingWaker::default());
    (count.clone(), Waker::from(count))
}

fn poll_join<T>(join: &mut JoinHandle<T>, waker: &Waker) -> Poll<Result<T, JoinError>> {
    Pin::new(join).poll(&mut Context::from_waker(waker))
}

/// Polls a handle whose task has completed.
#[track_caller]
fn join_ready<T>(join: &mut JoinHandle<T>) -> Result<T, JoinError> {
    let (_, waker) = counting_waker();
    match poll_join(join, &waker) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the JoinHandle is pending, but the task should be complete"),
    }
}

fn state(task: &Task) -> Snapshot {
    task.raw().state().load()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

// ----- running and completing ------------------------------------------------------

#[test]
fn new_task_has_three_references_and_is_notified() {
    let toy = Toy::default();
    let (probe, fut) = ready_now();
    let (task, notified, join) = toy.spawn(fut);
    let s = state(&task);
    assert_eq!(s.ref_count(), 3, "list + Notified + JoinHandle: {s:?}");
    assert!(s.is_notified() && s.is_join_interested() && s.is_idle() && !s.is_cancelled());
    assert_eq!(toy.live_cells(), 1);
    assert_eq!(join.id(), task.id());
    assert_eq!(probe.polls(), 0, "creating a task must not poll it");
    drop((notified, join, task));
    assert_eq!(probe.future_drops(), 1, "the never-polled future is dropped with the cell");
    toy.assert_all_freed();
}

#[test]
fn run_polls_once_and_completion_hands_output_to_join_handle() {
    let toy = Toy::default();
    let (probe, fut) = ready_now();
    let (task, notified, mut join) = toy.spawn(fut);
    assert!(!join.is_finished());
    notified.run();
    assert_eq!(probe.polls(), 1);
    assert_eq!(probe.future_drops(), 1, "the future is dropped as soon as it completes");
    assert!(join.is_finished());
    let s = state(&task);
    assert!(s.is_complete() && !s.is_running());
    assert_eq!(s.ref_count(), 2, "list + JoinHandle; the running reference is gone: {s:?}");
    assert_eq!(toy.0.releases.load(SeqCst), 1, "completion asks the scheduler to release the task");
    assert_eq!(toy.queued(), 0);

    let out = join_ready(&mut join).expect("the task completed normally");
    assert_eq!(out.value, 7);
    assert_eq!(probe.output_drops(), 0);
    drop(out);
    assert_eq!(probe.output_drops(), 1);
    drop(join);
    drop(task);
    assert_eq!(probe.output_drops(), 1, "a consumed output is not dropped again");
    assert_eq!(probe.future_drops(), 1);
    toy.assert_all_freed();
}

#[test]
fn pending_poll_returns_to_idle_and_drops_the_running_reference() {
    let toy = Toy::default();
    let (probe, fut) = pending_forever();
    let (task, notified, join) = toy.spawn(fut);
    notified.run();
    let s = state(&task);
    assert!(s.is_idle() && !s.is_notified(), "{s:?}");
    assert_eq!(s.ref_count(), 3, "list + JoinHandle + the stored waker clone: {s:?}");
    assert_eq!(toy.queued(), 0, "a Pending poll without a wake schedules nothing");
    drop(probe.take_waker());
    assert_eq!(state(&task).ref_count(), 2);
    drop(join);
    task.shutdown();
    assert_eq!(probe.future_drops(), 1);
    toy.assert_all_freed();
}

// ----- wakes ---------------------------------------------------------------------

#[test]
fn wake_by_ref_while_idle_schedules_exactly_once() {
    let toy = Toy::default();
    let (probe, fut) = ready_on_poll(2);
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    let waker = probe.take_waker();
    for _ in 0..5 {
        waker.wake_by_ref();
    }
    assert_eq!(toy.queued(), 1, "repeated wakes of an idle task queue it once");
    assert_eq!(toy.schedules(), 1);
    let s = state(&task);
    assert!(s.is_notified() && s.is_idle());
    assert_eq!(s.ref_count(), 4, "list + JoinHandle + waker + Notified: {s:?}");
    assert!(toy.run_one());
    assert_eq!(probe.polls(), 2);
    assert_eq!(join_ready(&mut join).unwrap().value, 2);
    drop((waker, join, task));
    assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    toy.assert_all_freed();
}

#[test]
fn wake_by_val_while_idle_schedules_exactly_once() {
    let toy = Toy::default();
    let (probe, fut) = ready_on_poll(2);
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    let waker = probe.take_waker();
    assert_eq!(state(&task).ref_count(), 3);
    wake_by_val(&waker);
    assert_eq!(state(&task).ref_count(), 4, "the consumed waker's reference became the Notified");
    wake_by_val(&waker);
    wake_by_val(&waker);
    assert_eq!(state(&task).ref_count(), 4, "a wake of a notified task gives its reference up");
    assert_eq!(toy.queued(), 1);
    assert_eq!(toy.schedules(), 1);
    drop(waker);
    assert!(toy.run_one());
    assert_eq!(join_ready(&mut join).unwrap().value, 2);
    drop((join, task));
    assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    toy.assert_all_freed();
}

#[test]
fn wakes_during_own_poll_reschedule_once_through_yield_now() {
    let toy = Toy::default();
    let (probe, fut) = probe_future(|probe, cx| {
        if probe.polls() >= 2 {
            return Poll::Ready(0);
        }
        cx.waker().wake_by_ref();
        cx.waker().wake_by_ref();
        wake_by_val(cx.waker());
        let extra = cx.waker().clone();
        extra.wake_by_ref();
        drop(extra);
        Poll::Pending
    });
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    assert_eq!(toy.queued(), 1, "wakes during the poll queue the task exactly once");
    assert_eq!(toy.yields(), 1, "a task that woke itself goes through Schedule::yield_now");
    assert_eq!(toy.schedules(), 0, "and never through Schedule::schedule");
    let s = state(&task);
    assert!(s.is_idle() && s.is_notified());
    assert_eq!(s.ref_count(), 3, "list + JoinHandle + Notified (the former running reference): {s:?}");
    assert!(toy.run_one());
    assert_eq!(probe.polls(), 2);
    assert_eq!(toy.queued(), 0);
    assert!(join_ready(&mut join).is_ok());
    drop((join, task));
    toy.assert_all_freed();
}

/// The state word of the task that owns `waker` (a weft task waker).
fn state_of_waker(waker: &Waker) -> Snapshot {
    let header = std::ptr::NonNull::new(waker.data() as *mut super::raw::Header).expect("a task waker");
    RawTask::from_raw(header).state().load()
}

#[test]
fn a_yield_by_the_tasks_own_waker_reschedules_it_without_a_wake() {
    // One yield, and several in one poll (every leaf of a `select!` once
    // the coop budget is spent): each leaves only the mark.
    for yields in [1, 3] {
        own_waker_yields(yields);
    }
}

fn own_waker_yields(yields: usize) {
    let toy = Toy::default();
    let (probe, fut) = probe_future(move |probe, cx| {
        if probe.polls() >= 2 {
            return Poll::Ready(0);
        }
        for _ in 0..yields {
            super::waker::yield_self(cx.waker());
            // No atomic wake: the task is still RUNNING and not NOTIFIED;
            // the mark is read by the harness after the poll.
            let s = state_of_waker(cx.waker());
            assert!(s.is_running() && !s.is_notified(), "yield_self woke the task: {s:?}");
        }
        Poll::Pending
    });
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    assert_eq!(toy.queued(), 1, "the yield queues the task exactly once");
    assert_eq!(toy.yields(), 1, "through Schedule::yield_now (the back of the queue)");
    assert_eq!(toy.schedules(), 0);
    let s = state(&task);
    assert!(s.is_idle() && s.is_notified(), "{s:?}");
    assert_eq!(s.ref_count(), 3, "list + JoinHandle + Notified (the former running reference): {s:?}");
    assert!(toy.run_one());
    assert_eq!(probe.polls(), 2);
    assert!(join_ready(&mut join).is_ok());
    drop((join, task));
    toy.assert_all_freed();
}

#[test]
fn a_yield_through_a_wrapping_waker_wakes_the_wrapper() {
    // As a `FuturesUnordered` child: the yield must reach the wrapper, which
    // is how the wrapper learns which child to poll again.
    struct Forward {
        wakes: AtomicUsize,
        inner: Waker,
    }
    impl Wake for Forward {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.wakes.fetch_add(1, SeqCst);
            self.inner.wake_by_ref();
        }
    }
    let toy = Toy::default();
    let forwarded = Arc::new(AtomicUsize::new(0));
    let seen = forwarded.clone();
    let (probe, fut) = probe_future(move |probe, cx| {
        if probe.polls() >= 2 {
            return Poll::Ready(0);
        }
        let wrapper = Arc::new(Forward { wakes: AtomicUsize::new(0), inner: cx.waker().clone() });
        super::waker::yield_self(&Waker::from(wrapper.clone()));
        seen.store(wrapper.wakes.load(SeqCst), SeqCst);
        Poll::Pending
    });
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    assert_eq!(forwarded.load(SeqCst), 1, "the wrapping waker was not woken");
    assert_eq!((toy.queued(), toy.yields(), toy.schedules()), (1, 1, 0));
    assert!(toy.run_one());
    assert_eq!(probe.polls(), 2);
    assert!(join_ready(&mut join).is_ok());
    drop((join, task));
    toy.assert_all_freed();
}

#[test]
fn a_yield_with_another_tasks_waker_wakes_that_task() {
    let (toy_a, toy_b) = (Toy::default(), Toy::default());
    let (probe_b, fut_b) = ready_on_poll(2);
    let (task_b, notified_b, mut join_b) = toy_b.spawn(fut_b);
    notified_b.run();
    let waker_b = probe_b.take_waker();
    let (probe_a, fut_a) = probe_future(move |_, _| {
        super::waker::yield_self(&waker_b);
        Poll::Ready(1)
    });
    let (task_a, notified_a, mut join_a) = toy_a.spawn(fut_a);
    notified_a.run();
    assert!(join_ready(&mut join_a).is_ok());
    assert_eq!((toy_a.yields(), toy_a.schedules()), (0, 0), "the yielding task was re-scheduled");
    assert_eq!((toy_b.schedules(), toy_b.queued()), (1, 1), "the waker's task was not woken");
    assert!(toy_b.run_one());
    assert_eq!(probe_b.polls(), 2);
    assert!(join_ready(&mut join_b).is_ok());
    assert_eq!(probe_a.polls(), 1);
    drop((join_a, task_a, join_b, task_b));
    toy_a.assert_all_freed();
    toy_b.assert_all_freed();
}

/// Task A's poll runs task B's poll inside it, as a `LocalSet` driven in a
/// task does. A yields before the nested poll, after it, or not at all; B
/// yields or not. Each task is re-scheduled exactly when it yielded: the
/// inner poll neither takes nor loses the outer task's mark, and its own
/// mark does not leak outward.
fn nested_yields(a_before: bool, a_after: bool, b_yields: bool) {
    let (toy_a, toy_b) = (Toy::default(), Toy::default());
    let (probe_b, fut_b) = probe_future(move |probe, cx| {
        if probe.polls() >= 2 || !b_yields {
            return Poll::Ready(2);
        }
        super::waker::yield_self(cx.waker());
        Poll::Pending
    });
    let (task_b, notified_b, mut join_b) = toy_b.spawn(fut_b);
    let inner = Mutex::new(Some(notified_b));
    let (probe_a, fut_a) = probe_future(move |probe, cx| {
        if probe.polls() >= 2 {
            return Poll::Ready(1);
        }
        if a_before {
            super::waker::yield_self(cx.waker());
        }
        if let Some(b) = inner.lock().unwrap().take() {
            b.run();
        }
        if a_after {
            super::waker::yield_self(cx.waker());
        }
        if a_before || a_after {
            Poll::Pending
        } else {
            Poll::Ready(1)
        }
    });
    let (task_a, notified_a, mut join_a) = toy_a.spawn(fut_a);
    notified_a.run();
    assert_eq!(super::waker::polling_mark(), 0, "the thread-local outlived the polls");
    let a_yields = a_before || a_after;
    assert_eq!((toy_a.yields(), toy_a.queued()), (a_yields as usize, a_yields as usize), "outer task");
    assert_eq!((toy_b.yields(), toy_b.queued()), (b_yields as usize, b_yields as usize), "inner task");
    toy_a.run_one();
    toy_b.run_one();
    assert_eq!((probe_a.polls(), probe_b.polls()), (1 + a_yields as usize, 1 + b_yields as usize));
    assert!(join_ready(&mut join_a).is_ok() && join_ready(&mut join_b).is_ok());
    drop((join_a, task_a, join_b, task_b));
    toy_a.assert_all_freed();
    toy_b.assert_all_freed();
}

#[test]
fn a_yield_survives_a_nested_poll_of_another_task() {
    nested_yields(true, false, true);
    nested_yields(false, true, true);
    nested_yields(true, false, false);
}

#[test]
fn a_nested_tasks_yield_does_not_leak_to_the_outer_task() {
    nested_yields(false, false, true);
}

#[test]
fn a_task_that_yields_then_completes_is_not_rescheduled() {
    for panics in [false, true] {
        let toy = Toy::default();
        let (probe, fut) = probe_future(move |_, cx| {
            super::waker::yield_self(cx.waker());
            if panics {
                panic!("panics after yielding");
            }
            Poll::Ready(3)
        });
        let (task, notified, mut join) = toy.spawn(fut);
        notified.run();
        assert_eq!(super::waker::polling_mark(), 0, "the mark outlived the poll");
        match join_ready(&mut join) {
            Ok(out) => assert!(!panics && out.value == 3),
            Err(e) => assert!(panics && e.is_panic(), "{e:?}"),
        }
        assert_eq!((toy.yields(), toy.schedules(), toy.queued()), (0, 0, 0));
        assert_eq!(probe.polls(), 1);
        drop((join, task));
        toy.assert_all_freed();
    }
}

#[test]
fn a_foreign_waker_with_the_tasks_address_is_woken_not_marked() {
    // Only weft's own vtable may be taken for the task's waker: a waker of
    // another kind whose data pointer happens to be the task's header
    // address must be woken through its own vtable.
    static FOREIGN_WAKES: AtomicUsize = AtomicUsize::new(0);
    fn f_clone(data: *const ()) -> std::task::RawWaker {
        std::task::RawWaker::new(data, &FOREIGN)
    }
    fn f_wake(_: *const ()) {
        FOREIGN_WAKES.fetch_add(1, SeqCst);
    }
    fn f_drop(_: *const ()) {}
    static FOREIGN: std::task::RawWakerVTable =
        std::task::RawWakerVTable::new(f_clone, f_wake, f_wake, f_drop);
    let toy = Toy::default();
    let (probe, fut) = probe_future(|_, cx| {
        let data = cx.waker().data();
        // SAFETY: FOREIGN's functions never dereference the data pointer.
        let foreign = unsafe { Waker::from_raw(std::task::RawWaker::new(data, &FOREIGN)) };
        super::waker::yield_self(&foreign);
        assert_eq!(super::waker::polling_mark() & 1, 0, "a foreign waker was taken for the task's own");
        Poll::Ready(4)
    });
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    assert_eq!(FOREIGN_WAKES.load(SeqCst), 1, "the foreign waker was not woken");
    assert_eq!((toy.yields(), toy.queued()), (0, 0));
    assert_eq!(join_ready(&mut join).unwrap().value, 4);
    assert_eq!(probe.polls(), 1);
    drop((join, task));
    toy.assert_all_freed();
}

#[test]
fn wake_from_another_thread_while_running_reschedules_once() {
    let toy = Toy::default();
    let (probe, fut) = probe_future(|probe, cx| {
        if probe.polls() >= 2 {
            return Poll::Ready(0);
        }
        let waker = cx.waker().clone();
        thread::spawn(move || {
            waker.wake_by_ref();
            wake_by_val(&waker);
            waker.wake();
        })
        .join()
        .unwrap();
        Poll::Pending
    });
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    assert_eq!(toy.queued(), 1);
    assert_eq!((toy.yields(), toy.schedules()), (1, 0));
    assert_eq!(state(&task).ref_count(), 3);
    assert!(toy.run_one());
    assert_eq!(probe.polls(), 2);
    assert!(join_ready(&mut join).is_ok());
    drop((join, task));
    toy.assert_all_freed();
}

#[test]
fn wake_after_completion_does_nothing() {
    let toy = Toy::default();
    let (probe, fut) = ready_on_poll(2);
    let (task, notified, join) = toy.spawn(fut);
    notified.run();
    let waker = probe.take_waker();
    waker.wake_by_ref();
    assert!(toy.run_one());
    assert!(state(&task).is_complete());
    let refs = state(&task).ref_count();
    for _ in 0..3 {
        waker.wake_by_ref();
        wake_by_val(&waker);
    }
    assert_eq!(toy.queued(), 0, "a completed task is never scheduled again");
    assert_eq!(toy.schedules(), 1, "only the wake before completion scheduled it");
    assert_eq!(probe.polls(), 2);
    assert_eq!(state(&task).ref_count(), refs, "the by-value wakes gave their references back");
    drop((waker, join, task));
    assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    toy.assert_all_freed();
}

#[test]
fn waker_outliving_the_task_keeps_the_cell_until_dropped() {
    let toy = Toy::default();
    let (probe, fut) = ready_on_poll(2);
    let (task, notified, mut join) = toy.spawn(fut);
    let raw = task.raw();
    notified.run();
    let waker = probe.take_waker();
    let waker2 = waker.clone();
    waker.wake_by_ref();
    assert!(toy.run_one());
    drop(join_ready(&mut join).unwrap());
    drop(join);
    drop(task);
    assert_eq!(toy.live_cells(), 1, "two wakers still hold the completed task's allocation");
    assert_eq!(raw.state().load().ref_count(), 2, "exactly the two wakers' references are left");
    drop(waker2);
    assert_eq!(toy.live_cells(), 1);
    // The last reference, given up by a wake: the wake frees the cell.
    waker.wake();
    assert_eq!(toy.queued(), 0);
    assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    toy.assert_all_freed();
}

#[test]
fn waker_dropped_last_frees_the_task() {
    let toy = Toy::default();
    let (probe, fut) = pending_forever();
    let (task, notified, join) = toy.spawn(fut);
    notified.run();
    let waker = probe.take_waker();
    drop(join);
    task.shutdown();
    assert_eq!(probe.future_drops(), 1);
    assert_eq!(toy.live_cells(), 1, "the waker keeps the cancelled task's cell");
    waker.wake_by_ref();
    assert_eq!(toy.queued(), 0);
    drop(waker);
    toy.assert_all_freed();
}

#[test]
fn concurrent_wakes_never_queue_the_task_twice() {
    const THREADS: usize = 4;
    const WAKES: usize = 20_000;
    let toy = Toy::default();
    let done = Arc::new(AtomicBool::new(false));
    let done2 = done.clone();
    let (probe, fut) = probe_future(move |probe, cx| {
        if done2.load(SeqCst) {
            return Poll::Ready(probe.polls() as u32);
        }
        *probe.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    });
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    let waker = probe.waker.lock().unwrap().clone().unwrap();
    let wakers: Vec<_> = (0..THREADS)
        .map(|i| {
            let waker = waker.clone();
            thread::spawn(move || {
                for n in 0..WAKES {
                    if (n + i) % 2 == 0 {
                        waker.wake_by_ref();
                    } else {
                        wake_by_val(&waker);
                    }
                }
            })
        })
        .collect();
    let mut runs = 0;
    while wakers.iter().any(|t| !t.is_finished()) || toy.queued() > 0 {
        if toy.run_one() {
            runs += 1;
        } else {
            thread::yield_now();
        }
    }
    for t in wakers {
        t.join().unwrap();
    }
    assert_eq!(toy.max_queued(), 1, "the task was queued twice at once");
    done.store(true, SeqCst);
    waker.wake();
    assert!(toy.run_one());
    assert!(join_ready(&mut join).is_ok());
    assert_eq!(probe.polls(), runs + 2, "every run of a Notified polled exactly once");
    drop((join, task));
    *probe.waker.lock().unwrap() = None;
    assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    toy.assert_all_freed();
}

// ----- the join handle --------------------------------------------------------------

#[test]
fn join_handle_dropped_before_completion_output_dropped_once_by_the_task() {
    let toy = Toy::default();
    let (probe, fut) = ready_now();
    let (task, notified, join) = toy.spawn(fut);
    drop(join);
    assert!(!state(&task).is_join_interested());
    assert_eq!(state(&task).ref_count(), 2);
    notified.run();
    assert_eq!(probe.output_drops(), 1, "nobody can read the output: the completing thread drops it");
    assert_eq!(probe.future_drops(), 1);
    drop(task);
    assert_eq!(probe.output_drops(), 1);
    toy.assert_all_freed();
}

#[test]
fn join_handle_dropped_after_completion_drops_output_once() {
    let toy = Toy::default();
    let (probe, fut) = ready_now();
    let (task, notified, join) = toy.spawn(fut);
    notified.run();
    assert_eq!(probe.output_drops(), 0, "the output waits for the JoinHandle");
    drop(task);
    assert_eq!(probe.output_drops(), 0);
    drop(join);
    assert_eq!(probe.output_drops(), 1, "the handle drops the unread output");
    assert_eq!(probe.future_drops(), 1);
    toy.assert_all_freed();
}

#[test]
fn join_handle_dropped_while_waker_registered() {
    let toy = Toy::default();
    let (probe, fut) = ready_on_poll(2);
    let (task, notified, mut join) = toy.spawn(fut);
    let (count, jwaker) = counting_waker();
    assert!(poll_join(&mut join, &jwaker).is_pending());
    assert!(state(&task).is_join_waker_set());
    notified.run();
    drop(join);
    let s = state(&task);
    assert!(!s.is_join_interested() && !s.is_join_waker_set(), "{s:?}");
    probe.take_waker().wake();
    assert!(toy.run_one());
    assert_eq!(count.wakes.load(SeqCst), 0, "a dropped handle's waker is not woken");
    assert_eq!(probe.output_drops(), 1);
    drop(task);
    drop(jwaker);
    assert_eq!(Arc::strong_count(&count), 1, "the cell freed the join waker");
    toy.assert_all_freed();
}

#[test]
fn a_dropped_join_handle_frees_its_waker_before_the_task_completes() {
    let toy = Toy::default();
    let (probe, fut) = ready_on_poll(2);
    let (task, notified, mut join) = toy.spawn(fut);
    let (count, jwaker) = counting_waker();
    assert!(poll_join(&mut join, &jwaker).is_pending());
    assert_eq!(Arc::strong_count(&count), 3, "the test's two and the trailer's clone");
    drop(join);
    assert_eq!(Arc::strong_count(&count), 2, "the handle's drop took its waker out of the trailer");
    notified.run();
    probe.take_waker().wake();
    assert!(toy.run_one());
    assert_eq!(count.wakes.load(SeqCst), 0, "a dropped handle's waker is not woken");
    assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    drop(task);
    toy.assert_all_freed();
}

#[test]
fn a_join_handle_polled_again_after_ready_panics_and_frees_the_task() {
    // The task is listed, as on a real scheduler: the read takes the list's
    // reference, and the handle's drop must give back both.
    let toy = Toy::default();
    let (probe, fut) = ready_now();
    let (task, notified, mut join) = toy.spawn(fut);
    toy.list(task);
    notified.run();
    assert_eq!(join_ready(&mut join).map(|out| out.value).ok(), Some(7));
    let again = catch_unwind(AssertUnwindSafe(|| {
        let (_, waker) = counting_waker();
        let _ = poll_join(&mut join, &waker);
    }));
    let payload = again.expect_err("a second poll after Ready panics");
    assert_eq!(panic_message(&*payload), "JoinHandle polled after it returned Ready");
    assert_eq!(toy.live_cells(), 1, "the handle still holds the task");
    drop(join);
    assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    toy.assert_all_freed();
}

#[test]
fn join_waker_is_woken_on_completion_and_replaced_by_a_new_one() {
    let toy = Toy::default();
    let (probe, fut) = ready_on_poll(2);
    let (task, notified, mut join) = toy.spawn(fut);
    let (count1, waker1) = counting_waker();
    let (count2, waker2) = counting_waker();
    assert!(poll_join(&mut join, &waker1).is_pending());
    assert!(poll_join(&mut join, &waker1).is_pending(), "the same waker is kept");
    notified.run();
    assert!(poll_join(&mut join, &waker2).is_pending(), "a new waker replaces the old one");
    assert_eq!(count1.wakes.load(SeqCst) + count2.wakes.load(SeqCst), 0);
    probe.take_waker().wake();
    assert!(toy.run_one());
    assert_eq!(count1.wakes.load(SeqCst), 0, "the replaced waker is not woken");
    assert_eq!(count2.wakes.load(SeqCst), 1, "the registered waker is woken once on completion");
    match poll_join(&mut join, &waker2) {
        Poll::Ready(Ok(out)) => assert_eq!(out.value, 2),
        other => panic!("expected the output, got {other:?}"),
    }
    drop((join, task));
    assert_eq!(Arc::strong_count(&count1), 2, "only the test's waker1 and count1 remain");
    drop((waker1, waker2));
    assert_eq!((Arc::strong_count(&count1), Arc::strong_count(&count2)), (1, 1));
    assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    toy.assert_all_freed();
}

#[test]
fn join_handle_polled_after_ready_panics() {
    let toy = Toy::default();
    let (_probe, fut) = ready_now();
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    drop(join_ready(&mut join).unwrap());
    let (_, waker) = counting_waker();
    let err = catch_unwind(AssertUnwindSafe(|| poll_join(&mut join, &waker))).expect_err("must panic");
    assert!(panic_message(err.as_ref()).contains("after it returned Ready"));
    drop((join, task));
    toy.assert_all_freed();
}

// ----- abort ---------------------------------------------------------------------

#[test]
fn abort_before_first_run_cancels_without_polling() {
    let toy = Toy::default();
    let (probe, fut) = ready_now();
    let (task, notified, mut join) = toy.spawn(fut);
    join.abort();
    assert_eq!(toy.queued(), 0, "already notified: abort adds no second Notified");
    assert!(state(&task).is_cancelled());
    notified.run();
    assert_eq!(probe.polls(), 0, "an aborted task is never polled");
    assert_eq!(probe.future_drops(), 1);
    assert!(join.is_finished());
    let err = join_ready(&mut join).expect_err("aborted");
    assert!(err.is_cancelled() && !err.is_panic());
    assert_eq!(err.id(), task.id());
    drop((join, task));
    assert_eq!(probe.output_drops(), 0, "no output was ever made");
    toy.assert_all_freed();
}

#[test]
fn abort_idle_task_schedules_it_and_the_run_cancels() {
    let toy = Toy::default();
    let (probe, fut) = pending_forever();
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    join.abort();
    assert_eq!(toy.queued(), 1, "abort of an idle task schedules it so a worker drops the future");
    assert_eq!(probe.future_drops(), 0, "abort itself does not drop the future");
    join.abort();
    assert_eq!(toy.queued(), 1, "a second abort does nothing");
    assert!(toy.run_one());
    assert_eq!(probe.polls(), 1, "cancelling does not poll");
    assert_eq!(probe.future_drops(), 1);
    assert!(join_ready(&mut join).unwrap_err().is_cancelled());
    // The stored waker outlives the task; waking it does nothing.
    let waker = probe.take_waker();
    waker.wake_by_ref();
    assert_eq!(toy.queued(), 0);
    drop((waker, join, task));
    toy.assert_all_freed();
}

#[test]
fn abort_while_running_cancels_after_the_poll() {
    let toy = Toy::default();
    let slot: Arc<Mutex<Option<JoinHandle<Output>>>> = Arc::default();
    let slot2 = slot.clone();
    let (probe, fut) = probe_future(move |_, _| {
        slot2.lock().unwrap().as_ref().expect("handle stored").abort();
        Poll::Pending
    });
    let (task, notified, join) = toy.spawn(fut);
    *slot.lock().unwrap() = Some(join);
    notified.run();
    assert_eq!(probe.polls(), 1);
    assert_eq!(probe.future_drops(), 1, "the worker cancels right after the poll returns");
    assert_eq!(toy.queued(), 0, "abort while running schedules nothing");
    let mut join = slot.lock().unwrap().take().unwrap();
    assert!(join_ready(&mut join).unwrap_err().is_cancelled());
    drop((join, task));
    toy.assert_all_freed();
}

#[test]
fn abort_while_running_of_a_task_that_completes_keeps_the_output() {
    let toy = Toy::default();
    let slot: Arc<Mutex<Option<JoinHandle<Output>>>> = Arc::default();
    let slot2 = slot.clone();
    let (probe, fut) = probe_future(move |_, _| {
        slot2.lock().unwrap().as_ref().expect("handle stored").abort();
        Poll::Ready(5)
    });
    let (task, notified, join) = toy.spawn(fut);
    *slot.lock().unwrap() = Some(join);
    notified.run();
    let mut join = slot.lock().unwrap().take().unwrap();
    assert_eq!(join_ready(&mut join).expect("completed in the aborted poll").value, 5);
    drop((join, task));
    assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    toy.assert_all_freed();
}

#[test]
fn abort_of_a_completed_task_keeps_its_output() {
    let toy = Toy::default();
    let (probe, fut) = ready_now();
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    join.abort();
    assert_eq!(toy.queued(), 0);
    assert!(!state(&task).is_cancelled());
    assert_eq!(join_ready(&mut join).expect("output kept").value, 7);
    drop((join, task));
    assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    toy.assert_all_freed();
}

#[test]
fn abort_whose_future_destructor_panics_yields_a_panic_error() {
    let toy = Toy::default();
    let (probe, fut) = pending_forever();
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    probe.panic_on_future_drop.store(true, SeqCst);
    join.abort();
    assert!(toy.run_one(), "the cancel must not unwind into the caller");
    let err = join_ready(&mut join).unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(panic_message(err.into_panic().as_ref()), "future destructor panics on purpose");
    assert_eq!(probe.future_drops(), 1);
    drop(probe.take_waker());
    drop((join, task));
    toy.assert_all_freed();
}

// ----- panics ----------------------------------------------------------------------

#[test]
fn panic_in_poll_becomes_a_join_error() {
    let toy = Toy::default();
    let (probe, fut) = probe_future(|_, _| -> Poll<u32> { panic!("poll panics on purpose") });
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    assert_eq!(probe.future_drops(), 1, "the panicked future is dropped");
    let err = join_ready(&mut join).unwrap_err();
    assert!(err.is_panic() && !err.is_cancelled());
    assert_eq!(err.id(), task.id());
    assert_eq!(panic_message(err.into_panic().as_ref()), "poll panics on purpose");
    drop((join, task));
    toy.assert_all_freed();
}

#[test]
fn output_destructor_panic_is_contained() {
    let toy = Toy::default();
    // Dropped by the JoinHandle.
    let (probe, fut) = ready_now();
    let (task, notified, join) = toy.spawn(fut);
    notified.run();
    probe.panic_on_output_drop.store(true, SeqCst);
    drop(join);
    assert_eq!(probe.output_drops(), 1);
    drop(task);
    // Dropped by the completing thread.
    let (probe, fut) = ready_now();
    probe.panic_on_output_drop.store(true, SeqCst);
    let (task, notified, join) = toy.spawn(fut);
    drop(join);
    notified.run();
    assert_eq!(probe.output_drops(), 1);
    drop(task);
    toy.assert_all_freed();
}

// ----- shutdown ---------------------------------------------------------------------

#[test]
fn shutdown_of_an_idle_task_cancels_it_on_the_spot() {
    let toy = Toy::default();
    let (probe, fut) = pending_forever();
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    let (count, jwaker) = counting_waker();
    assert!(poll_join(&mut join, &jwaker).is_pending());
    task.shutdown();
    assert_eq!(probe.future_drops(), 1, "shutdown drops an idle task's future at once");
    assert_eq!(count.wakes.load(SeqCst), 1, "the join waker is woken");
    assert!(join_ready(&mut join).unwrap_err().is_cancelled());
    let waker = probe.take_waker();
    waker.wake_by_ref();
    assert_eq!(toy.queued(), 0);
    drop((waker, join));
    toy.assert_all_freed();
}

#[test]
fn shutdown_of_a_queued_task_then_its_run_does_not_poll() {
    let toy = Toy::default();
    let (probe, fut) = ready_now();
    let (task, notified, mut join) = toy.spawn(fut);
    task.shutdown();
    assert_eq!(probe.future_drops(), 1);
    notified.run();
    assert_eq!(probe.polls(), 0, "a task cancelled by shutdown is never polled");
    assert!(join_ready(&mut join).unwrap_err().is_cancelled());
    drop(join);
    assert_eq!(probe.future_drops(), 1);
    toy.assert_all_freed();
}

#[test]
fn shutdown_of_a_completed_task_keeps_the_output() {
    let toy = Toy::default();
    let (probe, fut) = ready_now();
    let (task, notified, mut join) = toy.spawn(fut);
    notified.run();
    task.shutdown();
    assert_eq!(join_ready(&mut join).unwrap().value, 7);
    drop(join);
    assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    toy.assert_all_freed();
}

#[test]
fn dropping_a_queued_notified_then_shutdown_frees_everything() {
    // What a queue drain at shutdown does: the Notified is only a reference.
    let toy = Toy::default();
    let (probe, fut) = pending_forever();
    let (task, notified, join) = toy.spawn(fut);
    drop(notified);
    assert_eq!(probe.future_drops(), 0);
    assert_eq!(state(&task).ref_count(), 2);
    drop(join);
    task.shutdown();
    assert_eq!(probe.polls(), 0);
    assert_eq!(probe.future_drops(), 1);
    toy.assert_all_freed();
}

// ----- races ------------------------------------------------------------------------

#[test]
fn join_handle_drop_racing_completion_drops_output_once() {
    let toy = Toy::default();
    for _ in 0..500 {
        let (probe, fut) = ready_now();
        let (task, notified, join) = toy.spawn(fut);
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let b2 = barrier.clone();
        let t = thread::spawn(move || {
            b2.wait();
            drop(join);
        });
        barrier.wait();
        notified.run();
        t.join().unwrap();
        drop(task);
        assert_eq!((probe.future_drops(), probe.output_drops()), (1, 1));
    }
    toy.assert_all_freed();
}

#[test]
fn abort_racing_a_poll_drops_the_future_once() {
    let toy = Toy::default();
    let (mut cancelled, mut completed) = (0, 0);
    for i in 0..500 {
        let (probe, fut) = ready_on_poll(2);
        let (task, notified, mut join) = toy.spawn(fut);
        notified.run();
        probe.take_waker().wake();
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let b2 = barrier.clone();
        let toy2 = toy.clone();
        let runner = thread::spawn(move || {
            b2.wait();
            while toy2.run_one() {}
        });
        barrier.wait();
        join.abort();
        runner.join().unwrap();
        while toy.run_one() {}
        // The abort came before the second poll (cancelled) or during or
        // after it (the task completed, and keeps its output).
        match join_ready(&mut join) {
            Ok(out) => {
                assert_eq!(out.value, 2, "iteration {i}");
                completed += 1;
            }
            Err(e) => {
                assert!(e.is_cancelled(), "iteration {i}: {e:?}");
                cancelled += 1;
            }
        }
        drop((join, task));
        assert_eq!(probe.future_drops(), 1, "iteration {i}");
        assert_eq!(probe.output_drops(), probe.polls() - 1, "iteration {i}: one output iff polled twice");
    }
    assert_eq!(cancelled + completed, 500);
    toy.assert_all_freed();
}

/// The owned list's membership: the list's reference is handed out once
/// (a second `remove` is a no-op), `copy_all` sees every listed task, a
/// spawn refused after close is counted as spawned (its cancellation
/// counts as a completion), and the drain empties every shard.
#[test]
fn owned_list_hands_out_its_reference_once_and_counts_refused_spawns() {
    use super::list::OwnedTasks;
    let toy = Toy::default();
    let list = OwnedTasks::new(1);
    let (t1, n1, j1) = toy.spawn(std::future::pending::<()>());
    let (t2, n2, j2) = toy.spawn(std::future::pending::<()>());
    let raw1 = t1.raw();
    let n1 = list.bind(t1, n1).expect("open list");
    let n2 = list.bind(t2, n2).expect("open list");
    assert_eq!(list.len(), 2);
    let mut seen = Vec::new();
    list.copy_all(&mut seen, |h| h.id());
    assert_eq!(seen.len(), 2);
    drop(list.remove(raw1).expect("the list's reference, once"));
    assert!(list.remove(raw1).is_none());
    assert_eq!(list.len(), 1);
    list.close_and_shutdown_all();
    assert_eq!(list.len(), 0);
    let (t3, n3, j3) = toy.spawn(std::future::pending::<()>());
    assert!(list.bind(t3, n3).is_none(), "a closed list refuses and cancels");
    assert_eq!(list.spawned_count(), 3, "the refused spawn is counted");
    drop((n1, n2, j1, j2, j3));
    toy.assert_all_freed();
}
