//! The signal slot protocol (`src/signal/slot.rs`,
//! docs/design/signal-process.md "No lost signal").
//!
//! The self-pipe is modelled by a counter of bytes with room for one: a
//! write into a full pipe is dropped, as the handler's `write(2)` fails
//! with `EAGAIN`. The kernel orders a socket's writes and reads; the
//! model's pipe is a SeqCst counter for the same reason. "A byte in the
//! pipe makes some receiver dispatch" is the netpoller's part (edges on
//! every registered duplicate, tick-guarded clears), modelled by one
//! more dispatch after the threads are joined if the pipe is not empty.
//!
//! What must hold at the end: no delivery is left unpublished (the
//! pending flag is clear), `seq` moved past the receiver's snapshot, and
//! the receiver either saw the new `seq` itself or was woken.

use super::{flag_waker, model_min_preemptions, Outcomes};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::signal::slot::Slot;
use loom::thread;

/// The self-pipe: how many bytes it holds (0 or 1).
#[derive(Default)]
struct Pipe(AtomicUsize);

impl Pipe {
    /// The handler's `write(2)`: dropped when full.
    fn write(&self) {
        let _ = self.0.compare_exchange(0, 1, SeqCst, SeqCst);
    }

    /// Read until `WouldBlock`.
    fn drain(&self) {
        self.0.swap(0, SeqCst);
    }

    fn is_empty(&self) -> bool {
        self.0.load(SeqCst) == 0
    }
}

struct Shared {
    slot: Slot,
    pipe: Pipe,
}

fn handler(s: &Shared) {
    s.slot.mark_pending();
    s.pipe.write();
}

fn dispatch(s: &Shared) {
    s.pipe.drain();
    s.slot.publish();
}

/// Runs `handlers` handlers and one dispatcher on their own threads while
/// the receiver (this thread) polls once; then the follow-up dispatch and
/// the checks.
fn run(handlers: usize, outcomes: &Outcomes) {
    let s = Arc::new(Shared { slot: Slot::new(), pipe: Pipe::default() });
    let seen = s.slot.seq();
    let threads: Vec<_> = (0..handlers)
        .map(|_| {
            let s = s.clone();
            thread::spawn(move || handler(&s))
        })
        .chain(std::iter::once({
            let s = s.clone();
            thread::spawn(move || dispatch(&s))
        }))
        .collect();
    // The receiver's poll: check, register, re-check.
    let (waker, wakes, _) = flag_waker();
    let mut ready = s.slot.seq() != seen;
    if ready {
        outcomes.saw("ready at first look");
    } else {
        s.slot.add_waiter(1, &waker);
        ready = s.slot.seq() != seen;
        if ready {
            outcomes.saw("ready at the re-check");
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    if !s.pipe.is_empty() {
        outcomes.saw("a byte left for a later dispatch");
        dispatch(&s);
    }
    assert!(!s.slot.is_pending(), "a delivery was left unpublished with the pipe empty");
    assert_ne!(s.slot.seq(), seen, "no dispatch published the delivery");
    if !ready {
        assert!(wakes.get() >= 1, "the waiting receiver was never woken");
        outcomes.saw("woken");
    }
    s.slot.remove_waiter(1);
}

#[test]
fn signal_handler_races_dispatch_and_receiver() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || run(1, &seen));
    outcomes.assert_all_seen(&["ready at first look", "woken", "a byte left for a later dispatch"]);
}

#[test]
fn signal_storm_on_a_full_pipe_keeps_the_last() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || run(2, &seen));
    outcomes.assert_all_seen(&["woken", "a byte left for a later dispatch"]);
}
