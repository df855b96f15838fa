//! A hierarchical timing wheel: 6 levels x 64 slots, 1 ms resolution.
//!
//! Level `k`'s slots span `64^k` ms, so level 0 covers the next 64 ms at
//! 1 ms, level 1 the next ~4 s at 64 ms, ..., level 5 about 2^36 ms
//! (~2.2 years) at ~12.4 days. Insert and cancel are O(1) (an intrusive list
//! per slot, links in the entry); finding the next expiration is O(levels)
//! with one `rotate_right` + `trailing_zeros` per level on a 64-bit
//! occupancy bitmap; firing is O(1) per entry plus at most one cascade per
//! level the entry passes through.
//!
//! # Placement
//!
//! The wheel has a time `elapsed`: every deadline `<= elapsed` has been
//! handed out (or was refused at insert). An entry with deadline `d` is
//! placed at time `t = min(d, horizon)`, where `horizon` is the last
//! millisecond level 5 can name, on the lowest level where `t` is within
//! 64 slots of `elapsed` (see `level.rs`). Unlike a wheel that aligns each
//! level's window to a multiple of its range, the windows slide with
//! `elapsed`, so level 0 always reaches 64 ms ahead.
//!
//! # Processing
//!
//! Each slot has a key, a lower bound of its entries' placement times
//! (exact unless its earliest entry was cancelled). The wheel's next event
//! is the least key over the first occupied slot of each level. When that
//! key `K` is `<= now`, the wheel sets `elapsed = K` and empties the slot:
//! entries with `d <= K` go to the pending list and are handed out, the
//! others are placed again relative to the new `elapsed`, which puts them
//! on a lower level (a clamped far-future entry lands on level 5 again,
//! ~2^36 ms further on). A level-`k >= 1` slot is processed at its key, not
//! at its start, so [`Wheel::next_expiration`] is the exact earliest
//! deadline whenever keys are exact, and a worker parked until it wakes for
//! a real deadline, not for a cascade.
//!
//! Invariants, for every linked entry placed at `t` on level `k`:
//! `elapsed <= key(slot) <= t` and `(t >> 6k) - (elapsed >> 6k) < 64`.
//! `elapsed` only grows: to a key `<=` every other key, or to `now` when no
//! key is `<= now`.

mod level;
mod list;
#[cfg(all(test, not(loom)))]
mod tests;

use self::level::{Level, SLOTS, SLOT_BITS};
use self::list::Head;
use super::entry::{with_node, Entry, Loc};
use std::fmt;
use std::ptr::NonNull;

/// Number of levels.
pub(crate) const LEVELS: usize = 6;
/// Milliseconds the top level spans: deadlines further than about this from
/// `elapsed` are clamped and re-placed when the clamp time comes.
#[cfg(all(test, not(loom)))] // the unit tests' range checks
pub(crate) const RANGE_MS: u64 = 1 << (SLOT_BITS as usize * LEVELS);

/// `insert` refused the entry: its deadline is not after `elapsed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elapsed;

/// The wheel. Owned by one shard, behind its lock.
///
/// Safety invariant (W): every entry reachable from a list of this wheel is
/// live, and its node is accessed only through the wheel (by the holder of
/// `&mut Wheel`). `insert`'s contract establishes it; `remove` and the
/// popping methods end it for the entry they unlink.
pub(crate) struct Wheel {
    elapsed: u64,
    /// On the heap: ~6 KiB, built in place there rather than moved through
    /// the stack frames that build a shard (loom runs a model's main thread
    /// on a 32 KiB coroutine stack).
    levels: Box<[Level; LEVELS]>,
    /// Expired entries of the slot processed last, not yet handed out.
    pending: Head,
    len: usize,
}

// SAFETY: the raw entry pointers are only followed by the holder of the
// wheel (`&mut`), which the shard's mutex makes one thread at a time;
// entries are Send + Sync.
unsafe impl Send for Wheel {}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        let levels: Box<[Level]> = (0..LEVELS).map(|k| Level::new(k as u8)).collect();
        let Ok(levels) = levels.try_into() else { unreachable!("{LEVELS} levels collected") };
        Wheel { elapsed: 0, levels, pending: None, len: 0 }
    }

    /// The wheel's time: every deadline up to it has been handed out.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of linked entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Links `entry` with `deadline` (wheel ms). Fails, linking nothing, if
    /// `deadline <= elapsed()`.
    ///
    /// # Safety
    ///
    /// `entry` is live and stays live and in place until it is unlinked by
    /// [`remove`](Wheel::remove) or handed out by `poll_expired`/`pop_any`;
    /// it is in no wheel; until then its node is touched only through this
    /// wheel.
    pub(crate) unsafe fn insert(&mut self, entry: NonNull<Entry>, deadline: u64) -> Result<(), Elapsed> {
        if deadline <= self.elapsed {
            return Err(Elapsed);
        }
        // SAFETY: `entry` is live and its node ours (contract).
        unsafe { with_node(entry, |n| n.deadline = deadline) };
        // SAFETY: as above; `entry` is in no list (contract).
        unsafe { self.place(entry, deadline) };
        self.len += 1;
        Ok(())
    }

    /// Unlinks `entry`.
    ///
    /// # Safety
    ///
    /// `entry` is linked in this wheel.
    pub(crate) unsafe fn remove(&mut self, entry: NonNull<Entry>) {
        // SAFETY: `entry` is linked here (contract), so live and its node
        // ours (W).
        let loc = unsafe { with_node(entry, |n| n.loc) };
        match loc {
            // SAFETY: the node says the entry is in this slot; W covers the
            // slot's other entries.
            Loc::Slot { level, slot } => unsafe { self.levels[level as usize].unlink(entry, slot as usize) },
            // SAFETY: the node says the entry is in the pending list; W.
            Loc::Pending => unsafe { list::unlink(&mut self.pending, entry) },
            Loc::Unlinked => unreachable!("Wheel::remove of an entry that is not linked"),
        }
        self.len -= 1;
    }

    /// Unlinks and returns one entry whose deadline is `<= now`, advancing
    /// `elapsed` (up to `now`) and cascading entries down as it goes.
    /// Entries come out in deadline order (ms resolution). `None` once no
    /// deadline `<= now` is left; `elapsed()` is then `max(elapsed, now)`.
    pub(crate) fn poll_expired(&mut self, now: u64) -> Option<NonNull<Entry>> {
        loop {
            // SAFETY: the pending list is one of our lists (W).
            if let Some(entry) = unsafe { list::pop_front(&mut self.pending) } {
                self.len -= 1;
                return Some(entry);
            }
            match self.next_slot() {
                Some((level, slot, key)) if key <= now => {
                    debug_assert!(key >= self.elapsed, "a key fell behind elapsed");
                    self.elapsed = key;
                    self.process(level, slot);
                }
                _ => {
                    self.elapsed = self.elapsed.max(now);
                    return None;
                }
            }
        }
    }

    /// Unlinks and returns any entry, regardless of its deadline (draining
    /// at shutdown). O(1) per call.
    pub(crate) fn pop_any(&mut self) -> Option<NonNull<Entry>> {
        // SAFETY: the pending list is one of our lists (W).
        let entry = match unsafe { list::pop_front(&mut self.pending) } {
            Some(entry) => entry,
            None => {
                let (level, slot) =
                    self.levels.iter().enumerate().find_map(|(k, l)| l.any_occupied().map(|s| (k, s)))?;
                let entry = self.levels[level].head(slot).expect("occupied slot has a head");
                // SAFETY: `entry` heads that slot; W covers the rest.
                unsafe { self.levels[level].unlink(entry, slot) };
                entry
            }
        };
        self.len -= 1;
        Some(entry)
    }

    /// The time of the wheel's next event (ms): the exact earliest deadline,
    /// unless the earliest entry of a level >= 1 slot was cancelled (then a
    /// lower bound) or the earliest deadline is beyond the wheel's range
    /// (then the time at which it is re-placed). Never later than the
    /// earliest deadline; `None` when the wheel is empty.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        if self.pending.is_some() {
            return Some(self.elapsed);
        }
        self.next_slot().map(|(_, _, key)| key)
    }

    /// The slot with the least key: `(level, slot, key)`.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        let mut best: Option<(usize, usize, u64)> = None;
        for (k, level) in self.levels.iter().enumerate() {
            if let Some((slot, key)) = level.next(self.elapsed) {
                if best.is_none_or(|(_, _, b)| key < b) {
                    best = Some((k, slot, key));
                }
            }
        }
        best
    }

    /// The last millisecond the top level can name from `elapsed`.
    fn horizon(&self) -> u64 {
        let top = SLOT_BITS * (LEVELS as u32 - 1);
        ((self.elapsed >> top) + SLOTS as u64).checked_mul(1 << top).map_or(u64::MAX, |end| end - 1)
    }

    /// Places `entry` (deadline `deadline > elapsed`) on its level.
    ///
    /// # Safety
    ///
    /// `entry` is live, in no list, and its node ours (W for this wheel).
    unsafe fn place(&mut self, entry: NonNull<Entry>, deadline: u64) {
        debug_assert!(deadline > self.elapsed);
        let t = deadline.min(self.horizon());
        let level = (0..LEVELS).find(|&k| self.levels[k].fits(self.elapsed, t)).unwrap_or(LEVELS - 1);
        debug_assert!(self.levels[level].fits(self.elapsed, t));
        // SAFETY: forwarded from our contract.
        unsafe { self.levels[level].push(entry, t) };
    }

    /// Empties a slot whose key is `elapsed`: expired entries to the
    /// pending list, the rest placed again (lower down).
    fn process(&mut self, level: usize, slot: usize) {
        let mut chain = self.levels[level].take(slot);
        // SAFETY: the chain was a slot list of this wheel (W).
        while let Some(entry) = unsafe { list::pop_front(&mut chain) } {
            // SAFETY: `entry` was linked here: live, node ours (W).
            let deadline = unsafe { with_node(entry, |n| n.deadline) };
            if deadline <= self.elapsed {
                // SAFETY: `entry` is in no list now; W.
                unsafe { list::push_front(&mut self.pending, entry, Loc::Pending) };
            } else {
                // SAFETY: `entry` is in no list now; W.
                unsafe { self.place(entry, deadline) };
            }
        }
    }
}

impl Default for Wheel {
    fn default() -> Wheel {
        Wheel::new()
    }
}

impl fmt::Debug for Wheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("elapsed", &self.elapsed)
            .field("len", &self.len)
            .field("next_expiration", &self.next_expiration())
            .finish()
    }
}
