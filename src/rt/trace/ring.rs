//! One flight-recorder ring: a fixed array of event slots with one writer
//! and any number of readers, none of which ever waits for another.
//!
//! Each slot is a small seqlock: a sequence word and three payload words,
//! all atomics. The writer of event number `pos` (its count of events so
//! far) uses slot `pos % capacity`:
//!
//! 1. `seq = 2*pos + 1` (Relaxed): "being written";
//! 2. a Release fence;
//! 3. the payload words (Relaxed);
//! 4. `seq = 2*pos + 2` (Release): "event `pos` complete".
//!
//! A reader copies a slot as: `s1 = seq` (Acquire), the payload words
//! (Relaxed), an Acquire fence, `s2 = seq` (Relaxed); it keeps the copy
//! only if `s1 == s2` and `s1` is even and non-zero, and then the copy is
//! exactly event `s1/2 - 1`: its Acquire load of `s1` saw event `pos`'s
//! final store, so every payload store of that event is visible to it; had
//! any payload load seen a store of a later event, that event's step-2
//! fence would synchronise with the reader's Acquire fence, so the step-1
//! store (`seq` odd, larger) would be visible to the `s2` load, and
//! `s2 != s1`. The full argument and the loom model are in
//! docs/design/trace.md ("The ring").
//!
//! The writer does no read-modify-write and takes no lock; on x86-64 the
//! fence and the Release store compile to plain stores. A reader never
//! blocks the writer, and a slot overwritten while it is copied is
//! dropped from the copy, never returned torn.
//!
//! The single writer is a protocol rule, not a type: the worker's ring is
//! written only through its `Core` (one thread at a time), the monitor's
//! only by the monitor thread, the external ring only under its try-lock
//! (`mod.rs`).

use crate::loom::sync::atomic::{fence, AtomicU64, Ordering};

/// Payload words per event.
pub(crate) const WORDS: usize = 3;

/// One event's slot (32 bytes: two per cache line).
#[derive(Debug)]
#[repr(align(32))]
struct Slot {
    /// `2*pos + 1` while event `pos` is written, `2*pos + 2` once it is
    /// complete, 0 before the first write.
    seq: AtomicU64,
    words: [AtomicU64; WORDS],
}

impl Slot {
    fn new() -> Slot {
        Slot { seq: AtomicU64::new(0), words: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)] }
    }
}

/// A copied event: its number in the writer's sequence and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawEvent {
    pub(crate) pos: u64,
    pub(crate) words: [u64; WORDS],
}

/// A ring of `capacity` slots (a power of two).
#[derive(Debug)]
pub(crate) struct Ring {
    slots: Box<[Slot]>,
    mask: u64,
}

impl Ring {
    /// A ring of `capacity` rounded up to a power of two (at least 1).
    pub(crate) fn new(capacity: usize) -> Ring {
        let capacity = capacity.max(1).next_power_of_two();
        Ring { slots: (0..capacity).map(|_| Slot::new()).collect(), mask: capacity as u64 - 1 }
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Writes event number `pos` (the writer's own count). Only the ring's
    /// single writer calls it, with `pos` one more than its last call's.
    #[inline]
    pub(crate) fn write(&self, pos: u64, words: [u64; WORDS]) {
        let index = (pos & self.mask) as usize;
        debug_assert!(index < self.slots.len());
        // SAFETY: `mask` is the slot count (a power of two) minus one, so
        // `index` is in bounds; the writer's path skips the bounds check.
        let slot = unsafe { self.slots.get_unchecked(index) };
        // Relaxed: ordered before the payload stores by the fence below,
        // which is what a reader that sees any of them relies on.
        slot.seq.store(2 * pos + 1, Ordering::Relaxed);
        // Release fence: pairs with the reader's Acquire fence in `copy`
        // (a reader that loads any payload word stored below also sees
        // the odd `seq` above, or a later one, in its second `seq` load).
        fence(Ordering::Release);
        for (word, value) in slot.words.iter().zip(words) {
            // Relaxed: published by the Release store of `seq` below.
            word.store(value, Ordering::Relaxed);
        }
        // Release: pairs with the Acquire load of `seq` in `copy`,
        // publishing the payload of event `pos`.
        slot.seq.store(2 * pos + 2, Ordering::Release);
    }

    /// Copies every complete event the ring holds into `out`, in slot
    /// order (not event order: callers sort by `pos`). Slots being written
    /// or overwritten during the copy are left out.
    pub(crate) fn copy(&self, out: &mut Vec<RawEvent>) {
        for slot in self.slots.iter() {
            if let Some(event) = copy_slot(slot) {
                out.push(event);
            }
        }
    }
}

/// One slot's event, if it held a complete one for the whole copy.
fn copy_slot(slot: &Slot) -> Option<RawEvent> {
    // Acquire: pairs with the writer's final Release store of `seq`.
    let s1 = slot.seq.load(Ordering::Acquire);
    if s1 == 0 || s1 & 1 == 1 {
        return None;
    }
    let mut words = [0; WORDS];
    for (value, word) in words.iter_mut().zip(&slot.words) {
        // Relaxed: validated by the second `seq` load below.
        *value = word.load(Ordering::Relaxed);
    }
    // Acquire fence: pairs with the writer's Release fence; orders the
    // payload loads above before the `seq` load below.
    fence(Ordering::Acquire);
    // Relaxed: the fence above orders it after the payload loads.
    let s2 = slot.seq.load(Ordering::Relaxed);
    (s1 == s2).then_some(RawEvent { pos: s1 / 2 - 1, words })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// The payload a test writer gives event `pos`: any mix of two
    /// events' words is detectable.
    fn payload(pos: u64) -> [u64; WORDS] {
        [pos, pos.wrapping_mul(3) ^ 0x5555, !pos]
    }

    #[test]
    fn capacity_rounds_up_to_a_power_of_two() {
        assert_eq!(Ring::new(0).capacity(), 1);
        assert_eq!(Ring::new(5).capacity(), 8);
        assert_eq!(Ring::new(4096).capacity(), 4096);
    }

    #[test]
    fn a_wrapped_ring_holds_the_newest_capacity_events() {
        let ring = Ring::new(4);
        for pos in 0..10 {
            ring.write(pos, payload(pos));
        }
        let mut out = Vec::new();
        ring.copy(&mut out);
        out.sort_by_key(|e| e.pos);
        let positions: Vec<u64> = out.iter().map(|e| e.pos).collect();
        assert_eq!(positions, [6, 7, 8, 9]);
        assert!(out.iter().all(|e| e.words == payload(e.pos)));
    }

    #[test]
    fn snapshots_taken_while_the_writer_wraps_never_hold_a_torn_event() {
        let ring = Arc::new(Ring::new(8));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (ring, stop) = (ring.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut pos = 0;
                while !stop.load(Ordering::Relaxed) {
                    ring.write(pos, payload(pos));
                    pos += 1;
                }
                pos
            })
        };
        let mut out = Vec::new();
        let (mut seen, mut copies) = (0, 0);
        // Until many copies found events: some of them overlap the writer.
        while seen < 100_000 || copies < 1_000 {
            out.clear();
            ring.copy(&mut out);
            for e in &out {
                assert_eq!(e.words, payload(e.pos), "torn event at {}", e.pos);
            }
            seen += out.len();
            copies += 1;
        }
        stop.store(true, Ordering::Relaxed);
        let written = writer.join().unwrap();
        assert!(written > 0);
    }
}
