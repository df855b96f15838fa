//! The stall-stack hand-off between the monitor and a signal handler: one
//! worker's state word and preallocated buffer, without the signal (which
//! `stack.rs` sends). Separate so that loom checks it
//! (`loom-tests/stall_stack.rs`).
//!
//! The state word is `generation << 2 | phase`, and only these
//! transitions happen:
//! - monitor (`request`): `IDLE | DONE` -> `REQUESTED` of a new
//!   generation; never while `CAPTURING`, so the buffer has one writer;
//! - handler (`fill`): `REQUESTED` -> `CAPTURING` (compare-exchange; a
//!   handler that finds any other phase, a late signal or another
//!   program's, does nothing) -> `DONE`;
//! - monitor (`withdraw`, `cancel`): `REQUESTED` -> `IDLE`
//!   (compare-exchange: if the handler claimed the slot first, the
//!   capture is left to finish and this request has no stack, unless it
//!   finished meanwhile).
//!
//! The buffer is written only between a handler's claim and its `DONE`,
//! and read only by the monitor after it saw `DONE` of its own generation
//! and before its next request: one writer, then one reader, ordered by
//! the state word (docs/design/stalls.md, "Stall stacks").

use crate::loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const IDLE: u64 = 0;
const REQUESTED: u64 = 1;
const CAPTURING: u64 = 2;
const DONE: u64 = 3;
const PHASE: u64 = 3;

/// One worker's capture state and buffer.
#[derive(Debug)]
pub(crate) struct CaptureSlot {
    state: AtomicU64,
    /// Entries of `ips` the last capture filled.
    len: AtomicUsize,
    ips: Box<[AtomicUsize]>,
}

/// A request the monitor made (its generation's state words).
#[derive(Debug)]
#[must_use]
pub(crate) struct Request {
    requested: u64,
    done: u64,
}

impl CaptureSlot {
    /// A slot with room for `frames` entries.
    pub(crate) fn new(frames: usize) -> CaptureSlot {
        CaptureSlot {
            state: AtomicU64::new(IDLE),
            len: AtomicUsize::new(0),
            ips: (0..frames).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// Monitor: asks for a capture. `None` while an earlier capture is
    /// still being written (its handler runs late).
    pub(crate) fn request(&self) -> Option<Request> {
        // Acquire: pairs with the handler's Release store of DONE, so the
        // earlier capture's writes are over before the buffer is handed
        // out again.
        let state = self.state.load(Ordering::Acquire);
        if state & PHASE == CAPTURING {
            return None;
        }
        let generation = (state >> 2).wrapping_add(1);
        let request = Request { requested: generation << 2 | REQUESTED, done: generation << 2 | DONE };
        // Release: the monitor is the only thread that leaves IDLE or
        // DONE; this store carries no data, but pairs with the handler's
        // Acquire claim so that the handler's buffer writes come after the
        // monitor's reads of the previous capture.
        self.state.store(request.requested, Ordering::Release);
        Some(request)
    }

    /// Monitor: the stack, if the handler has finished `request`.
    pub(crate) fn done(&self, request: &Request) -> Option<Box<[usize]>> {
        // Acquire: pairs with the handler's Release store of DONE, making
        // the buffer and `len` it wrote visible.
        (self.state.load(Ordering::Acquire) == request.done).then(|| self.read())
    }

    /// Monitor: gives `request` up. The stack if the handler finished it
    /// meanwhile; otherwise `None`, and a handler that has not claimed it
    /// yet never will.
    pub(crate) fn withdraw(&self, request: Request) -> Option<Box<[usize]>> {
        let idle = request.requested & !PHASE | IDLE;
        // Relaxed on success: nothing is read after withdrawing. Acquire
        // on failure: pairs with the handler's Release store of DONE.
        match self.state.compare_exchange(request.requested, idle, Ordering::Relaxed, Ordering::Acquire) {
            Ok(_) => None,
            Err(now) if now == request.done => Some(self.read()),
            // CAPTURING: the handler finishes on its own; `request` waits
            // for it.
            Err(_) => None,
        }
    }

    /// Handler: if a capture is asked for, claims it, lets `walk` push
    /// entries (it stops when `push` returns false: the buffer is full),
    /// and publishes them. Allocates nothing and takes no lock.
    pub(crate) fn fill(&self, walk: impl FnOnce(&mut dyn FnMut(usize) -> bool)) {
        let state = self.state.load(Ordering::Relaxed);
        if state & PHASE != REQUESTED {
            return;
        }
        let claimed = state & !PHASE | CAPTURING;
        // Acquire on success: pairs with the monitor's Release store in
        // `request` (its reads of the previous capture come first).
        // Relaxed on failure: nothing is done then.
        if self.state.compare_exchange(state, claimed, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return;
        }
        let mut len = 0;
        walk(&mut |ip| {
            if len == self.ips.len() {
                return false;
            }
            // Relaxed: published by the Release store of DONE.
            self.ips[len].store(ip, Ordering::Relaxed);
            len += 1;
            len < self.ips.len()
        });
        // Relaxed: published by the Release store of DONE.
        self.len.store(len, Ordering::Relaxed);
        // Release: pairs with the monitor's Acquire loads in `done`,
        // `withdraw` and `request`.
        self.state.store(claimed & !PHASE | DONE, Ordering::Release);
    }

    /// The captured entries (after the monitor saw DONE).
    fn read(&self) -> Box<[usize]> {
        // Relaxed: ordered by the Acquire load of DONE.
        let len = self.len.load(Ordering::Relaxed).min(self.ips.len());
        self.ips[..len].iter().map(|ip| ip.load(Ordering::Relaxed)).collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn push_all(values: &[usize]) -> impl FnOnce(&mut dyn FnMut(usize) -> bool) + '_ {
        move |push| {
            for &v in values {
                if !push(v) {
                    break;
                }
            }
        }
    }

    #[test]
    fn a_handler_fills_only_a_requested_slot_and_stops_when_full() {
        let slot = CaptureSlot::new(2);
        slot.fill(push_all(&[9])); // nobody asked: nothing happens
        let r = slot.request().unwrap();
        assert!(slot.done(&r).is_none());
        slot.fill(push_all(&[1, 2, 3]));
        assert_eq!(&*slot.done(&r).unwrap(), &[1, 2]);
        slot.fill(push_all(&[7])); // a late second signal: nothing
        assert_eq!(&*slot.done(&r).unwrap(), &[1, 2]);
    }

    #[test]
    fn a_withdrawn_request_is_never_filled_and_the_next_one_is() {
        let slot = CaptureSlot::new(4);
        let r = slot.request().unwrap();
        assert!(slot.withdraw(r).is_none());
        slot.fill(push_all(&[5])); // the signal arrives after all
        let r = slot.request().unwrap();
        assert!(slot.done(&r).is_none());
        slot.fill(push_all(&[6, 7]));
        assert_eq!(&*slot.withdraw(r).unwrap(), &[6, 7]);
    }
}
