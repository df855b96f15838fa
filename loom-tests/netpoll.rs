//! The netpoller's hand-offs (`src/rt/netpoll/`, docs/design/netpoll.md):
//!
//! - `ScheduledIo`: a task registering interest (`poll_ready`) against the
//!   netpoller applying an event (`set_readiness` + `take_wakers`); the
//!   owner's `clear_readiness` against a new edge, also when the clear
//!   follows a read that emptied the socket rather than a `WouldBlock`; a
//!   slot handed to a new owner against a late event for the old token.
//! - `Parker::park_driver` / `unpark_worker`: a worker parked *inside* the
//!   poller is woken through the poller's waker.
//! - The timer hand-off between the poller's owner going to sleep
//!   (`DriverGuard::publish_timer_deadline`) and a thread inserting an
//!   earlier timer (`Driver::timer_inserted`).
//!
//! Under loom the OS poller is the shell in `src/rt/netpoll/sys_shell.rs`: a
//! blocking poll returns only after `Driver::wake`, so a lost wake-up of
//! the poller is a loom deadlock.
//!
//! The models are small (two threads, a handful of operations), so they
//! search with at least `PREEMPTIONS` preemptions instead of CI's 2: some
//! sides of the races below need three.

use super::{flag_waker, model_min_preemptions, Outcomes};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use crate::loom::sync::Arc;
use crate::rt::netpoll::scheduled_io::{ScheduledIo, READABLE};
use crate::rt::netpoll::{Direction, Driver, TimerHandoff};
use crate::rt::scheduler::park::Parker;
use crate::rt::time::timer::{Timer, TimerHandle};
use crate::rt::time::TimerShards;
use loom::thread;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

/// The least preemption bound of these models (see the module doc).
const PREEMPTIONS: usize = 4;

/// Applies one READABLE event the way `sys_mio::poll` does: set the
/// readiness if the token's generation is current, then take the wakers
/// and wake them (outside the waiters lock). Returns (applied, woken).
fn apply_event(io: &ScheduledIo, gen: usize) -> (bool, usize) {
    if !io.set_readiness(gen, READABLE) {
        return (false, 0);
    }
    let mut wakers = Vec::new();
    io.take_wakers(READABLE, &mut wakers);
    let woken = wakers.len();
    wakers.into_iter().for_each(Waker::wake);
    (true, woken)
}

/// A task polls for readability while the netpoller applies a READABLE
/// event: the poll returns Ready, or its waker is woken (exactly once).
/// The poller stores its waker and re-reads readiness under the waiters
/// lock; the netpoller publishes readiness (RMW) and then takes the
/// wakers under the same lock.
#[test]
fn scheduled_io_no_lost_wakeup() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(PREEMPTIONS, move || {
        let io = Arc::new(ScheduledIo::new());
        let gen = io.reset_for_new_owner();
        let netpoller = {
            let io = io.clone();
            thread::spawn(move || apply_event(&io, gen))
        };
        let (waker, wakes, _) = flag_waker();
        let mut cx = Context::from_waker(&waker);
        let first = io.poll_ready(&mut cx, Direction::Read);
        let (applied, woken) = netpoller.join().unwrap();
        assert!(applied, "an event for the current generation was refused");
        assert_eq!(wakes.get(), woken, "a waker taken was not woken exactly once");
        assert!(woken <= 1);
        match first {
            Poll::Ready(ev) => {
                assert_eq!(ev.ready, READABLE);
                // Woken anyway: the event landed between the poller's
                // fast-path read and its re-read under the lock; a
                // spurious wake, allowed.
                seen.saw(if woken == 0 { "ready" } else { "ready, woken anyway" });
            }
            Poll::Pending => {
                assert_eq!(woken, 1, "poll_ready returned Pending and the event woke nobody: lost wake-up");
                seen.saw("pending, then woken");
            }
        }
        // The poll the wake causes sees the readiness.
        assert!(io.poll_ready(&mut cx, Direction::Read).is_ready());
    });
    outcomes.assert_all_seen(&["ready", "ready, woken anyway", "pending, then woken"]);
}

/// The owner saw READABLE (`ev`), its read returned WouldBlock and it
/// calls `clear_readiness(ev)`, while the netpoller applies a second
/// READABLE edge. Invariant: an edge applied after the observation is
/// never erased; the clear erases only what the owner observed. (If the
/// owner's observation already included the second edge, the clear may
/// erase it: the owner's read ran after that edge.)
#[test]
fn clear_readiness_keeps_newer_edge() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(PREEMPTIONS, move || {
        let io = Arc::new(ScheduledIo::new());
        let gen = io.reset_for_new_owner();
        assert!(io.set_readiness(gen, READABLE));
        let first_edge = io.ready_event(Direction::Read).expect("readable after the first edge");
        let netpoller = {
            let io = io.clone();
            thread::spawn(move || assert!(io.set_readiness(gen, READABLE)))
        };
        // Owner: observe, the operation returns WouldBlock, clear.
        let ev = io.ready_event(Direction::Read).expect("readiness is never cleared by the netpoller");
        io.clear_readiness(ev);
        let right_after = io.ready_event(Direction::Read);
        netpoller.join().unwrap();
        let finally = io.ready_event(Direction::Read);
        if ev == first_edge {
            assert!(
                finally.is_some(),
                "clear_readiness erased an edge applied after the owner's observation"
            );
            seen.saw(if right_after.is_none() {
                "cleared, then the new edge set it again"
            } else {
                "new edge first, the clear kept it"
            });
        } else {
            assert!(finally.is_none(), "the owner observed both edges; its clear must take effect");
            seen.saw("observed the new edge, cleared it");
        }
    });
    // "observed the new edge, cleared it" (the owner's observation reads
    // the second edge) is not required: loom 0.7 does not schedule the
    // netpoller's whole update before the owner's first load here (not at
    // any preemption bound we tried); it is not the race this model is
    // about.
    outcomes
        .assert_all_seen(&["cleared, then the new edge set it again", "new edge first, the clear kept it"]);
}

/// A stream read that emptied the socket (a short read, or the kernel's
/// TCP_INQ count of 0) clears the readiness it observed without a
/// `WouldBlock`, and the task then waits for the next message, whose edge
/// the netpoller applies meanwhile. The task's wait returns Ready, or its
/// waker is woken exactly once: the clear never swallows the next
/// message's edge (docs/design/netpoll.md, "Reads that empty the socket").
#[test]
fn clear_after_a_draining_read_keeps_the_next_message() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(PREEMPTIONS, move || {
        let io = Arc::new(ScheduledIo::new());
        let gen = io.reset_for_new_owner();
        assert!(io.set_readiness(gen, READABLE));
        let (waker, wakes, _) = flag_waker();
        let mut cx = Context::from_waker(&waker);
        // The read: observe readiness; the read takes every byte there is.
        let Poll::Ready(ev) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("readable after the first edge");
        };
        // The next message arrives: its edge is applied concurrently.
        let netpoller = {
            let io = io.clone();
            thread::spawn(move || apply_event(&io, gen))
        };
        // The kernel said nothing is left: clear what was observed, then
        // wait for more.
        io.clear_readiness(ev);
        let wait = io.poll_ready(&mut cx, Direction::Read);
        let (applied, woken) = netpoller.join().unwrap();
        assert!(applied);
        assert_eq!(wakes.get(), woken, "a waker taken was not woken exactly once");
        match wait {
            Poll::Ready(_) => seen.saw(if woken == 0 { "ready" } else { "ready, woken anyway" }),
            Poll::Pending => {
                assert_eq!(woken, 1, "the wait is Pending and the next message's edge woke nobody");
                seen.saw("pending, then woken");
            }
        }
        assert!(
            io.poll_ready(&mut cx, Direction::Read).is_ready(),
            "the next message's readiness was erased"
        );
    });
    outcomes.assert_all_seen(&["ready", "pending, then woken"]);
}

/// The slab frees a slot (`release`) and hands it to a new registration
/// (`reset_for_new_owner`), which polls for readability, while the
/// netpoller applies a late event carrying the old token. The new owner
/// never sees readiness from the old token; the old event either lands
/// before the release (and is erased by it) or is refused.
#[test]
fn stale_generation_event_ignored() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(PREEMPTIONS, move || {
        let io = Arc::new(ScheduledIo::new());
        let old = io.reset_for_new_owner();
        // The old owner waits for readability.
        let (old_waker, old_wakes, _) = flag_waker();
        assert!(io.poll_ready(&mut Context::from_waker(&old_waker), Direction::Read).is_pending());
        drop(old_waker);
        let netpoller = {
            let io = io.clone();
            thread::spawn(move || apply_event(&io, old))
        };
        // Deregistration, then a new registration in the same slot.
        io.release();
        let new = io.reset_for_new_owner();
        assert_ne!(new, old);
        let (waker, wakes, _) = flag_waker();
        let mut cx = Context::from_waker(&waker);
        let polled = io.poll_ready(&mut cx, Direction::Read);
        let (applied, woken) = netpoller.join().unwrap();
        assert!(polled.is_pending(), "the new owner saw readiness of the old token");
        assert!(
            io.ready_event(Direction::Read).is_none(),
            "readiness of the old token survived the hand-over"
        );
        assert!(old_wakes.get() <= 1 && wakes.get() <= 1);
        assert_eq!(old_wakes.get() + wakes.get(), woken);
        if applied {
            // The event came before the release. Its `take_wakers` runs
            // after the generation check and may find the old owner's
            // waker, nothing (the release dropped it) or the *new* owner's
            // waker (a spurious wake: the new owner re-polls, sees nothing,
            // and registers again; nothing is lost).
            seen.saw(match (old_wakes.get(), wakes.get()) {
                (1, 0) => "old event applied, old owner woken",
                (0, 1) => "old event applied, new owner woken spuriously",
                _ => "old event applied, no waker left",
            });
        } else {
            assert_eq!(woken, 0);
            seen.saw("old event refused");
        }
        // The new generation works.
        assert!(io.set_readiness(new, READABLE));
        assert!(io.poll_ready(&mut cx, Direction::Read).is_ready());
    });
    outcomes.assert_all_seen(&[
        "old event applied, old owner woken",
        "old event applied, new owner woken spuriously",
        "old event applied, no waker left",
        "old event refused",
    ]);
}

/// A worker that owns the netpoller parks in it (`park_driver`, no
/// timeout) while another thread unparks it (`unpark_worker`): the token
/// either arrives first (`park_driver` returns at once) or finds
/// PARKED_DRIVER and writes the poller's waker. A lost wake-up is a loom
/// deadlock. `park_driver` returning carries the unparker's earlier
/// Relaxed write, and leaves the parker EMPTY (a second round works).
#[test]
fn unpark_reaches_driver_parker() {
    model_min_preemptions(PREEMPTIONS, || {
        let driver = Arc::new(Driver::new().expect("loom netpoller"));
        let parker = Arc::new(Parker::new());
        let data = Arc::new(AtomicUsize::new(0));
        let unparker = {
            let (driver, parker, data) = (driver.clone(), parker.clone(), data.clone());
            thread::spawn(move || {
                data.store(1, Relaxed);
                parker.unpark_worker(&driver);
            })
        };
        let mut guard = driver.try_acquire().expect("nobody else holds the poller");
        let mut wakers = Vec::new();
        assert_eq!(parker.park_driver(&mut guard, None, &mut wakers), 0, "the shell reports no events");
        assert_eq!(data.load(Relaxed), 1, "park_driver returned without the unparker's write");
        unparker.join().unwrap();
        // Back to EMPTY: a new token makes the next park return at once
        // (a parker left in PARKED_DRIVER would hit `unreachable!`).
        parker.unpark_worker(&driver);
        assert_eq!(parker.park_driver(&mut guard, None, &mut wakers), 0);
        assert!(wakers.is_empty());
    });
}

/// The model's timer handle: inserts into `shards` and, when the insert
/// makes its timer the earliest of the shard, runs the scheduler's
/// hand-off (`Shared::timer_earliest_changed` calls the same
/// `Driver::timer_inserted`) and records what it found.
struct Inserter {
    shards: Arc<TimerShards>,
    driver: Arc<Driver>,
    handoff: std::sync::Arc<std::sync::Mutex<Option<TimerHandoff>>>,
}

// SAFETY: `shards` returns the `TimerShards` of one `Arc` that never
// changes and that the handle keeps alive.
unsafe impl TimerHandle for Inserter {
    fn shards(&self) -> &TimerShards {
        &self.shards
    }

    fn earliest_changed(&self, _shard: usize, deadline: u64) {
        let found = self.driver.timer_inserted(deadline);
        *self.handoff.lock().unwrap() = Some(found);
    }
}

fn noop_waker() -> Waker {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    Waker::from(std::sync::Arc::new(Noop))
}

/// The poller's owner goes to sleep (publish its deadline, re-read the
/// timers' earliest expiration, as `Worker::park_on_driver` does through
/// `DriverGuard::publish_timer_deadline`) while another thread inserts a
/// timer earlier than the one the owner knows of and runs the hand-off
/// (`Driver::timer_inserted`). Invariant: the owner's published deadline
/// covers the new timer, or the inserter woke the poll. The shell has no
/// clock, so the owner blocks only if its deadline would be too late; a
/// missed wake is then a loom deadlock. An inserter that finds
/// NOT_POLLING leaves the timer to a parked worker (`notify_parked` in the
/// scheduler); here it must be because the owner had not published yet,
/// so the owner's re-read covers the timer.
#[test]
fn timer_deadline_handoff() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(PREEMPTIONS, move || {
        let shards = Arc::new(TimerShards::new(2));
        let driver = Arc::new(Driver::new().expect("loom netpoller"));
        let now = shards.clock().now_ms();
        let (early, late) = (now + 1_000_000, now + 2_000_000);
        let noop = noop_waker();
        // The timer the owner already knows of, in shard 0.
        let mut known = Box::pin(Timer::new(shards.clone(), late));
        assert!(known.as_mut().poll_elapsed(&mut Context::from_waker(&noop), 0).is_pending());

        let handoff = std::sync::Arc::new(std::sync::Mutex::new(None));
        let inserter = {
            let handle =
                Inserter { shards: shards.clone(), driver: driver.clone(), handoff: handoff.clone() };
            thread::spawn(move || {
                let mut timer: Pin<Box<Timer<Inserter>>> = Box::pin(Timer::new(handle, early));
                assert!(timer.as_mut().poll_elapsed(&mut Context::from_waker(&noop_waker()), 1).is_pending());
                timer
            })
        };

        let mut guard = driver.try_acquire().expect("nobody else holds the poller");
        let published = guard.publish_timer_deadline(|| shards.next_expiration());
        let covered = published.is_some_and(|deadline| deadline <= early);
        if !covered {
            // This poll would time out after the new timer: only the
            // inserter's wake can end it in time.
            guard.poll(None, &mut Vec::new());
        }
        drop(guard);
        let timer = inserter.join().unwrap();
        let found = handoff.lock().unwrap().expect("the insert lowered shard 1's earliest expiration");
        match (found, covered) {
            (TimerHandoff::NotPolling, true) => seen.saw("not polling yet; the owner's re-read covered it"),
            (TimerHandoff::Woken, false) => seen.saw("the owner slept for the later timer; woken"),
            (TimerHandoff::Woken, true) => seen.saw("woken, though the owner's re-read covered it"),
            (TimerHandoff::Covered, true) => seen.saw("the published deadline covered it"),
            (found, covered) => {
                panic!("timer hand-off lost: inserter found {found:?}, owner's deadline covers: {covered}")
            }
        }
        drop(timer);
        drop(known);
        assert_eq!(shards.len(), 0);
    });
    outcomes.assert_all_seen(&[
        "not polling yet; the owner's re-read covered it",
        "the owner slept for the later timer; woken",
        "woken, though the owner's re-read covered it",
        "the published deadline covered it",
    ]);
}
