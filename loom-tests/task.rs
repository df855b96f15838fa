//! One task, driven by hand through a toy scheduler, with wakes, completion,
//! abort, shutdown and the `JoinHandle` racing each other.
//!
//! Every model ends by checking that
//! - the future was dropped exactly once,
//! - every output that was created was dropped exactly once,
//! - the task's allocation was freed: the cell owns a clone of the toy
//!   scheduler's (loom) `Arc`, so its strong count is back to 1 only once the
//!   cell is gone (and loom's leak checker would report the `Arc` otherwise),
//! - the toy queue never held two `Notified` for the task at once.

use super::{flag_waker, model, poll_once, Counter, DropCount, Outcomes, Output};
use crate::loom::sync::atomic::{AtomicBool, Ordering::Relaxed};
use crate::loom::sync::{Arc, Mutex};
use crate::rt::task::{new_task, Completed, JoinHandle, Notified, RawTask, Schedule, Task};
use loom::thread;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

// ----- a toy scheduler -------------------------------------------------------

struct ToyInner {
    queue: Mutex<VecDeque<Notified>>,
    /// A one-slot owned list: the list reference of the one task.
    owned: Mutex<Option<Task>>,
    /// Keep a task that completes with its `JoinHandle` alive listed (as
    /// the runtime does, for task dumps) instead of releasing it at once.
    keep_complete: bool,
    /// What happened to the list slot (keep-complete models).
    events: std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>,
    /// `Schedule::schedule` calls (wakes and aborts of an idle task).
    schedules: Counter,
    /// `Schedule::yield_now` calls (a wake during the poll, re-scheduled
    /// after it).
    yields: Counter,
}

/// Queues `Notified`s in a loom mutex; tests pop and run them by hand.
#[derive(Clone)]
struct Toy(Arc<ToyInner>);

impl Toy {
    fn new() -> Toy {
        Toy::with_keep_complete(false)
    }

    fn with_keep_complete(keep_complete: bool) -> Toy {
        Toy(Arc::new(ToyInner {
            queue: Mutex::new(VecDeque::new()),
            owned: Mutex::new(None),
            keep_complete,
            events: Default::default(),
            schedules: Counter::default(),
            yields: Counter::default(),
        }))
    }

    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, notified, join) = new_task(future, self.clone(), Location::caller());
        *self.0.owned.lock() = Some(task);
        self.0.queue.lock().push_back(notified);
        join
    }

    fn push(&self, task: Notified) {
        let mut queue = self.0.queue.lock();
        assert!(queue.is_empty(), "a second Notified was queued for the one task");
        queue.push_back(task);
    }

    /// Pops and runs one `Notified` (the lock is released before the poll,
    /// which may schedule the task again). False if the queue was empty.
    fn run_one(&self) -> bool {
        let task = self.0.queue.lock().pop_front();
        match task {
            Some(task) => {
                task.run();
                true
            }
            None => false,
        }
    }

    fn drain(&self) {
        while self.run_one() {}
    }

    fn reschedules(&self) -> usize {
        self.0.schedules.get() + self.0.yields.get()
    }

    /// Takes the list's reference, as `OwnedTasks::close_and_shutdown_all`
    /// does before it calls `Task::shutdown`.
    fn take_owned(&self) -> Option<Task> {
        self.0.owned.lock().take()
    }

    /// The task left the list and its cell (which holds a clone of our
    /// `Arc`) was freed.
    fn assert_freed(self) {
        assert!(self.0.queue.lock().is_empty(), "a Notified was left in the queue");
        assert!(self.0.owned.lock().is_none(), "the completed task is still in the owned list");
        assert_eq!(Arc::strong_count(&self.0), 1, "the task's allocation was not freed (reference leak)");
    }
}

impl Schedule for Toy {
    fn schedule(&self, task: Notified) {
        self.0.schedules.incr();
        self.push(task);
    }

    fn yield_now(&self, task: Notified) {
        self.0.yields.incr();
        self.push(task);
    }

    fn release(&self, task: RawTask) -> Option<Task> {
        let mut owned = self.0.owned.lock();
        if owned.as_ref().is_some_and(|t| t.raw() == task) {
            self.event("released");
            owned.take()
        } else {
            None
        }
    }

    fn complete_joinable(&self, task: RawTask) -> Completed {
        if !self.0.keep_complete {
            return match self.release(task) {
                Some(task) => Completed::Released(task),
                None => Completed::NotListed,
            };
        }
        // As the scheduler: the list is left untouched (still listed or
        // not); the handle's `release` or the drain takes the reference.
        self.event("kept");
        Completed::Kept
    }
}

impl Toy {
    fn event(&self, e: &'static str) {
        self.0.events.lock().unwrap().push(e);
    }

    fn events(&self) -> Vec<&'static str> {
        self.0.events.lock().unwrap().clone()
    }
}

// ----- a probe future --------------------------------------------------------

/// What a `Probed` future reports, and the flag that makes it ready.
#[derive(Clone)]
struct Probe {
    /// Set (Relaxed) by a thread before it wakes the task: the poll that the
    /// wake causes must see it, which only the task's AcqRel state
    /// transitions can guarantee.
    flag: Arc<AtomicBool>,
    /// The waker of the first poll.
    slot: Arc<Mutex<Option<Waker>>>,
    polls: Counter,
    future_drops: Counter,
    outputs_created: Counter,
    outputs_dropped: Counter,
}

impl Probe {
    fn new() -> Probe {
        Probe {
            flag: Arc::new(AtomicBool::new(false)),
            slot: Arc::new(Mutex::new(None)),
            polls: Counter::default(),
            future_drops: Counter::default(),
            outputs_created: Counter::default(),
            outputs_dropped: Counter::default(),
        }
    }

    /// A future that is ready once `flag` is set or at poll number
    /// `ready_at`; its first poll stores a waker clone in `slot`.
    fn future(&self, ready_at: Option<usize>) -> Probed {
        Probed { probe: self.clone(), ready_at, _drop: DropCount(self.future_drops.clone()) }
    }

    fn take_waker(&self) -> Waker {
        self.slot.lock().take().expect("the first poll stores a waker")
    }

    /// Drops a waker still in the slot (it holds a task reference).
    fn clear_slot(&self) {
        let waker = self.slot.lock().take();
        drop(waker);
    }

    fn assert_dropped_once(&self) {
        assert_eq!(self.future_drops.get(), 1, "the future was not dropped exactly once");
        assert!(self.outputs_created.get() <= 1, "the future produced two outputs");
        assert_eq!(
            self.outputs_dropped.get(),
            self.outputs_created.get(),
            "the output was not dropped exactly once"
        );
    }
}

struct Probed {
    probe: Probe,
    ready_at: Option<usize>,
    _drop: DropCount,
}

impl Future for Probed {
    type Output = Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        let p = &self.probe;
        p.polls.incr();
        let n = p.polls.get();
        if p.flag.load(Relaxed) || self.ready_at.is_some_and(|r| n >= r) {
            return Poll::Ready(Output::new(n, &p.outputs_created, &p.outputs_dropped));
        }
        if n == 1 {
            *p.slot.lock() = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// The handle's result must be ready; returns it.
fn expect_ready<T>(join: &mut JoinHandle<T>) -> Result<T, crate::JoinError> {
    assert!(join.is_finished(), "the task did not finish");
    match poll_once(join) {
        Poll::Ready(res) => res,
        Poll::Pending => panic!("JoinHandle pending although is_finished() is true"),
    }
}

// ----- models ----------------------------------------------------------------

/// The task is queued and polled on one thread while another sets the flag
/// and wakes it. The wake must not be lost (the task completes), must be
/// seen by the next poll (flag published), and re-schedules at most once:
/// exactly once if the racing poll missed the flag.
///
/// `detach`: the `JoinHandle` is dropped first, so the output is dropped by
/// the completing thread and the waker may hold the last reference.
fn wake_races_poll(by_val: bool, detach: bool) {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let toy = Toy::new();
        let probe = Probe::new();
        let mut join = Some(toy.spawn(probe.future(None)));
        assert!(toy.run_one());
        assert_eq!(probe.polls.get(), 1);
        let waker = probe.take_waker();
        // Queue poll 2, to race with the wake below.
        waker.wake_by_ref();
        if detach {
            drop(join.take());
        }
        let before = toy.reschedules();

        let worker = {
            let toy = toy.clone();
            thread::spawn(move || assert!(toy.run_one()))
        };
        let waker_thread = {
            let flag = probe.flag.clone();
            thread::spawn(move || {
                flag.store(true, Relaxed);
                if by_val {
                    waker.wake();
                } else {
                    waker.wake_by_ref();
                    drop(waker);
                }
            })
        };
        worker.join().unwrap();
        waker_thread.join().unwrap();

        let rescheduled = toy.reschedules() - before;
        toy.drain();
        match probe.polls.get() {
            // Poll 2 saw the flag: the wake came before or during it, or
            // after completion; nothing may be re-scheduled.
            2 => assert_eq!(rescheduled, 0, "woken task re-scheduled although poll 2 completed it"),
            // Poll 2 missed the flag, so the wake came during or after it:
            // exactly one re-schedule, and poll 3 saw the flag.
            3 => assert_eq!(rescheduled, 1, "a wake during/after the poll must re-schedule exactly once"),
            n => panic!("{n} polls: the wake was lost or duplicated"),
        }
        seen.saw(if probe.polls.get() == 2 { "completed by the racing poll" } else { "re-scheduled once" });
        if toy.0.yields.get() > 0 {
            seen.saw("woken while running");
        }
        assert_eq!(probe.outputs_created.get(), 1, "the task did not complete: lost wake-up");
        if let Some(mut join) = join {
            let out = expect_ready(&mut join).expect("not cancelled");
            assert_eq!(out.value, probe.polls.get());
        }
        probe.clear_slot();
        probe.assert_dropped_once();
        toy.assert_freed();
    });
}

#[test]
fn wake_by_val_races_poll() {
    wake_races_poll(true, false);
}

/// The by-ref wake: on a task that is already NOTIFIED it must still write
/// (an RMW), or it is not ordered with the `transition_to_running` of the
/// poll it relies on and the waker's earlier writes may be missed: the lost
/// wake-up this model found (docs/testing.md, "Bugs found").
#[test]
fn wake_by_ref_races_poll() {
    wake_races_poll(false, false);
}

#[test]
fn wake_by_val_races_poll_detached() {
    wake_races_poll(true, true);
}

/// `abort` races a wake and the poll it causes. `ready_at`: `Some(2)` the
/// racing poll completes the task (abort racing completion), `None` it
/// stays pending (abort racing a pending poll: `transition_to_idle` sees
/// CANCELLED). The handle must resolve either way; a completed task keeps
/// its output, an aborted one yields a cancelled `JoinError`.
fn abort_races(ready_at: Option<usize>) {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let toy = Toy::new();
        let probe = Probe::new();
        let join = toy.spawn(probe.future(ready_at));
        assert!(toy.run_one());
        let waker = probe.take_waker();

        let worker = {
            let toy = toy.clone();
            thread::spawn(move || {
                waker.wake();
                toy.drain();
            })
        };
        let aborter = thread::spawn(move || {
            join.abort();
            join
        });
        worker.join().unwrap();
        let mut join = aborter.join().unwrap();
        toy.drain();

        match expect_ready(&mut join) {
            Ok(out) => {
                assert_eq!(ready_at, Some(2), "a never-ready future produced an output");
                assert_eq!(out.value, 2);
                seen.saw("completed");
            }
            Err(e) => {
                assert!(e.is_cancelled(), "{e:?}");
                assert_eq!(probe.outputs_created.get(), 0, "cancelled, yet an output was produced");
                seen.saw(if probe.polls.get() == 2 {
                    "cancelled after a poll"
                } else {
                    "cancelled before a poll"
                });
            }
        }
        drop(join);
        probe.clear_slot();
        probe.assert_dropped_once();
        toy.assert_freed();
    });
    match ready_at {
        Some(_) => outcomes.assert_all_seen(&["completed", "cancelled before a poll"]),
        None => outcomes.assert_all_seen(&["cancelled after a poll", "cancelled before a poll"]),
    }
}

#[test]
fn abort_races_completion() {
    abort_races(Some(2));
}

#[test]
fn abort_races_pending_poll() {
    abort_races(None);
}

/// A future whose poll 2 always yields through `waker::yield_self` (the
/// mark the harness turns into NOTIFIED, no wake); other polls are ready
/// once `flag` is set. Poll 1 stores a waker clone in the probe's slot.
struct Yielder {
    probe: Probe,
    _drop: DropCount,
}

impl Future for Yielder {
    type Output = Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        let p = &self.probe;
        p.polls.incr();
        let n = p.polls.get();
        if n == 2 {
            crate::rt::task::waker::yield_self(cx.waker());
            // The path under test: a mark, not a fallback wake.
            assert_eq!(
                crate::rt::task::waker::polling_mark(),
                cx.waker().data() as usize | 1,
                "yield_self fell back to wake_by_ref"
            );
            return Poll::Pending;
        }
        if p.flag.load(Relaxed) {
            return Poll::Ready(Output::new(n, &p.outputs_created, &p.outputs_dropped));
        }
        if n == 1 {
            *p.slot.lock() = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A yield without a wake (`State::transition_to_idle_yielded`) races a
/// wake (`abort` false) or an abort (`abort` true) from another thread;
/// the worker runs the yielding poll 2 and then poll 3. The yield must
/// re-schedule the task exactly once, whether or not the wake already set
/// NOTIFIED, and never queue a second `Notified` (the toy asserts it); a
/// wake merged into the yield must be published to poll 3 (the flag) and
/// submit nothing; a later one re-schedules once; an abort must cancel the
/// task whether it lands during the yielding poll (`to_idle` sees
/// CANCELLED) or after it (the queued task is cancelled when popped).
fn yield_races(abort: bool) {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let toy = Toy::new();
        let probe = Probe::new();
        let future = Yielder { probe: probe.clone(), _drop: DropCount(probe.future_drops.clone()) };
        let join = toy.spawn(future);
        assert!(toy.run_one());
        let waker = probe.take_waker();
        // Queue poll 2 (the yield), to race with the other thread.
        waker.wake_by_ref();

        let before = toy.0.schedules.get();
        // The worker runs poll 2 (the yield) and whatever that queued:
        // poll 3 must see the flag if the wake was merged into the yield.
        let worker = {
            let toy = toy.clone();
            thread::spawn(move || {
                assert!(toy.run_one());
                let _ = toy.run_one();
            })
        };
        let other = {
            let flag = probe.flag.clone();
            thread::spawn(move || {
                if abort {
                    join.abort();
                } else {
                    flag.store(true, Relaxed);
                    waker.wake_by_ref();
                }
                drop(waker);
                join
            })
        };
        worker.join().unwrap();
        let mut join = other.join().unwrap();
        toy.drain();
        if toy.0.yields.get() >= 1 {
            seen.saw("re-scheduled by the yield");
        }
        if abort {
            let e = expect_ready(&mut join).expect_err("aborted before the flag could be set");
            assert!(e.is_cancelled(), "{e:?}");
            assert_eq!(probe.outputs_created.get(), 0);
            seen.saw(match probe.polls.get() {
                1 => "cancelled before poll 2",
                2 => "cancelled during or right after the yield",
                3 => "cancelled after poll 3",
                n => panic!("{n} polls of an aborted task"),
            });
        } else {
            let out = expect_ready(&mut join).expect("not cancelled");
            // Re-schedules after poll 1: the yield's, plus the wake's if
            // it came too late for the yield to carry it.
            let total = toy.0.yields.get() + (toy.0.schedules.get() - before);
            match out.value {
                // The wake came before poll 3 started (during the yielding
                // poll, or while the yield's Notified was queued): it was
                // merged, re-scheduled nothing, and poll 3 saw the flag.
                3 => assert_eq!(total, 1, "a wake merged into the yield re-scheduled the task again"),
                // Poll 3 missed the flag, so the wake came during or after
                // it and re-scheduled the task exactly once more.
                4 => assert_eq!(total, 2, "a wake after the yield must re-schedule exactly once"),
                n => panic!("{n} polls: a wake was lost or a poll repeated"),
            }
            seen.saw(if out.value == 3 { "completed at poll 3" } else { "completed at poll 4" });
        }
        drop(join);
        probe.clear_slot();
        probe.assert_dropped_once();
        toy.assert_freed();
    });
    if abort {
        outcomes.assert_all_seen(&[
            "cancelled before poll 2",
            "cancelled during or right after the yield",
            "cancelled after poll 3",
            "re-scheduled by the yield",
        ]);
    } else {
        outcomes.assert_all_seen(&[
            "completed at poll 3",
            "completed at poll 4",
            "re-scheduled by the yield",
        ]);
    }
}

#[test]
fn yield_races_wake() {
    yield_races(false);
}

#[test]
fn yield_races_abort() {
    yield_races(true);
}

/// The `JoinHandle` is dropped while the task completes on another thread.
/// The output must be dropped exactly once: by the completer if
/// JOIN_INTEREST was already clear, else by the handle. `with_waker`: the
/// handle was polled first, so a join waker sits in the trailer; it must be
/// freed with the task.
fn join_drop_races_completion(with_waker: bool) {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let toy = Toy::new();
        let probe = Probe::new();
        let mut join = toy.spawn(probe.future(Some(1)));
        let (waker, _wakes, waker_dropped) = flag_waker();
        if with_waker {
            let mut cx = Context::from_waker(&waker);
            assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        }
        drop(waker);

        let worker = {
            let toy = toy.clone();
            thread::spawn(move || assert!(toy.run_one()))
        };
        let dropper = {
            let dropped = probe.outputs_dropped.clone();
            thread::spawn(move || {
                let before = dropped.get();
                drop(join);
                dropped.get() > before
            })
        };
        worker.join().unwrap();
        let handle_dropped_output = dropper.join().unwrap();
        seen.saw(if handle_dropped_output {
            "output dropped by the handle"
        } else {
            "output dropped by the completer"
        });

        assert_eq!(probe.outputs_created.get(), 1);
        probe.assert_dropped_once();
        toy.assert_freed();
        assert_eq!(waker_dropped.get(), 1, "the join waker was leaked");
    });
    outcomes.assert_all_seen(&["output dropped by the handle", "output dropped by the completer"]);
}

#[test]
fn join_drop_races_completion_no_waker() {
    join_drop_races_completion(false);
}

#[test]
fn join_drop_races_completion_with_waker() {
    join_drop_races_completion(true);
}

/// The join waker slot: the handle registers a waker and is then dropped
/// while the task completes on another thread (on a scheduler that keeps a
/// completed, joinable task listed, as the runtime does). A handle dropped
/// before COMPLETE takes the slot back and drops the waker before its drop
/// returns, and the completer never wakes it; after COMPLETE the waker
/// stays, may be woken, and goes with the cell. Either way it is dropped
/// exactly once and the cell is freed.
#[test]
fn join_waker_slot_register_and_drop_race_completion() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let toy = Toy::with_keep_complete(true);
        let probe = Probe::new();
        let join = toy.spawn(probe.future(Some(1)));
        let (waker, wakes, waker_dropped) = flag_waker();

        let worker = {
            let toy = toy.clone();
            thread::spawn(move || assert!(toy.run_one()))
        };
        let mut join = join;
        let registered = Pin::new(&mut join).poll(&mut Context::from_waker(&waker)).is_pending();
        drop(waker);
        let outputs_before = probe.outputs_dropped.get();
        drop(join);
        let handle_dropped_output = probe.outputs_dropped.get() > outputs_before;
        if registered && !handle_dropped_output {
            // Dropped before COMPLETE, or after the output was read? Not
            // read: `registered` means Pending, so the handle was dropped
            // before COMPLETE.
            assert_eq!(waker_dropped.get(), 1, "the dropped handle left its waker in the trailer");
            seen.saw("dropped before completion, waker freed by the handle");
        }
        worker.join().unwrap();
        if registered && !handle_dropped_output {
            assert_eq!(wakes.get(), 0, "a dropped handle's waker was woken");
        } else if registered {
            seen.saw("dropped after completion");
        } else {
            seen.saw("complete at the poll");
        }
        if let Some(task) = toy.0.owned.lock().take() {
            drop(task);
        }
        probe.assert_dropped_once();
        toy.assert_freed();
        assert_eq!(waker_dropped.get(), 1, "the join waker was leaked or dropped twice");
    });
    outcomes.assert_all_seen(&[
        "dropped before completion, waker freed by the handle",
        "dropped after completion",
        "complete at the poll",
    ]);
}

/// The `JoinHandle` is polled (registering a join waker, then replacing it
/// with a different one: `set_join_waker` and `unset_join_waker`) while the
/// task completes. If the last poll returned `Pending`, the waker it
/// registered must be woken: no lost join wake-up.
#[test]
fn join_poll_races_completion() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let toy = Toy::new();
        let probe = Probe::new();
        let mut join = toy.spawn(probe.future(Some(1)));

        let worker = {
            let toy = toy.clone();
            thread::spawn(move || assert!(toy.run_one()))
        };
        let joiner = thread::spawn(move || {
            let mut last = None;
            for _ in 0..2 {
                let (waker, wakes, dropped) = flag_waker();
                let mut cx = Context::from_waker(&waker);
                match Pin::new(&mut join).poll(&mut cx) {
                    Poll::Ready(res) => return (join, Some(res), last),
                    Poll::Pending => last = Some((wakes, dropped)),
                }
            }
            (join, None, last)
        });
        worker.join().unwrap();
        let (mut join, res, last) = joiner.join().unwrap();

        seen.saw(match (&res, &last) {
            (Some(_), None) => "ready at the first poll",
            (Some(_), Some(_)) => "ready at the second poll",
            (None, _) => "pending twice, then woken",
        });
        let out = match res {
            Some(res) => res,
            None => {
                let (wakes, _) = last.as_ref().unwrap();
                assert_eq!(wakes.get(), 1, "the join waker of the pending poll was not woken exactly once");
                expect_ready(&mut join)
            }
        };
        assert_eq!(out.expect("not cancelled").value, 1);
        drop(join);
        probe.assert_dropped_once();
        toy.assert_freed();
        if let Some((_, dropped)) = last {
            assert_eq!(dropped.get(), 1, "the join waker was leaked");
        }
    });
    outcomes.assert_all_seen(&[
        "ready at the first poll",
        "ready at the second poll",
        "pending twice, then woken",
    ]);
}

/// Shutdown (`Task::shutdown` on the list's reference, as the owned list's
/// drain does) races a wake and the poll it causes. The future is dropped
/// exactly once, by whichever side holds RUNNING; the handle resolves with
/// the output (the racing poll completed it) or a cancelled error.
fn shutdown_races_poll(ready_at: Option<usize>) {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let toy = Toy::new();
        let probe = Probe::new();
        let mut join = toy.spawn(probe.future(ready_at));
        assert!(toy.run_one());
        let waker = probe.take_waker();

        let worker = {
            let toy = toy.clone();
            thread::spawn(move || {
                waker.wake();
                toy.drain();
            })
        };
        let closer = {
            let toy = toy.clone();
            thread::spawn(move || {
                if let Some(task) = toy.take_owned() {
                    task.shutdown();
                }
            })
        };
        worker.join().unwrap();
        closer.join().unwrap();
        toy.drain();

        match expect_ready(&mut join) {
            Ok(out) => {
                assert_eq!((ready_at, out.value), (Some(2), 2));
                seen.saw("completed");
            }
            Err(e) => {
                assert!(e.is_cancelled(), "{e:?}");
                assert_eq!(probe.outputs_created.get(), 0);
                seen.saw(if probe.polls.get() == 2 {
                    "cancelled after a poll"
                } else {
                    "cancelled before a poll"
                });
            }
        }
        drop(join);
        probe.clear_slot();
        probe.assert_dropped_once();
        toy.assert_freed();
    });
    match ready_at {
        Some(_) => outcomes.assert_all_seen(&["completed", "cancelled before a poll"]),
        None => outcomes.assert_all_seen(&["cancelled after a poll", "cancelled before a poll"]),
    }
}

#[test]
fn shutdown_races_completion() {
    shutdown_races_poll(Some(2));
}

#[test]
fn shutdown_races_pending_poll() {
    shutdown_races_poll(None);
}

/// A future that awaits another task's `JoinHandle` and keeps the waker of
/// its first poll in `slot` (so the test can notify it by other means).
struct AwaitJoin {
    join: JoinHandle<Output>,
    slot: Arc<Mutex<Option<Waker>>>,
    polled: bool,
}

impl Future for AwaitJoin {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if !self.polled {
            self.polled = true;
            *self.slot.lock() = Some(cx.waker().clone());
        }
        Pin::new(&mut self.join).poll(cx).map(|res| res.expect("not cancelled").value)
    }
}

/// The same race through weft's own `JoinHandle`, with no user atomics:
/// task P awaits task C's handle (P's waker is C's join waker) and has
/// already been notified for another reason (queued, not yet running) when
/// C completes on another thread. Had C's completion woken P by ref without
/// writing (P is NOTIFIED), P's poll on a third thread could read a stale,
/// not-COMPLETE state of C, see its own waker already registered
/// (`will_wake`, no RMW either) and return Pending, and P would never be
/// polled again (docs/testing.md, "Bugs found"). P must finish.
#[test]
fn join_wake_races_notified_poll() {
    model(|| {
        let (toy_c, toy_p) = (Toy::new(), Toy::new());
        let probe = Probe::new();
        let join_c = toy_c.spawn(probe.future(Some(2)));
        let slot = Arc::new(Mutex::new(None));
        let mut join_p = toy_p.spawn(AwaitJoin { join: join_c, slot: slot.clone(), polled: false });
        // C: first poll, pending. P: first poll registers P's waker as C's
        // join waker, pending.
        assert!(toy_c.run_one());
        assert!(toy_p.run_one());
        // Queue both again: C will complete, P is notified "by something
        // else" (its own waker, by ref).
        let waker_c = probe.take_waker();
        waker_c.wake_by_ref();
        let waker_p = slot.lock().take().unwrap();
        waker_p.wake_by_ref();

        let completer = {
            let toy_c = toy_c.clone();
            thread::spawn(move || assert!(toy_c.run_one()))
        };
        let poller = {
            let toy_p = toy_p.clone();
            thread::spawn(move || assert!(toy_p.run_one()))
        };
        completer.join().unwrap();
        poller.join().unwrap();
        toy_c.drain();
        toy_p.drain();

        assert_eq!(expect_ready(&mut join_p).expect("not cancelled"), 2, "P missed C's completion");
        drop(join_p);
        drop((waker_c, waker_p));
        probe.clear_slot();
        probe.assert_dropped_once();
        toy_c.assert_freed();
        toy_p.assert_freed();
    });
}

/// Complete-but-unjoined: the runtime's list keeps a task that completes
/// while its `JoinHandle` exists, until the handle reads the output or is
/// dropped (docs/design/task.md, "List membership"). Here the task
/// completes on one thread while the handle is read-then-dropped
/// (`read`) or just dropped on a second, and shutdown's drain takes the
/// list's reference on a third. Whichever of completer, handle and drain
/// takes the list's reference, it is dropped exactly once: no double free
/// (loom would see a use after free of the cell, or the count assert
/// fires), no leak (the toy `Arc` in the cell is freed, the slot is
/// empty), the future and the output are dropped exactly once.
/// `shutdown: false` leaves the drain out, so a handle that forgot to
/// release the task shows as a task left in the list (with the drain, it
/// would only show as a missing outcome).
fn keep_complete_races_join_and_shutdown(read: bool, shutdown: bool) {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let toy = Toy::with_keep_complete(true);
        let probe = Probe::new();
        let mut join = toy.spawn(probe.future(Some(1)));

        let worker = {
            let toy = toy.clone();
            thread::spawn(move || {
                toy.run_one();
            })
        };
        let joiner = thread::spawn(move || {
            if read {
                match poll_once(&mut join) {
                    // Completed by its poll, or cancelled by shutdown first.
                    Poll::Ready(Ok(out)) => assert_eq!(out.value, 1),
                    Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "{e:?}"),
                    Poll::Pending => {}
                }
            }
            drop(join);
        });
        let closer = shutdown.then(|| {
            let toy = toy.clone();
            thread::spawn(move || toy.take_owned().map(|task| task.shutdown()).is_some())
        });
        worker.join().unwrap();
        joiner.join().unwrap();
        let drained = closer.is_some_and(|closer| closer.join().unwrap());
        toy.drain();

        let events = toy.events();
        // The completer no longer looks at the list when the handle exists
        // (it leaves the task listed, untouched), so whether the handle's
        // release comes before or after its "kept" is no longer a race.
        let kept = events.contains(&"kept");
        seen.saw(match (drained, kept, events.contains(&"released")) {
            (true, true, _) => "kept, then drained by shutdown",
            (true, false, _) => "drained by shutdown before completion was recorded",
            (false, true, true) => "kept, then released by the handle",
            (false, true, false) => unreachable!("kept, yet neither released nor drained: {events:?}"),
            (false, false, _) => "handle gone before completion, released by the completer",
        });
        probe.clear_slot();
        probe.assert_dropped_once();
        toy.assert_freed();
    });
    let mut expected =
        vec!["kept, then released by the handle", "handle gone before completion, released by the completer"];
    if shutdown {
        expected
            .extend(["kept, then drained by shutdown", "drained by shutdown before completion was recorded"]);
    }
    outcomes.assert_all_seen(&expected);
}

#[test]
fn keep_complete_races_join_drop() {
    keep_complete_races_join_and_shutdown(false, false);
}

#[test]
fn keep_complete_races_join_drop_and_shutdown() {
    keep_complete_races_join_and_shutdown(false, true);
}

#[test]
fn keep_complete_races_join_read_and_shutdown() {
    keep_complete_races_join_and_shutdown(true, true);
}

// The leak check (`Snapshot::is_leaked_if_listed`) racing the task's
// waker and handles: loom-tests/task_leak.rs.
#[path = "task_leak.rs"]
mod leak;
