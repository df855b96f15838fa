//! `LocalSet`'s remote wakes (src/rt/local/shared.rs): a local task woken
//! from another thread while the set's poller goes idle, and while the set
//! is dropped.
//!
//! The set is polled by hand on the model's main thread (it is `!Send`),
//! with counting wakers; the other thread only wakes the task, as a timer
//! or a runtime worker would. Each model checks the future was dropped
//! exactly once and (loom's leak check on the set's `Arc<Shared>`, which
//! every task's scheduler holds) that every task was freed.

use super::{flag_waker, model, Counter, DropCount, Outcomes};
use crate::loom::sync::atomic::{AtomicBool, Ordering::Relaxed};
use crate::loom::sync::{Arc, Mutex};
use crate::task::LocalSet;
use loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A task that parks until `flag` is set; its waker goes to `slot`.
#[derive(Clone)]
struct Signal {
    /// Set (Relaxed) before the wake: the poll the wake causes must see it,
    /// which only the set's queue hand-off and the task's state word can
    /// guarantee.
    flag: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Signal {
    fn new() -> Signal {
        Signal { flag: Arc::new(AtomicBool::new(false)), slot: Arc::new(Mutex::new(None)) }
    }

    fn wait(&self, drops: &Counter) -> impl Future<Output = ()> + 'static {
        let signal = self.clone();
        let guard = DropCount(drops.clone());
        std::future::poll_fn(move |cx| {
            let _keep = &guard;
            if signal.flag.load(Relaxed) {
                return Poll::Ready(());
            }
            *signal.slot.lock() = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    /// The other thread's side: set the flag, then wake the task.
    fn fire(&self) {
        self.flag.store(true, Relaxed);
        let waker = self.slot.lock().take();
        waker.expect("the task parked before the signal fired").wake();
    }
}

fn poll_set(set: &mut LocalSet, waker: &Waker) -> Poll<()> {
    Pin::new(set).poll(&mut Context::from_waker(waker))
}

/// The set's poller goes idle (runs nothing, registers its waker after a
/// last look at the remote queue under its lock) while another thread
/// wakes the parked task (pushes it to the remote queue, takes the waker).
/// If that poll returned `Pending`, its waker must be woken, and the next
/// poll must run the task to completion.
#[test]
fn remote_wake_races_going_idle() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model(move || {
        let drops = Counter::default();
        let signal = Signal::new();
        let mut set = LocalSet::new();
        set.spawn_local(signal.wait(&drops));
        let (w1, _, _) = flag_waker();
        assert_eq!(poll_set(&mut set, &w1), Poll::Pending, "the task parks");
        let remote = signal.clone();
        let th = thread::spawn(move || remote.fire());
        let (w2, wakes, _) = flag_waker();
        match poll_set(&mut set, &w2) {
            Poll::Ready(()) => seen.saw("ran at once"),
            Poll::Pending => {
                th.join().unwrap();
                // Either the first poll's waker was taken (the push came
                // before our registration: but then our last look saw the
                // task and we would not be here unless we ran it), or ours.
                assert_eq!(wakes.get(), 1, "the remote wake was lost");
                assert_eq!(poll_set(&mut set, &w2), Poll::Ready(()));
                seen.saw("idle, then woken");
                drop(set);
                assert_eq!(drops.get(), 1);
                return;
            }
        }
        th.join().unwrap();
        drop(set);
        assert_eq!(drops.get(), 1, "the future dropped exactly once");
    });
    outcomes.assert_all_seen(&["ran at once", "idle, then woken"]);
}

/// A remote wake races the set's drop: the task is cancelled on the main
/// thread (its future dropped there, once), and a push that comes after
/// the close is refused (dropping only a reference); nothing leaks.
#[test]
fn remote_wake_races_set_drop() {
    model(|| {
        let drops = Counter::default();
        let signal = Signal::new();
        let mut set = LocalSet::new();
        let join = set.spawn_local(signal.wait(&drops));
        let (w1, _, _) = flag_waker();
        assert_eq!(poll_set(&mut set, &w1), Poll::Pending);
        let remote = signal.clone();
        let th = thread::spawn(move || remote.fire());
        drop(set);
        assert_eq!(drops.get(), 1, "the set's drop dropped the future");
        th.join().unwrap();
        let mut join = join;
        match super::poll_once(&mut join) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            other => panic!("expected a cancelled JoinError, got {other:?}"),
        }
    });
}
