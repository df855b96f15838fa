//! Task ids: unique for the life of the process, handed out without a shared
//! write per spawn (each thread reserves a block of ids at a time).

use crate::loom::sync::atomic::{Ordering, StaticAtomicU64};
use crate::rt::context;
use crate::rt::task::Priority;
use std::fmt;

/// A task's id, unique among all tasks of the process.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// let (a, b) = (rt.spawn(async {}), rt.spawn(async {}));
/// assert_ne!(a.id(), b.id());
/// println!("task {} and task {}", a.id(), b.id().as_u64());
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub(crate) u64);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Ids a thread reserves at a time: a power of two, and blocks start at
/// multiples of it, so that the ids of one block share one `shard_key`.
/// Id 0 is never handed out.
const BLOCK_SHIFT: u32 = 10;
const BLOCK: u64 = 1 << BLOCK_SHIFT;
static NEXT_BLOCK: StaticAtomicU64 = StaticAtomicU64::new(BLOCK);

/// The shard key of id word `word` (class bits included: they stay above
/// any shard mask). Under loom the low bits instead: the block counter is
/// a plain static that grows from one model iteration to the next, while
/// each iteration's ids repeat modulo `BLOCK`, and a model must place its
/// tasks in the same shards every iteration.
#[inline]
fn shard_key_of(word: u64) -> usize {
    if crate::loom::IS_LOOM {
        word as usize
    } else {
        (word >> BLOCK_SHIFT) as usize
    }
}

/// A fresh block of `BLOCK` ids: `(first, end)`.
#[cold]
fn reserve_block() -> (u64, u64) {
    // Relaxed: only uniqueness matters, which the RMW gives.
    let first = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
    (first, first + BLOCK)
}

impl Id {
    #[inline]
    pub(crate) fn next() -> Id {
        // The thread's reserved block: the context's `task_ids`.
        context::with(|cx| {
            let cell = &cx.task_ids;
            let (mut next, mut end) = cell.get();
            if next == end {
                (next, end) = reserve_block();
            }
            cell.set((next + 1, end));
            Id(next)
        })
        // No context (loom thread teardown): take a single id.
        .unwrap_or_else(|| Id(NEXT_BLOCK.fetch_add(1, Ordering::Relaxed)))
    }

    /// The owned-list shard key of the task with this id: the same as its
    /// `Ident::shard_key` below the class bits, which no shard mask
    /// reaches.
    pub(crate) fn shard_key(self) -> usize {
        shard_key_of(self.0)
    }

    /// The id as a number.
    pub fn as_u64(&self) -> u64 {
        self.0
    }
}

/// Where the class sits in a task's id word: the top two bits. Ids come
/// from a 64-bit counter that a process cannot take past 2^62 (a thousand
/// years at four billion spawns a second), so the bits are never an id's.
const CLASS_SHIFT: u32 = 62;
const ID_MASK: u64 = (1 << CLASS_SHIFT) - 1;

/// A task's id and scheduling class in one immutable word of the header.
///
/// The class is read on every schedule (which queue a woken task goes to);
/// the id word is written once at creation and sits in the header's first
/// cache line, beside the state word that the same schedule has just
/// changed, so reading the class costs a load from a line already in this
/// core's cache and no atomic. The state word has no spare bits to give
/// (its high bits are the reference count), and `meta`'s spare low bits
/// would have every reader of the location mask them off.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Ident(u64);

impl Ident {
    pub(crate) fn new(id: Id, class: Priority) -> Ident {
        debug_assert!(id.0 <= ID_MASK);
        Ident((id.0 & ID_MASK) | (class.bits() << CLASS_SHIFT))
    }

    /// The public id (the class bits masked off).
    #[inline]
    pub(crate) fn id(self) -> Id {
        Id(self.0 & ID_MASK)
    }

    /// A number to pick the task's owned-list shard by: the number of the
    /// id block the task's id came from (the class bits stay above any
    /// shard mask). The ids a thread hands out come from its own block
    /// (`Id::next`), so the tasks one thread spawns share a shard, whose
    /// lock and list head stay in that thread's cache while other threads
    /// spawn into theirs; with the id's low bits instead, every spawn of
    /// every thread cycles through all the shards, and each lock and head
    /// moves between cores.
    #[inline]
    pub(crate) fn shard_key(self) -> usize {
        shard_key_of(self.0)
    }

    /// True for a Normal task: the class bits are zero (one compare; the
    /// schedule path's test, cheaper than decoding the class).
    #[inline]
    pub(crate) fn is_normal(self) -> bool {
        self.0 <= ID_MASK
    }

    #[inline]
    pub(crate) fn priority(self) -> Priority {
        Priority::from_bits(self.0 >> CLASS_SHIFT)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_class_bits_never_show_in_the_id() {
        for class in Priority::ALL {
            let ident = Ident::new(Id(ID_MASK), class);
            assert_eq!(ident.id(), Id(ID_MASK));
            assert_eq!(ident.priority(), class);
            let ident = Ident::new(Id(7), class);
            assert_eq!((ident.id(), ident.priority()), (Id(7), class));
        }
    }

    #[test]
    fn a_task_and_its_id_pick_the_same_shard_and_a_block_shares_one() {
        // Up to 2^16 shards; the owned list's lookups by id (`describe`)
        // must land where `bind` put the task.
        let mask = (1 << 16) - 1;
        for class in Priority::ALL {
            for id in [BLOCK, BLOCK + 1, 5 * BLOCK + 1023, ID_MASK] {
                let ident = Ident::new(Id(id), class);
                assert_eq!(ident.shard_key() & mask, Id(id).shard_key() & mask, "{id} {class:?}");
            }
        }
        let first = Id(7 * BLOCK).shard_key();
        assert!((7 * BLOCK..8 * BLOCK).all(|id| Id(id).shard_key() == first));
        assert_ne!(Id(8 * BLOCK).shard_key(), first);
    }
}
