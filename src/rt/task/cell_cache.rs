//! Recycling of task cells (docs/design/task.md, "Cell cache").
//!
//! A task cell is usually allocated on one thread and freed on another: a
//! task spawned from `block_on` or any non-worker thread is freed by the
//! worker that completes it, a stolen task by the thief. glibc frees a
//! chunk of up to 120 requested bytes with one CAS from any thread, but a
//! bigger one freed by a thread whose tcache bin is full takes the owning
//! arena's mutex, which the allocating thread's next `malloc` takes too.
//! Under a steady stream of remote spawns the workers and the spawner
//! convoy on that lock, and a whole process stays in that slow mode
//! (docs/benchmarks.md). Even the fast bins cost: a burst of
//! 10,000 spawns overflows the tcache, and every cell then goes through
//! `_int_malloc`, `_int_free` and `malloc_consolidate`, which cost as
//! much as a good part of a remote spawn-and-join.
//!
//! So cells of up to 1,024 bytes (alignment up to 16) are rounded up to a
//! size class (32-byte steps) and recycled instead of freed:
//!
//! - every thread keeps a **stash** per class: a loaded chain of up to
//!   [`BATCH`] free cells and at most one spare full chain (Bonwick's
//!   magazines). Freeing pushes onto the loaded chain, allocating pops from
//!   it; neither touches shared memory.
//! - a runtime keeps a **depot** per class: a bounded lock-free queue of
//!   full chains, holding up to [`DEPOT_BYTES`] of cells per class (so a
//!   burst of ~16,000 small tasks is recycled whole: the next burst
//!   allocates nothing). A thread whose stash is full hands a chain of
//!   [`BATCH`] cells to the depot (one CAS per 32 frees); a thread whose
//!   stash is empty takes one (one CAS per 32 allocations). That is how
//!   cells freed on workers get back to a thread that spawns from outside.
//! - a full depot frees the chain to the allocator; a thread's stash is
//!   freed when the thread exits; a runtime's depot when the runtime's
//!   shared state is dropped. While the runtime lives, its monitor trims
//!   the depot every [`TRIM_PERIOD`] (`CellDepot::trim`): each class gives
//!   half of its chains above [`TRIM_FLOOR`] back to the allocator. A
//!   runtime that bursts more often than that keeps most of what it needs;
//!   an idle one is back to the floor (4 chains a class: at most ~2.1 MiB
//!   over all 31 classes, if every class was used), at most
//!   [`TRIM_MAX_CHAINS`] chains a pass, like Go's background scavenger
//!   returning heap a program no longer uses.
//!
//! A free cell is plain memory of its class's layout, not tied to a
//! runtime: a thread's stash serves every runtime it spawns on. Cells of
//! other sizes, and all cells when the cache is off
//! (`Builder::task_cell_cache(false)`, and under loom), go straight to the
//! global allocator with their exact layout.

use crossbeam_queue::ArrayQueue;
use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::{self, NonNull};

/// Size of the smallest class; classes grow by [`GRANULE`]. (A task's
/// header alone is 72 bytes.)
const FIRST_CLASS_SIZE: usize = 64;
/// Step between classes: at most 31 bytes of a cached cell are padding.
const GRANULE: usize = 32;
/// Largest cell that is cached (a future of about 900 bytes).
pub(crate) const MAX_CACHED: usize = 1024;
/// Number of size classes.
pub(crate) const NUM_CLASSES: usize = (MAX_CACHED - FIRST_CLASS_SIZE) / GRANULE + 1;
/// Alignment of every cached cell (malloc's own on 64-bit targets).
const ALIGN: usize = 16;
/// Cells in one chain moved between a stash and a depot.
pub(crate) const BATCH: usize = 32;
/// The most cell memory a depot holds per class: 2 MiB (16,384 cells of
/// 128 bytes, 64 chains of 1,024-byte cells).
pub(crate) const DEPOT_BYTES: usize = 2 << 20;

/// How often the monitor trims a runtime's depot (`CellDepot::trim`).
pub(crate) const TRIM_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);
/// Full chains per class that trimming leaves in a depot.
pub(crate) const TRIM_FLOOR: usize = 4;
/// The most chains one trim pass frees (4,096 cells: well under a
/// millisecond of `free`s), so a pass delays the monitor's other duties
/// (stall samples) only briefly; a bigger surplus takes more passes.
pub(crate) const TRIM_MAX_CHAINS: usize = 128;

/// Full chains a depot holds for `class` (at least 4).
pub(crate) fn depot_chains(class: usize) -> usize {
    (DEPOT_BYTES / (BATCH * class_layout(class).size())).max(4)
}

/// The class of a cell with `layout`, if it is cached.
#[inline]
pub(crate) fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size();
    if size > MAX_CACHED || layout.align() > ALIGN {
        return None;
    }
    Some((size.max(FIRST_CLASS_SIZE) - FIRST_CLASS_SIZE).div_ceil(GRANULE))
}

/// The layout every cell of `class` is allocated and freed with.
pub(crate) fn class_layout(class: usize) -> Layout {
    debug_assert!(class < NUM_CLASSES);
    match Layout::from_size_align(FIRST_CLASS_SIZE + class * GRANULE, ALIGN) {
        Ok(layout) => layout,
        // The sizes are small multiples of 32 and ALIGN a power of two.
        Err(_) => unreachable!("cell class layouts are valid"),
    }
}

/// The first word of a free cell: the next one in its chain.
struct Free {
    next: *mut Free,
}

/// A full chain ([`BATCH`] cells) in a depot.
struct FullChain(NonNull<Free>);

// SAFETY: a chain in the depot is owned by nobody but the depot; the thread
// that takes it out owns its cells (plain memory) from then on. The queue's
// push/pop are a release/acquire pair, so the links written before the push
// are visible to the thread that pops.
unsafe impl Send for FullChain {}

/// A runtime's shared store of full chains, one bounded queue per class.
pub(crate) struct CellDepot {
    classes: Box<[ArrayQueue<FullChain>]>,
    /// Chains `trim` has freed (written by the monitor only).
    trimmed: std::sync::atomic::AtomicUsize,
}

impl CellDepot {
    pub(crate) fn new() -> CellDepot {
        // The queues' slots are allocated now: 6,251 chain slots over all
        // classes, 16 bytes each, about 100 KB per runtime.
        CellDepot {
            classes: (0..NUM_CLASSES).map(|class| ArrayQueue::new(depot_chains(class))).collect(),
            trimmed: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Full chains held for `class` (tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn chains(&self, class: usize) -> usize {
        self.classes[class].len()
    }

    /// Chains `trim` has freed so far.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn trimmed_chains(&self) -> usize {
        // Relaxed: a statistic.
        self.trimmed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Gives half of each class's chains above [`TRIM_FLOOR`] (rounded up)
    /// back to the allocator, at most [`TRIM_MAX_CHAINS`] in all. Returns
    /// the number of chains freed. Safe to
    /// run while threads push and pop: a chain popped here is owned here,
    /// as one popped by a stash is (the queue is multi-producer,
    /// multi-consumer); a concurrent pusher may refill what was taken,
    /// which the next pass trims.
    #[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's; no monitor under loom
    pub(crate) fn trim(&self) -> usize {
        let mut freed = 0;
        for (class, queue) in self.classes.iter().enumerate() {
            let excess = queue.len().saturating_sub(TRIM_FLOOR);
            for _ in 0..excess.div_ceil(2).min(TRIM_MAX_CHAINS - freed) {
                let Some(chain) = queue.pop() else { break };
                // SAFETY: a depot chain holds BATCH free cells of `class`,
                // owned by us alone once popped.
                unsafe { free_chain(chain.0.as_ptr(), class) };
                freed += 1;
            }
        }
        // Relaxed: a statistic (tests read it).
        self.trimmed.fetch_add(freed, std::sync::atomic::Ordering::Relaxed);
        freed
    }
}

impl Drop for CellDepot {
    fn drop(&mut self) {
        for (class, queue) in self.classes.iter().enumerate() {
            while let Some(chain) = queue.pop() {
                // SAFETY: a depot chain holds BATCH free cells of `class`,
                // owned by the depot alone (popped just now).
                unsafe { free_chain(chain.0.as_ptr(), class) };
            }
        }
    }
}

/// One thread's free cells, per class: the loaded chain (`heads`, `lens`)
/// and the spare full chain (or null).
///
/// Plain `Cell`s in a const-initialised thread-local without a destructor:
/// a pop or a push on the fast path is a few loads and stores, with no
/// liveness check and no borrow flag, inlined into the task's allocation
/// and deallocation. The cells a thread keeps are freed at its exit by
/// `StashGuard`'s destructor, registered before the first cell enters the
/// stash (`state`). Every update of the `Cell`s is complete before any
/// call out of this module (the depot's queue, the allocator), so a
/// re-entrant call (an allocator that frees a task cell from inside a
/// free: not ours to support, but not unsound) sees a consistent stash.
struct Stash {
    heads: [Cell<*mut Free>; NUM_CLASSES],
    lens: [Cell<usize>; NUM_CLASSES],
    spare: [Cell<*mut Free>; NUM_CLASSES],
    /// `UNREGISTERED`, `LIVE` or `DEAD`.
    state: Cell<u8>,
}

/// No cell has entered the stash yet; its destructor is not registered.
const UNREGISTERED: u8 = 0;
/// The destructor is registered: cells may enter the stash.
const LIVE: u8 = 1;
/// The destructor ran (or the thread is exiting): cells go to the
/// allocator.
const DEAD: u8 = 2;

impl Stash {
    const fn new() -> Stash {
        Stash {
            heads: [const { Cell::new(ptr::null_mut()) }; NUM_CLASSES],
            lens: [const { Cell::new(0) }; NUM_CLASSES],
            spare: [const { Cell::new(ptr::null_mut()) }; NUM_CLASSES],
            state: Cell::new(UNREGISTERED),
        }
    }

    /// Pops a cell of `class` from the loaded chain, if it has one.
    #[inline]
    fn pop(&self, class: usize) -> Option<NonNull<u8>> {
        let len = self.lens[class].get();
        if len == 0 {
            return None;
        }
        let cell = self.heads[class].get();
        // SAFETY: `len > 0`, so `cell` is a free cell this stash owns; its
        // first word was written as a `Free` when it was pushed.
        self.heads[class].set(unsafe { (*cell).next });
        self.lens[class].set(len - 1);
        NonNull::new(cell.cast::<u8>())
    }

    /// Pushes `cell` onto the loaded chain of `class`, if the stash is live
    /// and that chain is not full.
    ///
    /// # Safety
    /// As for `free_class`.
    #[inline]
    unsafe fn try_push(&self, class: usize, cell: NonNull<u8>) -> bool {
        let len = self.lens[class].get();
        if self.state.get() != LIVE || len == BATCH {
            return false;
        }
        let cell = cell.as_ptr().cast::<Free>();
        // SAFETY: per the caller, the cell is ours; it is at least
        // FIRST_CLASS_SIZE bytes and 16-aligned, room for one pointer.
        unsafe { cell.write(Free { next: self.heads[class].get() }) };
        self.heads[class].set(cell);
        self.lens[class].set(len + 1);
        true
    }

    /// Makes the stash live (registering its destructor) unless it is
    /// dead. True if cells may enter it.
    fn make_live(&self) -> bool {
        match self.state.get() {
            LIVE => true,
            DEAD => false,
            _ => {
                // Touching the guard registers its destructor; it fails
                // only while the thread's destructors run.
                let live = STASH_GUARD.try_with(|_| ()).is_ok();
                self.state.set(if live { LIVE } else { DEAD });
                live
            }
        }
    }
}

// Not part of the thread's context (`rt::context`): one concept per file,
// and only task cells use it. std's thread-locals also under loom: the
// cache is off there.
std::thread_local! {
    static STASH: Stash = const { Stash::new() };
    static STASH_GUARD: StashGuard = const { StashGuard };
}

// The fast paths rely on it: no destructor, so no liveness check on access.
const _: () = assert!(!std::mem::needs_drop::<Stash>());

/// Frees this thread's stash when the thread exits.
struct StashGuard;

impl Drop for StashGuard {
    fn drop(&mut self) {
        let _ = STASH.try_with(|stash| {
            // Dead first: a cell freed from here on goes to the allocator.
            stash.state.set(DEAD);
            for class in 0..NUM_CLASSES {
                let head = stash.heads[class].replace(ptr::null_mut());
                let len = stash.lens[class].replace(0);
                let spare = stash.spare[class].replace(ptr::null_mut());
                // SAFETY: the stash owned these chains (taken out above):
                // `len` free cells of `class` at `head`, BATCH at `spare`.
                unsafe {
                    free_n(head, len, class);
                    if !spare.is_null() {
                        free_chain(spare, class);
                    }
                }
            }
        });
    }
}

/// Frees the [`BATCH`] cells of the chain at `head`.
///
/// # Safety
/// The caller owns the chain; its cells are free cells of `class`.
unsafe fn free_chain(head: *mut Free, class: usize) {
    // SAFETY: forwarded.
    unsafe { free_n(head, BATCH, class) }
}

/// Frees the first `n` cells of the chain at `head`.
///
/// # Safety
/// As for `free_chain`, with at least `n` cells in the chain.
unsafe fn free_n(mut head: *mut Free, n: usize, class: usize) {
    for _ in 0..n {
        // SAFETY: per the caller, `head` is one of the chain's free cells,
        // allocated with `class_layout(class)`; its link is read before it
        // is freed.
        unsafe {
            let next = (*head).next;
            std::alloc::dealloc(head.cast::<u8>(), class_layout(class));
            head = next;
        }
    }
}

/// Allocates memory for a cell of `layout`: a recycled cell of its class
/// when `depot` is given and the size is cached, else the global
/// allocator. Null if the allocator fails.
///
/// The memory must be given back with [`free`] with the same `depot`
/// choice (`Some` or `None`) and `layout`.
#[inline]
pub(crate) fn alloc(depot: Option<&CellDepot>, layout: Layout) -> *mut u8 {
    // Inlined into each task type's allocation, where `layout` is a
    // constant: the class is computed at compile time, and only the stash
    // access below is a call.
    match depot.zip(class_of(layout)) {
        Some((depot, class)) => alloc_class(depot, class),
        // SAFETY: every task cell has a non-zero size (its header alone is
        // dozens of bytes).
        None => unsafe { std::alloc::alloc(layout) },
    }
}

/// `alloc` for a cached class: a pop from the stash (inlined), else
/// `alloc_refill`.
#[inline]
fn alloc_class(depot: &CellDepot, class: usize) -> *mut u8 {
    match STASH.try_with(|stash| stash.pop(class)) {
        Ok(Some(cell)) => cell.as_ptr(),
        _ => alloc_refill(depot, class),
    }
}

/// The stash's loaded chain of `class` is empty: load the spare chain or
/// one of `depot`'s, and take a cell from it; the allocator if neither
/// has one (or the thread is exiting).
#[cold]
#[inline(never)]
fn alloc_refill(depot: &CellDepot, class: usize) -> *mut u8 {
    let recycled = STASH
        .try_with(|stash| {
            if !stash.make_live() {
                return None;
            }
            let spare = stash.spare[class].replace(ptr::null_mut());
            let head = match NonNull::new(spare) {
                Some(spare) => spare,
                None => depot.classes[class].pop()?.0,
            };
            // SAFETY: `head` starts a full chain (BATCH cells) that is ours
            // now; its first cell is returned, the rest loaded.
            stash.heads[class].set(unsafe { (*head.as_ptr()).next });
            stash.lens[class].set(BATCH - 1);
            Some(head)
        })
        .ok()
        .flatten();
    match recycled {
        Some(cell) => cell.as_ptr().cast::<u8>(),
        // SAFETY: a class layout has a non-zero size.
        None => unsafe { std::alloc::alloc(class_layout(class)) },
    }
}

/// Gives back memory from [`alloc`].
///
/// # Safety
/// `cell` came from `alloc(d, layout)` where `d` is `Some` iff `depot` is
/// (the same depot or another: free cells are runtime-agnostic), nothing
/// uses it any more, and its contents have been dropped.
#[inline]
pub(crate) unsafe fn free(depot: Option<&CellDepot>, cell: NonNull<u8>, layout: Layout) {
    // Inlined like `alloc`, for the same reason.
    match depot.zip(class_of(layout)) {
        // SAFETY: forwarded from the caller.
        Some((depot, class)) => unsafe { free_class(depot, cell, class) },
        // SAFETY: per the caller, allocated by the global allocator with
        // exactly `layout`.
        None => unsafe { std::alloc::dealloc(cell.as_ptr(), layout) },
    }
}

/// `free` for a cached class: a push onto the stash (inlined), else
/// `free_spill`.
///
/// # Safety
/// As for `free`, with `class` the class of the cell's layout.
#[inline]
unsafe fn free_class(depot: &CellDepot, cell: NonNull<u8>, class: usize) {
    // SAFETY: forwarded from the caller.
    if !STASH.try_with(|stash| unsafe { stash.try_push(class, cell) }).unwrap_or(false) {
        // SAFETY: forwarded from the caller.
        unsafe { free_spill(depot, cell, class) };
    }
}

/// The loaded chain of `class` is full (or the stash is not live yet):
/// the full chain becomes the spare, the old spare goes to `depot` (or to
/// the allocator if the depot is full), and `cell` starts a new chain.
/// With the stash dead, `cell` goes to the allocator.
///
/// # Safety
/// As for `free_class`.
#[cold]
#[inline(never)]
unsafe fn free_spill(depot: &CellDepot, cell: NonNull<u8>, class: usize) {
    let old_spare = STASH
        .try_with(|stash| {
            if !stash.make_live() {
                return Err(());
            }
            let mut old_spare = ptr::null_mut();
            if stash.lens[class].get() == BATCH {
                old_spare = stash.spare[class].replace(stash.heads[class].get());
                stash.heads[class].set(ptr::null_mut());
                stash.lens[class].set(0);
            }
            // SAFETY: forwarded from the caller; the stash is live and the
            // chain not full now.
            let pushed = unsafe { stash.try_push(class, cell) };
            debug_assert!(pushed);
            Ok(old_spare)
        })
        .unwrap_or(Err(()));
    match old_spare {
        Ok(spare) => {
            if let Some(full) = NonNull::new(spare) {
                if let Err(FullChain(full)) = depot.classes[class].push(FullChain(full)) {
                    // SAFETY: the spare chain holds BATCH free cells of
                    // `class`, ours since it left the stash above; the
                    // depot refused it.
                    unsafe { free_chain(full.as_ptr(), class) };
                }
            }
        }
        // SAFETY: per the caller, allocated with `class_layout(class)`.
        Err(()) => unsafe { std::alloc::dealloc(cell.as_ptr(), class_layout(class)) },
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    #[test]
    fn only_sizes_past_the_fast_bins_and_up_to_the_limit_have_a_class() {
        assert_eq!(class_of(layout(1)), Some(0));
        assert_eq!(class_of(layout(64)), Some(0));
        assert_eq!(class_of(layout(65)), Some(1));
        assert_eq!(class_of(layout(120)), Some(2), "fast-bin sizes are cached too");
        assert_eq!(class_of(layout(128)), Some(2));
        assert_eq!(class_of(layout(129)), Some(3));
        assert_eq!(class_of(layout(1024)), Some(NUM_CLASSES - 1));
        assert_eq!(class_of(layout(1025)), None);
        assert_eq!(class_of(Layout::from_size_align(256, 32).unwrap()), None);
        for size in 121..=MAX_CACHED {
            let class = class_of(layout(size)).unwrap();
            assert!(class_layout(class).size() >= size, "size {size} class {class}");
            assert!(class_layout(class).size() < size + GRANULE, "size {size} class {class}");
        }
    }

    #[test]
    fn a_freed_cell_is_reused_by_the_next_allocation_of_its_class() {
        let depot = CellDepot::new();
        let a = alloc(Some(&depot), layout(136));
        // SAFETY: from `alloc` with the same depot and layout, unused.
        unsafe { free(Some(&depot), NonNull::new(a).unwrap(), layout(136)) };
        // Same class (129..=160), another size: the same memory.
        let b = alloc(Some(&depot), layout(150));
        assert_eq!(a, b);
        // SAFETY: as above.
        unsafe { free(Some(&depot), NonNull::new(b).unwrap(), layout(150)) };
    }

    #[test]
    fn cells_freed_on_one_thread_reach_another_through_the_depot() {
        let depot = std::sync::Arc::new(CellDepot::new());
        let class = class_of(layout(200)).unwrap();
        let n = 4 * BATCH;
        let cells: Vec<usize> = (0..n).map(|_| alloc(Some(&depot), layout(200)) as usize).collect();
        let d = depot.clone();
        let sent = cells.clone();
        std::thread::spawn(move || {
            for &c in &sent {
                // SAFETY: allocated above with this layout and a depot; the
                // main thread no longer touches them.
                unsafe { free(Some(&d), NonNull::new(c as *mut u8).unwrap(), layout(200)) };
            }
        })
        .join()
        .unwrap();
        // The freeing thread kept at most two chains and handed the rest
        // over; its exit freed the two it kept.
        assert_eq!(depot.chains(class), n / BATCH - 2);
        let again: Vec<usize> =
            (0..(n - 2 * BATCH)).map(|_| alloc(Some(&depot), layout(200)) as usize).collect();
        assert_eq!(depot.chains(class), 0);
        for c in &again {
            assert!(cells.contains(c), "a recycled cell comes from the freed ones");
        }
        for c in again {
            // SAFETY: as above.
            unsafe { free(Some(&depot), NonNull::new(c as *mut u8).unwrap(), layout(200)) };
        }
    }

    #[test]
    fn trimming_halves_each_class_above_the_floor_and_keeps_the_floor() {
        let depot = CellDepot::new();
        let class = class_of(layout(200)).unwrap();
        let chains = 21;
        // Free `chains` full chains plus the two a thread keeps on another
        // thread, whose exit frees those two: `chains` land in the depot.
        let cells: Vec<usize> =
            (0..(chains + 2) * BATCH).map(|_| alloc(Some(&depot), layout(200)) as usize).collect();
        std::thread::scope(|s| {
            s.spawn(|| {
                for &c in &cells {
                    // SAFETY: allocated above with this layout and a depot;
                    // nothing else touches them.
                    unsafe { free(Some(&depot), NonNull::new(c as *mut u8).unwrap(), layout(200)) };
                }
            });
        });
        assert_eq!(depot.chains(class), chains);
        // 21 -> 21 - ceil(17 / 2) = 12 -> 8 -> 6 -> 5 -> 4 -> 4.
        let mut seen = vec![depot.chains(class)];
        for _ in 0..6 {
            depot.trim();
            seen.push(depot.chains(class));
        }
        assert_eq!(seen, [21, 12, 8, 6, 5, 4, 4]);
        assert_eq!(depot.trim(), 0, "nothing above the floor: nothing freed");
        // A big surplus is freed at most TRIM_MAX_CHAINS at a time.
        let big = 2 * TRIM_MAX_CHAINS + 2 * TRIM_FLOOR + 2;
        let more: Vec<usize> =
            (0..(big + 2) * BATCH).map(|_| alloc(Some(&depot), layout(64)) as usize).collect();
        std::thread::scope(|s| {
            s.spawn(|| {
                for &c in &more {
                    // SAFETY: as above.
                    unsafe { free(Some(&depot), NonNull::new(c as *mut u8).unwrap(), layout(64)) };
                }
            });
        });
        let big_class = class_of(layout(64)).unwrap();
        assert_eq!(depot.chains(big_class), big);
        assert_eq!(depot.trim(), TRIM_MAX_CHAINS);
        assert_eq!(depot.chains(big_class), big - TRIM_MAX_CHAINS);
        // The kept chains still serve allocations.
        let again: Vec<usize> =
            (0..TRIM_FLOOR * BATCH).map(|_| alloc(Some(&depot), layout(200)) as usize).collect();
        assert_eq!(depot.chains(class), 0);
        assert!(again.iter().all(|c| cells.contains(c)));
        for c in again {
            // SAFETY: as above.
            unsafe { free(Some(&depot), NonNull::new(c as *mut u8).unwrap(), layout(200)) };
        }
    }

    #[test]
    fn without_a_depot_cells_use_their_exact_layout() {
        let p = alloc(None, layout(136));
        assert!(!p.is_null());
        // SAFETY: from `alloc(None, ..)` with this layout.
        unsafe { free(None, NonNull::new(p).unwrap(), layout(136)) };
    }
}
