//! The stall-stack hand-off (`src/rt/monitor/capture.rs`,
//! docs/design/stalls.md "Stall stacks").
//!
//! The signal handler runs on the stalled worker's thread, interrupting
//! it; towards the monitor it is simply another thread, which is how the
//! model runs it. Each handler pushes the same value into every entry
//! (its own tag), so a stack the monitor returns that mixes tags, or has
//! fewer entries than a handler pushes, is a torn read. The models are
//! small enough to search at a preemption bound of 3.

use super::model_min_preemptions;
use crate::loom::sync::Arc;
use crate::rt::monitor::capture::CaptureSlot;
use loom::thread;

const FRAMES: usize = 2;

/// A handler: fills the slot with `tag`s if a capture is asked for.
fn handler(slot: &CaptureSlot, tag: usize) {
    slot.fill(|push| while push(tag) {});
}

/// A returned stack is one handler's whole capture.
fn check(stack: &[usize], tags: &[usize]) {
    assert_eq!(stack.len(), FRAMES, "a partial capture: {stack:?}");
    assert!(tags.contains(&stack[0]) && stack.iter().all(|v| *v == stack[0]), "a torn capture: {stack:?}");
}

/// The monitor asks, looks once, and gives up, while the handler runs:
/// it gets the handler's whole capture or nothing. Then a second request
/// (refused while the first handler still writes) gets the second
/// handler's capture, never a mix with the first's.
#[test]
fn a_capture_is_whole_or_absent_and_never_mixes_with_the_next() {
    model_min_preemptions(3, || {
        let slot = Arc::new(CaptureSlot::new(FRAMES));
        let request = slot.request().expect("an idle slot takes a request");
        let s = slot.clone();
        let late = thread::spawn(move || handler(&s, 1));
        let first = match slot.done(&request) {
            Some(stack) => Some(stack),
            None => slot.withdraw(request),
        };
        if let Some(stack) = &first {
            check(stack, &[1]);
        }
        // The next stall: the first handler may still be running.
        let second = slot.request();
        let s = slot.clone();
        let next = thread::spawn(move || handler(&s, 2));
        late.join().unwrap();
        next.join().unwrap();
        if let Some(request) = second {
            if let Some(stack) = slot.done(&request).or_else(|| slot.withdraw(request)) {
                check(&stack, &[1, 2]);
            }
        }
    });
}

/// A handler that runs after the monitor withdrew its request (the
/// signal was blocked, then unblocked) writes nothing, and a handler with
/// no request at all (another program's signal) neither.
#[test]
fn a_withdrawn_or_unasked_capture_writes_nothing() {
    model_min_preemptions(3, || {
        let slot = Arc::new(CaptureSlot::new(FRAMES));
        let s = slot.clone();
        let stray = thread::spawn(move || handler(&s, 7));
        let request = slot.request();
        stray.join().unwrap();
        if let Some(request) = request {
            // The stray handler may have taken this request (it cannot
            // tell a stray signal from ours): then the stack is its own,
            // whole.
            if let Some(stack) = slot.withdraw(request) {
                check(&stack, &[7]);
                return;
            }
        }
        // Withdrawn (or never granted): a late handler writes nothing, so
        // the next request starts from an untouched buffer and gets
        // exactly its own handler's capture.
        handler(&slot, 8);
        let request = slot.request().expect("no capture is in progress");
        assert!(slot.done(&request).is_none(), "a stale DONE passed for a new request");
        handler(&slot, 9);
        check(&slot.done(&request).expect("the handler finished"), &[9]);
    });
}
