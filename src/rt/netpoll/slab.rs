//! The registration slab: `ScheduledIo` slots addressed by index, so an
//! event's token finds its slot with no lock and no hash.
//!
//! Slots live in pages that double in size (64, 128, 256, ... slots), are
//! allocated on first use and never move or free until the driver drops, so
//! the netpoller may hold `&ScheduledIo` for any index it reads from an
//! event without synchronising with the register/deregister path. Reuse is
//! made safe by the generation in each slot's readiness word: the token
//! carries the generation it was registered with, and an event whose
//! generation is not the slot's current one is dropped (`set_readiness`).
//!
//! Only allocation and release take a lock (the free list); lookups are a
//! single Acquire load of the page pointer.

use super::scheduled_io::{ScheduledIo, GEN_MAX, GEN_SHIFT};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::Acquire};
use crate::loom::sync::Mutex;
use std::io;
use std::ptr;
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::Ordering::Release;

const FIRST_PAGE: usize = 64;
const NUM_PAGES: usize = 18;
/// Index bits in a token; the generation takes the bits above them.
pub(crate) const INDEX_BITS: u32 = GEN_SHIFT;
/// Total slots: 64 * (2^18 - 1), just under 2^24, so the all-ones index
/// (the waker's token) is never a slot.
pub(crate) const CAPACITY: usize = FIRST_PAGE * ((1 << NUM_PAGES) - 1);

/// Packs a slot index and its generation into a mio token value.
pub(crate) fn token(index: usize, gen: usize) -> usize {
    debug_assert!(index < CAPACITY);
    ((gen & GEN_MAX) << INDEX_BITS) | index
}

/// Splits a token value into (index, generation).
pub(crate) fn untoken(token: usize) -> (usize, usize) {
    (token & ((1 << INDEX_BITS) - 1), token >> INDEX_BITS)
}

/// (page, offset in page) of a slot index.
fn locate(index: usize) -> (usize, usize) {
    let x = index / FIRST_PAGE + 1;
    let page = (usize::BITS - 1 - x.leading_zeros()) as usize;
    let base = FIRST_PAGE * ((1 << page) - 1);
    (page, index - base)
}

fn page_len(page: usize) -> usize {
    FIRST_PAGE << page
}

struct Alloc {
    free: Vec<usize>,
    next: usize,
}

pub(crate) struct Slab {
    pages: [AtomicPtr<ScheduledIo>; NUM_PAGES],
    alloc: Mutex<Alloc>,
    live: AtomicUsize,
}

impl Slab {
    pub(crate) fn new() -> Slab {
        Slab {
            pages: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            alloc: Mutex::new(Alloc { free: Vec::new(), next: 0 }),
            live: AtomicUsize::new(0),
        }
    }

    /// Takes a free slot and gives it a new generation: (index, generation).
    #[cfg(test)]
    pub(crate) fn allocate(&self) -> io::Result<(usize, usize)> {
        self.allocate_with(0)
    }

    /// `allocate`, with readiness `initial` assumed (see
    /// `ScheduledIo::reset_for_new_owner_with`).
    pub(crate) fn allocate_with(&self, initial: usize) -> io::Result<(usize, usize)> {
        let mut alloc = self.alloc.lock();
        let index = match alloc.free.pop() {
            Some(index) => index,
            None => {
                if alloc.next >= CAPACITY {
                    return Err(io::Error::other("weft: too many I/O registrations (16 million)"));
                }
                let index = alloc.next;
                let (page, offset) = locate(index);
                if offset == 0 {
                    let slots: Box<[ScheduledIo]> = (0..page_len(page)).map(|_| ScheduledIo::new()).collect();
                    // Release: pairs with the Acquire in `get`, publishing
                    // the initialised slots with the pointer.
                    self.pages[page].store(Box::into_raw(slots).cast::<ScheduledIo>(), Release);
                }
                alloc.next += 1;
                index
            }
        };
        drop(alloc);
        let gen = self.get(index).expect("allocated slot has a page").reset_for_new_owner_with(initial);
        // Relaxed: a gauge for metrics and tests, no protocol.
        self.live.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok((index, gen))
    }

    /// Returns a slot to the free list; its generation is bumped first so a
    /// late event for the old token is ignored.
    pub(crate) fn release(&self, index: usize) {
        if let Some(io) = self.get(index) {
            io.release();
            self.live.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            self.alloc.lock().free.push(index);
        }
    }

    /// The slot at `index`, if its page exists.
    pub(crate) fn get(&self, index: usize) -> Option<&ScheduledIo> {
        if index >= CAPACITY {
            return None;
        }
        let (page, offset) = locate(index);
        // Acquire: pairs with the Release store in `allocate`.
        let base = self.pages[page].load(Acquire);
        if base.is_null() {
            return None;
        }
        // SAFETY: a non-null page pointer came from a boxed slice of
        // `page_len(page)` initialised slots that lives until `drop`
        // (which needs `&mut self`), and `offset < page_len(page)`.
        Some(unsafe { &*base.add(offset) })
    }

    /// Every slot ever allocated (for shutdown).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&ScheduledIo)) {
        for page in 0..NUM_PAGES {
            let base = self.pages[page].load(Acquire);
            if base.is_null() {
                break;
            }
            for offset in 0..page_len(page) {
                // SAFETY: as in `get`.
                f(unsafe { &*base.add(offset) });
            }
        }
    }

    /// Slots currently registered.
    pub(crate) fn live(&self) -> usize {
        self.live.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for Slab {
    fn drop(&mut self) {
        for page in 0..NUM_PAGES {
            let base = *self.pages[page].get_mut();
            if !base.is_null() {
                let slice = ptr::slice_from_raw_parts_mut(base, page_len(page));
                // SAFETY: the pointer and length are exactly those of the
                // boxed slice leaked in `allocate`; `&mut self` means no
                // reference into it is alive.
                drop(unsafe { Box::from_raw(slice) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_covers_pages_without_gaps() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(63), (0, 63));
        assert_eq!(locate(64), (1, 0));
        assert_eq!(locate(191), (1, 127));
        assert_eq!(locate(192), (2, 0));
        assert_eq!(locate(CAPACITY - 1), (NUM_PAGES - 1, page_len(NUM_PAGES - 1) - 1));
        const { assert!(CAPACITY < (1 << INDEX_BITS) - 1) };
    }

    #[test]
    fn tokens_round_trip() {
        for (index, gen) in [(0, 0), (5, 1), (CAPACITY - 1, GEN_MAX), (1000, GEN_MAX + 3)] {
            assert_eq!(untoken(token(index, gen)), (index, gen & GEN_MAX));
        }
    }

    #[test]
    fn slots_are_reused_with_a_new_generation() {
        let slab = Slab::new();
        let (a, gen_a) = slab.allocate().unwrap();
        let (b, _) = slab.allocate().unwrap();
        assert_ne!(a, b);
        assert_eq!(slab.live(), 2);
        slab.release(a);
        let (c, gen_c) = slab.allocate().unwrap();
        assert_eq!(c, a);
        assert_ne!(gen_c, gen_a);
        for i in 0..1000 {
            let (idx, _) = slab.allocate().unwrap();
            assert!(slab.get(idx).is_some(), "slot {i}");
        }
        assert_eq!(slab.live(), 1002);
    }
}
