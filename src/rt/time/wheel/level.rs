//! One level of the wheel: 64 slots, each an intrusive list, an occupancy
//! bitmap, and per slot a *key*: a lower bound of the (placement) times of
//! the entries in it, exact unless its earliest entry was cancelled.
//!
//! Level `k` counts time in units of `64^k` ms: an entry placed at time `t`
//! belongs to absolute slot number `t >> 6k`, stored at index
//! `(t >> 6k) % 64`. The wheel keeps every entry of level `k` within 64
//! slot numbers of its `elapsed` (`0 <= (t >> 6k) - (elapsed >> 6k) < 64`),
//! so an index names exactly one absolute slot, and the first occupied slot
//! at or after `elapsed`'s one, found by rotating the bitmap and counting
//! trailing zeros, is the level's earliest.

use super::list::{self, Head};
use crate::rt::time::entry::{Entry, Loc};
use std::ptr::NonNull;

/// Slots per level.
pub(super) const SLOTS: usize = 64;
/// log2(SLOTS): a level's unit is `1 << (SLOT_BITS * level)` ms.
pub(super) const SLOT_BITS: u32 = 6;

/// Key of an empty slot.
const NO_KEY: u64 = u64::MAX;

pub(super) struct Level {
    /// This level's number (0 = 1 ms slots).
    level: u8,
    /// Bit `i` is set iff `heads[i]` is not empty.
    occupied: u64,
    heads: [Head; SLOTS],
    /// Per slot: at most the earliest placement time in it (`NO_KEY` when
    /// empty). Lowered on insert; left alone on cancel, so it may be stale
    /// (early) until the slot is processed or emptied.
    keys: [u64; SLOTS],
}

impl Level {
    pub(super) fn new(level: u8) -> Level {
        Level { level, occupied: 0, heads: [None; SLOTS], keys: [NO_KEY; SLOTS] }
    }

    fn shift(&self) -> u32 {
        SLOT_BITS * u32::from(self.level)
    }

    /// True if placement time `t` (`t >= elapsed`) is within 64 slots of
    /// `elapsed` at this level.
    pub(super) fn fits(&self, elapsed: u64, t: u64) -> bool {
        debug_assert!(t >= elapsed);
        (t >> self.shift()) - (elapsed >> self.shift()) < SLOTS as u64
    }

    fn index(&self, t: u64) -> usize {
        ((t >> self.shift()) % SLOTS as u64) as usize
    }

    /// Links `entry`, placed at time `t`, into its slot.
    ///
    /// # Safety
    ///
    /// As for [`list::push_front`]: `entry` is live, in no list, and its
    /// node and those of every entry in this level are the caller's (the
    /// wheel's owner, under the shard lock).
    pub(super) unsafe fn push(&mut self, entry: NonNull<Entry>, t: u64) {
        let i = self.index(t);
        let loc = Loc::Slot { level: self.level, slot: i as u8 };
        // SAFETY: forwarded from our contract.
        unsafe { list::push_front(&mut self.heads[i], entry, loc) };
        self.keys[i] = self.keys[i].min(t);
        self.occupied |= 1 << i;
    }

    /// Unlinks `entry` from slot `slot`.
    ///
    /// # Safety
    ///
    /// `entry` is in slot `slot` of this level; the rest as for [`push`].
    ///
    /// [`push`]: Level::push
    pub(super) unsafe fn unlink(&mut self, entry: NonNull<Entry>, slot: usize) {
        // SAFETY: forwarded from our contract.
        unsafe { list::unlink(&mut self.heads[slot], entry) };
        if self.heads[slot].is_none() {
            self.occupied &= !(1 << slot);
            self.keys[slot] = NO_KEY;
        }
    }

    /// Empties slot `slot` and returns its list (still linked among
    /// themselves; each node's `loc` still names this slot).
    pub(super) fn take(&mut self, slot: usize) -> Head {
        self.occupied &= !(1 << slot);
        self.keys[slot] = NO_KEY;
        self.heads[slot].take()
    }

    /// The earliest occupied slot at or after `elapsed`'s and its key.
    pub(super) fn next(&self, elapsed: u64) -> Option<(usize, u64)> {
        if self.occupied == 0 {
            return None;
        }
        let current = self.index(elapsed);
        let ahead = self.occupied.rotate_right(current as u32).trailing_zeros() as usize;
        let slot = (current + ahead) % SLOTS;
        Some((slot, self.keys[slot]))
    }

    /// Any occupied slot (for draining at shutdown).
    pub(super) fn any_occupied(&self) -> Option<usize> {
        (self.occupied != 0).then(|| self.occupied.trailing_zeros() as usize)
    }

    /// Head of slot `slot` (for draining at shutdown).
    pub(super) fn head(&self, slot: usize) -> Head {
        self.heads[slot]
    }
}
