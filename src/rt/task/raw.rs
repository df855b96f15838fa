//! The task's single allocation (`Cell`: header | core | trailer), its
//! type-erased vtable, and `RawTask`, the untyped pointer every handle holds.

use super::harness;
use super::id::{Id, Ident};
use super::list::Links;
use super::meta::TaskMeta;
use super::state::State;
use super::{JoinError, Schedule};
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{Ordering::Relaxed, StatAtomicU64};
use crate::loom::sync::StdArc;
use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::task::Waker;

/// The type-erased operations on a task, monomorphised per (future,
/// scheduler) pair in `harness`.
pub(crate) struct Vtable {
    /// Poll the future (the caller gives up one `Notified` reference).
    pub(crate) poll: unsafe fn(NonNull<Header>),
    /// Hand one reference, as a `Notified`, to the task's scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Free the allocation (reference count reached zero).
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// `JoinHandle::poll`: write `Poll<Result<T, JoinError>>` to the `*mut ()`.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// `JoinHandle::drop`: give up join interest and the handle's reference.
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>),
    /// Shutdown: cancel the task (the caller gives up the list reference).
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
}

/// What a spawn says about the task besides its future: for dumps and
/// stall reports.
#[derive(Debug)]
pub(crate) struct Meta {
    pub(crate) spawned_at: &'static Location<'static>,
    /// Shared (not boxed) so that a task dump copies it under the list
    /// lock with a reference-count increment instead of an allocation.
    pub(crate) name: Option<StdArc<str>>,
    /// The scheduling class, already resolved (inheritance applied).
    pub(crate) priority: crate::rt::task::Priority,
}

/// The part of a task that untyped code may touch. First field of `Cell`
/// (`repr(C)`), so a `NonNull<Header>` is also a pointer to the cell.
#[repr(C)]
pub(crate) struct Header {
    /// Lifecycle bits and reference count; see `state.rs`.
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// Links in the owned-tasks list; guarded by that list's shard lock.
    pub(crate) links: UnsafeCell<Links>,
    /// The id and the scheduling class (immutable; `id.rs`).
    pub(crate) ident: Ident,
    /// Where `spawn` was called and the task's name, if any (for task
    /// dumps and stall reports), in one word.
    pub(crate) meta: TaskMeta,
    /// Poll statistics for task dumps (written by the holder of RUNNING,
    /// read racily by dumps).
    pub(crate) stats: TaskStats,
}

impl Header {
    /// The task's public id.
    #[inline]
    pub(crate) fn id(&self) -> Id {
        self.ident.id()
    }

    /// The task's scheduling class.
    #[inline]
    pub(crate) fn priority(&self) -> crate::rt::task::Priority {
        self.ident.priority()
    }
}

/// A task's poll statistics. Written only by the thread that holds RUNNING
/// (plain Relaxed load + store, no RMW); dumps read them Relaxed from other
/// threads and may see a poll's start without its duration, which they
/// report as it is. No synchronisation hangs on them (std atomics, also
/// under loom).
///
/// Three words, as many as before wait reasons existed: the header stays
/// 72 bytes, which keeps the cell of a small task within glibc's fast bins
/// and the cache's 128-byte class, and every field a poll touches where it
/// was (docs/design/task.md, "Cell size"). Stamps are `clock` readings in
/// units of 1,024 ns (a shift, not a division, on the poll path) in 48
/// bits (9.1 years), which frees 16 bits beside the
/// spawn stamp for the await site, and 16 beside the last poll's start for
/// the wait kind and the RUNNABLE flag.
///
/// The second word has two kinds of writer, never at the same time
/// (docs/design/dump.md, "Wait reasons and await sites"): the thread that
/// holds RUNNING (poll start, and weft leaf futures returning `Pending`
/// during the poll), and the owner of a `Notified` before it queues it
/// (`mark_runnable`: spawn, wake of an idle task, resubmission after a
/// wake during the poll). A `Notified` exists only while the task is not
/// running, and the queue's push (Release) and pop (Acquire) order the
/// stamp before the RUNNING that follows the pop. The site bits of the
/// first word are written by the RUNNING holder only.
#[derive(Debug)]
pub(crate) struct TaskStats {
    /// Bits 63..48: the await site of the last weft wait (`wait::sites`
    /// index, 0 = unknown). Bits 47..0: the spawn's `clock` stamp in
    /// 1,024 ns units (never changes).
    created_and_site: StatAtomicU64,
    /// Bits 63..57: the wait kind (`WaitKind` code, 0 = none yet). Bit 56:
    /// RUNNABLE. Bits 47..0, 1,024 ns units on the `clock` scale: with
    /// RUNNABLE clear, the last poll's start (meaningless while the poll
    /// count is 0; the
    /// worker's cached clock, exact for timed polls); with RUNNABLE set
    /// (a sampled notification, until the poll starts), when the task was
    /// queued: the last poll's start is then known only to be earlier.
    poll_start_and_wait: StatAtomicU64,
    /// High 32 bits: polls started (saturating). Low 32 bits: length of the
    /// last *timed* poll in microseconds, rounded up, saturating at about
    /// 71 minutes (0 before one; a worker times one poll in
    /// `POLL_TIMING_SAMPLE`).
    pub(crate) polls_and_last_us: StatAtomicU64,
}

/// The 48-bit stamps of `TaskStats`, in units of 2^STAMP_SHIFT ns.
const STAMP_MASK: u64 = (1 << 48) - 1;
pub(crate) const STAMP_SHIFT: u32 = 10;
const SITE_SHIFT: u32 = 48;
const KIND_SHIFT: u32 = 57;
const RUNNABLE: u64 = 1 << 56;
const KIND_MASK: u64 = 0x7f << KIND_SHIFT;

/// The layout of a `WaitWord`, a decoded copy of the wait fields (not a
/// header word): kind | RUNNABLE | site | runnable stamp modulo 2^40.
const WAIT_KIND_SHIFT: u32 = 57;
const WAIT_RUNNABLE: u64 = 1 << 56;
const WAIT_SITE_SHIFT: u32 = 40;
const WAIT_SITE_MASK: u64 = 0xffff << WAIT_SITE_SHIFT;
/// The runnable stamp's bits in a `WaitWord` (and the modulus of its
/// differences: 13 days).
pub(crate) const WAIT_STAMP_MASK: u64 = (1 << WAIT_SITE_SHIFT) - 1;

/// A copy of a task's wait fields, decoded.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct WaitWord(u64);

impl WaitWord {
    /// The wait kind's code (0: none recorded).
    pub(crate) fn kind(self) -> u8 {
        (self.0 >> WAIT_KIND_SHIFT) as u8
    }

    /// The await site's index (0: unknown).
    pub(crate) fn site(self) -> u16 {
        ((self.0 & WAIT_SITE_MASK) >> WAIT_SITE_SHIFT) as u16
    }

    /// The runnable stamp in 2^STAMP_SHIFT ns units (modulo 2^40), if this
    /// notification was sampled and the task has not been polled since.
    pub(crate) fn runnable_since(self) -> Option<u64> {
        (self.0 & WAIT_RUNNABLE != 0).then_some(self.0 & WAIT_STAMP_MASK)
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn from_parts(kind: u8, site: u16, runnable_us: Option<u64>) -> WaitWord {
        let mut w = (u64::from(kind) << WAIT_KIND_SHIFT) | (u64::from(site) << WAIT_SITE_SHIFT);
        if let Some(us) = runnable_us {
            w |= WAIT_RUNNABLE | (us & WAIT_STAMP_MASK);
        }
        WaitWord(w)
    }
}

/// Where the poll count sits in `TaskStats::polls_and_last_us`.
const POLLS_SHIFT: u32 = 32;
const LAST_US_MASK: u64 = (1 << POLLS_SHIFT) - 1;

/// A `clock` stamp (ns) as the 48-bit stamp the words hold.
#[inline]
fn stamp_of(ns: u64) -> u64 {
    (ns >> STAMP_SHIFT) & STAMP_MASK
}

impl TaskStats {
    #[inline]
    pub(crate) fn new(created_ns: u64) -> TaskStats {
        // Runnable from now if the spawn's notification is a sampled one.
        let second = super::wait::runnable_stamp_ns().map_or(0, |ns| RUNNABLE | stamp_of(ns));
        TaskStats {
            created_and_site: StatAtomicU64::new(stamp_of(created_ns)),
            poll_start_and_wait: StatAtomicU64::new(second),
            polls_and_last_us: StatAtomicU64::new(0),
        }
    }

    /// The spawn's `clock` stamp, to 1,024 ns.
    pub(crate) fn created_ns(&self) -> u64 {
        // Relaxed: the stamp bits never change after `new`.
        (self.created_and_site.load(Relaxed) & STAMP_MASK) << STAMP_SHIFT
    }

    /// The last poll's start as a `clock` stamp to 1,024 ns (`None`:
    /// never polled). For a task queued by a sampled notification, the
    /// time it was queued (its last poll started earlier). The worker's
    /// cached clock may predate a spawn from outside (which read the clock
    /// fresh): callers clamp it to the spawn stamp.
    pub(crate) fn last_poll_start_ns(&self) -> Option<u64> {
        // Relaxed: a statistic read racily by dumps.
        let w = self.poll_start_and_wait.load(Relaxed);
        (self.polls() != 0).then_some((w & STAMP_MASK) << STAMP_SHIFT)
    }

    /// A poll starts at `start` (holder of RUNNING only).
    #[inline]
    pub(crate) fn poll_started(&self, start: u64) {
        // Relaxed: statistics; single writer (the RUNNING holder), racy readers.
        let w = self.polls_and_last_us.load(Relaxed);
        if w >> POLLS_SHIFT != u64::from(u32::MAX) {
            self.polls_and_last_us.store(w + (1 << POLLS_SHIFT), Relaxed);
        }
        // Until a weft leaf future says otherwise during this poll, whatever
        // keeps the task waiting is not weft's (the last weft-known site
        // stays in the first word); the runnable stamp is spent (the
        // worker read it before the poll). One store, as before wait
        // reasons existed. Relaxed: single writer now (the RUNNING holder).
        let external = u64::from(super::wait::WaitKind::External as u8) << KIND_SHIFT;
        self.poll_start_and_wait.store(external | stamp_of(start), Relaxed);
    }

    /// A weft leaf future returned `Pending` at site `site` (holder of
    /// RUNNING only, during the poll: RUNNABLE is clear then).
    #[inline]
    pub(crate) fn set_wait(&self, kind: super::wait::WaitKind, site: u16) {
        // Relaxed (all four): statistics; single writer (the RUNNING
        // holder), racy readers.
        let w = self.poll_start_and_wait.load(Relaxed);
        self.poll_start_and_wait.store((w & !KIND_MASK) | (u64::from(kind as u8) << KIND_SHIFT), Relaxed);
        let c = self.created_and_site.load(Relaxed);
        let with_site = (c & STAMP_MASK) | (u64::from(site) << SITE_SHIFT);
        if c != with_site {
            self.created_and_site.store(with_site, Relaxed);
        }
    }

    /// The owner of the task's `Notified` is about to queue it: on a
    /// sampled notification, stamp the task runnable (see the struct doc
    /// for why this writer never meets another).
    #[inline]
    pub(crate) fn mark_runnable(&self) {
        if let Some(ns) = super::wait::runnable_stamp_ns() {
            self.mark_runnable_at(ns);
        }
    }

    /// As `mark_runnable`, for a notification the caller samples itself,
    /// stamped at `now_ns` (a `clock` reading it already has).
    pub(crate) fn mark_runnable_at(&self, now_ns: u64) {
        // Relaxed: single writer now (the Notified's owner); the queue push
        // that follows publishes it to the popper.
        let w = self.poll_start_and_wait.load(Relaxed);
        self.poll_start_and_wait.store((w & KIND_MASK) | RUNNABLE | stamp_of(now_ns), Relaxed);
    }

    /// The wait fields as they are now (dumps read them racily, one word
    /// after the other; the popper of a `Notified` reads the runnable
    /// stamp).
    #[inline]
    pub(crate) fn wait(&self) -> WaitWord {
        // Relaxed: statistics; a reader that owns the Notified saw the
        // stamp through the queue's pop (Acquire).
        let w = self.poll_start_and_wait.load(Relaxed);
        let mut word = (w & KIND_MASK) | (w & RUNNABLE);
        if w & RUNNABLE != 0 {
            word |= w & STAMP_MASK & WAIT_STAMP_MASK;
        }
        word |= (self.created_and_site.load(Relaxed) >> SITE_SHIFT) << WAIT_SITE_SHIFT;
        WaitWord(word)
    }

    /// The runnable stamp alone (the popper's read before each poll: one
    /// load).
    #[inline]
    pub(crate) fn runnable_since(&self) -> Option<u64> {
        // Relaxed: as in `wait`.
        let w = self.poll_start_and_wait.load(Relaxed);
        (w & RUNNABLE != 0).then_some(w & WAIT_STAMP_MASK)
    }

    /// The poll that started at `start` ended at `end`.
    pub(crate) fn poll_ended(&self, start: u64, end: u64) {
        let us = end.saturating_sub(start).div_ceil(1_000).clamp(1, LAST_US_MASK);
        // Relaxed: as above.
        let w = self.polls_and_last_us.load(Relaxed);
        self.polls_and_last_us.store((w & !LAST_US_MASK) | us, Relaxed);
    }

    /// Polls started.
    pub(crate) fn polls(&self) -> u64 {
        // Relaxed: a statistic read racily by dumps.
        self.polls_and_last_us.load(Relaxed) >> POLLS_SHIFT
    }

    /// Length of the last timed poll in ns (0 before one), to microsecond
    /// precision.
    pub(crate) fn last_poll_ns(&self) -> u64 {
        // Relaxed: as above.
        (self.polls_and_last_us.load(Relaxed) & LAST_US_MASK) * 1_000
    }
}

// SAFETY: the header's interior mutability is the atomic state and the links,
// which are only touched under the owned-list shard lock.
unsafe impl Send for Header {}
// SAFETY: as above; shared access goes through atomics or the shard lock.
unsafe impl Sync for Header {}

/// What the task's future becomes over its life. Owned by whoever holds
/// RUNNING, then (after COMPLETE) by the `JoinHandle`.
pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
    /// The `JoinHandle` read the output and took the task out of the owned
    /// list, keeping the list's reference; it drops both references in one
    /// RMW when it is dropped (`Harness::drop_join_handle`).
    Released,
}

/// The typed middle of the cell.
pub(crate) struct Core<F: Future, S> {
    pub(crate) scheduler: S,
    pub(crate) stage: UnsafeCell<Stage<F>>,
}

/// The join waker; see JOIN_WAKER in `state.rs` for who may touch it when.
pub(crate) struct Trailer {
    pub(crate) waker: UnsafeCell<Option<Waker>>,
}

/// The one heap allocation of a task.
#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) header: Header,
    pub(crate) core: Core<F, S>,
    pub(crate) trailer: Trailer,
}

impl<F, S> Cell<F, S>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    fn allocate(future: F, scheduler: S, id: Id, meta: Meta) -> NonNull<Header> {
        // Built in place: a `Box::new(Cell { .. })` assembles the cell on the
        // stack and copies it (a `memmove` call once the cell passes ~128
        // bytes, paid on every spawn); writing each part through
        // the uninitialised box's pointer moves only the future.
        let layout = std::alloc::Layout::new::<Cell<F, S>>();
        // A recycled cell when the scheduler has a depot and the size is
        // past glibc's fast bins (`cell_cache`); `harness::dealloc` gives it
        // back the same way.
        let p = super::cell_cache::alloc(scheduler.cell_depot(), layout).cast::<Cell<F, S>>();
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: `p` points to an allocation sized and aligned for a
        // `Cell<F, S>`; each write below initialises one field exactly once
        // through `addr_of_mut!` (no reference to uninitialised memory is
        // formed), and together they initialise every field.
        unsafe {
            std::ptr::addr_of_mut!((*p).header).write(Header {
                state: State::new(),
                vtable: harness::vtable::<F, S>(),
                links: UnsafeCell::new(Links::default()),
                ident: Ident::new(id, meta.priority),
                meta: TaskMeta::new(meta.spawned_at, meta.name),
                stats: TaskStats::new(crate::rt::clock::coarse_now_ns()),
            });
            std::ptr::addr_of_mut!((*p).core.scheduler).write(scheduler);
            std::ptr::addr_of_mut!((*p).core.stage).write(UnsafeCell::new(Stage::Running(future)));
            std::ptr::addr_of_mut!((*p).trailer).write(Trailer { waker: UnsafeCell::new(None) });
        }
        // `Cell` is repr(C) with the header first: the cell pointer is the
        // header pointer. The cell is freed by harness `dealloc`, through
        // `cell_cache::free` with the same scheduler's depot choice.
        // SAFETY: `p` is non-null (checked above).
        unsafe { NonNull::new_unchecked(p) }.cast::<Header>()
    }
}

/// An untyped pointer to a task. Owns nothing by itself; the handles built
/// on it (`Task`, `Notified`, `JoinHandle`, wakers) each own one reference.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    pub(crate) fn new<F, S>(future: F, scheduler: S, id: Id, meta: Meta) -> RawTask
    where
        F: Future + 'static,
        F::Output: 'static,
        S: Schedule,
    {
        RawTask { ptr: Cell::allocate(future, scheduler, id, meta) }
    }

    pub(crate) fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn header_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a RawTask is only built over a live allocation, and every
        // holder of one also holds a reference that keeps it alive.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn state(&self) -> &State {
        &self.header().state
    }

    /// Polls the task (or cancels it, if it was aborted).
    ///
    /// # Safety
    /// The caller gives up one `Notified` reference.
    pub(crate) unsafe fn poll(self) {
        // SAFETY: forwarded caller obligation; the vtable matches the cell.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// # Safety
    /// The caller gives up one reference, which becomes the `Notified`.
    pub(crate) unsafe fn schedule(self) {
        // SAFETY: forwarded caller obligation.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    /// # Safety
    /// The reference count is zero; nobody touches the task again.
    pub(crate) unsafe fn dealloc(self) {
        // SAFETY: forwarded caller obligation.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }

    /// # Safety
    /// `dst` points to a `Poll<Result<T, JoinError>>` where `T` is the
    /// task's output type; the caller is the task's `JoinHandle`.
    pub(crate) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: forwarded caller obligations.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    /// # Safety
    /// Called once, by the `JoinHandle`, giving up its reference.
    pub(crate) unsafe fn drop_join_handle(self) {
        // A handle dropped before completion needs nothing typed (no
        // output, no waker to take back): one CAS, no call through the
        // vtable.
        if self.header().state.drop_join_handle_fast() {
            return;
        }
        // SAFETY: forwarded caller obligation.
        unsafe { (self.header().vtable.drop_join_handle)(self.ptr) }
    }

    /// # Safety
    /// The caller gives up the owned-list reference.
    pub(crate) unsafe fn shutdown(self) {
        // SAFETY: forwarded caller obligation.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    /// Drops one reference, freeing the task if it was the last.
    pub(crate) fn drop_reference(self) {
        if self.state().ref_dec() {
            // SAFETY: the count reached zero, so no other handle exists.
            unsafe { self.dealloc() }
        }
    }
}

// SAFETY: a RawTask is a pointer to a Send + Sync header; the typed parts are
// only reached through the vtable under the state protocol. The future may
// be !Send only for local tasks (`new_local_task`), whose scheduler polls and
// drops it on its owner thread alone; every other thread only moves
// references and (Send) outputs.
unsafe impl Send for RawTask {}
// SAFETY: as above.
unsafe impl Sync for RawTask {}
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn cell_size<F: Future + Send + 'static>(_: &F) -> usize
    where
        F::Output: Send + 'static,
    {
        std::mem::size_of::<Cell<F, crate::rt::scheduler::Handle>>()
    }

    /// A small task (a future holding one `Arc`) must stay within glibc's
    /// fast bins (120 requested bytes) and so also within the cell cache's
    /// 128-byte class (docs/design/task.md, "Cell size").
    #[test]
    fn a_small_task_cell_fits_a_malloc_fast_bin() {
        let arc = std::sync::Arc::new(1u32);
        let fut = async move {
            let _keep = &arc;
        };
        assert!(cell_size(&fut) <= 120, "cell of a small task is {} bytes", cell_size(&fut));
        assert_eq!(std::mem::size_of::<Header>(), 72, "the header is nine words");
    }

    #[test]
    fn stamps_keep_1024_ns_units_and_never_polled_reads_none() {
        let stats = TaskStats::new(5_000_000);
        let unit = 1 << STAMP_SHIFT;
        assert_eq!(stats.created_ns(), 5_000_000 / unit * unit);
        assert_eq!(stats.last_poll_start_ns(), None, "never polled");
        stats.poll_started(7_654_321);
        assert_eq!(stats.last_poll_start_ns(), Some(7_654_321 / unit * unit));
        stats.set_wait(super::super::wait::WaitKind::Sleep, 3);
        assert_eq!(stats.created_ns(), 5_000_000 / unit * unit, "the site leaves the spawn stamp alone");
        assert_eq!(
            stats.last_poll_start_ns(),
            Some(7_654_321 / unit * unit),
            "the kind leaves the poll start"
        );
    }

    #[test]
    fn the_wait_word_keeps_the_site_across_a_poll_start() {
        let stats = TaskStats::new(1);
        stats.set_wait(super::super::wait::WaitKind::MpscRecv, 7);
        assert_eq!(
            (stats.wait().kind(), stats.wait().site()),
            (super::super::wait::WaitKind::MpscRecv as u8, 7)
        );
        stats.poll_started(5);
        let w = stats.wait();
        assert_eq!(
            (w.kind(), w.site(), w.runnable_since()),
            (super::super::wait::WaitKind::External as u8, 7, None)
        );
        // Stamped on every notification until one is (1 in N per thread).
        while stats.wait().runnable_since().is_none() {
            stats.mark_runnable();
        }
        assert_eq!(stats.wait().site(), 7, "stamping keeps the site");
        stats.poll_started(6);
        assert_eq!(stats.wait().runnable_since(), None, "a poll start spends the stamp");
    }
}
