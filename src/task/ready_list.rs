//! The "notified" list of a `JoinSet`: the entries whose task woke them,
//! pushed by the entries' own wakers, so that `join_next` polls only those
//! (O(1) per completion, however many tasks the set holds).
//!
//! # Pieces
//! - One [`ReadyList`] per `JoinSet`: a lock-free stack of [`Entry`]s
//!   (any thread pushes one entry, only the set's owner takes the whole
//!   stack at once) and the waker of the `join_next` call waiting on it.
//! - One [`Entry`] per task in the set, shared by the set (which owns it)
//!   and the waker it registered with the task (built by [`entry_waker`]).
//!
//! # Invariants
//! - `Entry::queued` is true while the entry is on the stack or in the
//!   owner's local queue, or being pushed. Only the wake that flips it
//!   false → true pushes, so an entry is on the stack at most once, and
//!   that pusher alone writes `Entry::next` until the owner takes it.
//! - The owner clears `queued` with an RMW (Acquire) *before* it polls the
//!   entry's `JoinHandle`: a completion either sees the cleared flag and
//!   pushes again, or its wake comes first in the flag's modification order,
//!   in which case the owner's RMW acquires it and the poll sees the
//!   completed task.
//! - A push that turns the stack from empty to non-empty takes and wakes
//!   the registered waker (after its CAS, under the waker's lock); a push
//!   onto a non-empty stack need not, because the push that made it
//!   non-empty will, or the owner has not yet taken the stack. The owner
//!   registers its waker (under that lock) *before* its last look at the
//!   stack, so the lock order decides: the pusher locks first (and the
//!   owner's look sees its CAS) or the owner does (and the pusher sees its
//!   waker).
//! - Closing swaps in [`CLOSED`]; pushes after that drop their entry
//!   reference instead (so a task completing after its `JoinSet` is gone
//!   cannot make an entry ↔ list reference cycle).
//!
//! The argument in full is in docs/design/joinset.md; the loom models are
//! in loom-tests/joinset.rs.

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{
    AtomicBool, AtomicPtr, Ordering::AcqRel, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};
use crate::loom::sync::{Arc, Mutex};
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};
use std::task::{RawWaker, RawWakerVTable, Waker};

/// The stack's "no more pushes" mark: never a real entry address (no
/// allocation lives at its type's alignment, the first page is unmapped).
fn closed() -> *mut Entry {
    NonNull::<Entry>::dangling().as_ptr()
}

/// The shared half of a `JoinSet`.
pub(crate) struct ReadyList {
    /// Top of the stack of woken entries: null (empty), an entry pointer
    /// (owning one `Arc<Entry>` reference per entry on the stack, linked
    /// through `Entry::next`), or `closed()`.
    head: AtomicPtr<Entry>,
    /// The waker of the pending `join_next`, taken by the push that makes
    /// the stack non-empty.
    waker: Mutex<Option<Waker>>,
}

/// One task of the set, as its waker sees it.
pub(crate) struct Entry {
    list: Arc<ReadyList>,
    /// The set's slot for this entry (the owner checks it still holds this
    /// very entry: slots are reused).
    pub(crate) key: usize,
    /// On the stack, in the owner's queue, or being pushed (module doc).
    queued: AtomicBool,
    /// The entry below this one on the stack. Written only by the pusher
    /// that set `queued`, before its publishing CAS; read only by the owner
    /// after it took the stack (Acquire).
    next: UnsafeCell<*mut Entry>,
}

// SAFETY: `next` is the only non-Sync field; it is written by the one
// pusher that won `queued` and read by the owner only after that pusher's
// Release CAS, which the owner's Acquire swap synchronises with (module doc).
unsafe impl Send for Entry {}
// SAFETY: as above.
unsafe impl Sync for Entry {}

impl ReadyList {
    pub(crate) fn new() -> Arc<ReadyList> {
        Arc::new(ReadyList { head: AtomicPtr::new(ptr::null_mut()), waker: Mutex::new(None) })
    }

    /// A new entry for slot `key`, already marked queued: the owner puts
    /// it in its local queue, so that the first `join_next` polls the
    /// handle and registers the entry's waker with the task.
    pub(crate) fn new_entry(this: &Arc<ReadyList>, key: usize) -> Arc<Entry> {
        Arc::new(Entry {
            list: this.clone(),
            key,
            queued: AtomicBool::new(true),
            next: UnsafeCell::new(ptr::null_mut()),
        })
    }

    /// Owner: takes every pushed entry, appending them (oldest first) to
    /// `out`. Not called after `close`.
    pub(crate) fn take_all(&self, out: &mut Vec<Arc<Entry>>) {
        // Acquire: pairs with the pushers' Release CAS, like the swap below
        // (a non-null head is followed by that swap; a null one means no
        // entry to read). A push this load misses is found by the owner's
        // next look, which it makes after registering its waker (module doc).
        if self.head.load(Acquire).is_null() {
            return;
        }
        // Acquire: pairs with the pushers' Release CAS: their `next` writes,
        // and the task completions that happened before their wakes, are
        // visible to us and to the polls that follow.
        let mut top = self.head.swap(ptr::null_mut(), Acquire);
        debug_assert!(top != closed(), "take_all after close");
        let start = out.len();
        while !top.is_null() {
            // SAFETY: `top` came off the stack, which owns one reference to
            // each entry on it (`Arc::into_raw` in `wake`); we take it over.
            let entry = unsafe { Arc::from_raw(top as *const Entry) };
            // SAFETY: the pusher wrote `next` before its Release CAS, which
            // our Acquire swap synchronised with; nobody writes it again
            // until `unqueue` clears `queued`, which only we do, later.
            top = entry.next.with(|p| unsafe { *p });
            out.push(entry);
        }
        out[start..].reverse();
    }

    /// Owner: registers the waker of the pending `join_next` (before the
    /// last look at the stack; see the module doc).
    pub(crate) fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock();
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Owner (the set is dropped): refuse pushes from now on and drop the
    /// references of every entry still on the stack.
    pub(crate) fn close(&self) {
        // Acquire: as in `take_all` (we read the entries' `next`).
        let mut top = self.head.swap(closed(), Acquire);
        while !top.is_null() && top != closed() {
            // SAFETY: as in `take_all`.
            let entry = unsafe { Arc::from_raw(top as *const Entry) };
            // SAFETY: as in `take_all`.
            top = entry.next.with(|p| unsafe { *p });
        }
        // The waker may belong to a task that is being dropped; let it go.
        drop(self.waker.lock().take());
    }
}

impl Entry {
    /// Owner: about to poll this entry's `JoinHandle`; a wake from now on
    /// must push the entry again. Acquire (in the AcqRel RMW) pairs with the
    /// Release of the pusher's swap in `wake`: if that wake came first, we
    /// see the task's completion in the poll that follows.
    pub(crate) fn unqueue(&self) {
        let _was = self.queued.swap(false, AcqRel);
    }

    /// The entry's task woke it (any thread).
    fn wake(this: &Arc<Entry>) {
        // AcqRel: Release pairs with the owner's `unqueue` (see there);
        // Acquire orders our `next` write after the owner's reads of it
        // from the previous time this entry was on the stack.
        if this.queued.swap(true, AcqRel) {
            return; // already queued; its owner will poll it
        }
        let list = &this.list;
        let me = Arc::into_raw(this.clone()) as *mut Entry;
        // Relaxed: only compared with `closed()` and stored in `next`, never
        // dereferenced; the CAS below fails on any newer value.
        let mut head = list.head.load(Relaxed);
        loop {
            if head == closed() {
                // SAFETY: the reference we made with `into_raw` above and
                // did not publish.
                drop(unsafe { Arc::from_raw(me as *const Entry) });
                return;
            }
            // SAFETY: we won `queued`, so we are this entry's only writer of
            // `next`, and the owner reads it only after our CAS.
            this.next.with_mut(|p| unsafe { *p = head });
            // Release: publishes `next` and the task's completion (which
            // happened before this wake) to the owner's Acquire swap in
            // `take_all`. Relaxed on failure: we only retry with the value.
            match list.head.compare_exchange(head, me, Release, Relaxed) {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }
        if head.is_null() {
            // We made the stack non-empty: wake the owner. The lock orders
            // us against the owner's `register`: if it locks after us, our
            // CAS happened before its last look at the stack, which finds
            // us; if before, we take its waker (module doc).
            let waker = list.waker.lock().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

// ----- the entry's waker -------------------------------------------------------

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_waker, wake, wake_by_ref, drop_waker);

/// A waker that pushes `entry` onto its list. Owns one `Arc<Entry>`.
pub(crate) fn entry_waker(entry: &Arc<Entry>) -> Waker {
    let data = Arc::into_raw(entry.clone()) as *const ();
    // SAFETY: the vtable keeps RawWaker's contract: each waker owns one
    // strong count of the entry (`clone_waker` adds one, `wake` and
    // `drop_waker` give one back), and the functions are thread-safe
    // (`Entry` is Send + Sync).
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

unsafe fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: `data` came from `Arc::into_raw` of an `Arc<Entry>` that the
    // waker being cloned keeps alive.
    unsafe { Arc::increment_strong_count(data as *const Entry) };
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: the waker owns one strong count, which we take back here.
    let entry = unsafe { Arc::from_raw(data as *const Entry) };
    Entry::wake(&entry);
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker's strong count keeps the entry alive for this call;
    // ManuallyDrop leaves that count with the waker.
    let entry = ManuallyDrop::new(unsafe { Arc::from_raw(data as *const Entry) });
    Entry::wake(&entry);
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the waker owns one strong count, released here.
    drop(unsafe { Arc::from_raw(data as *const Entry) });
}
