//! The hand-written `RawWaker` vtable over a task pointer. A waker owns one
//! task reference; `clone` adds one, `drop` and `wake` give one up.

use super::raw::{Header, RawTask};
use super::state::{TransitionToNotifiedByRef, TransitionToNotifiedByVal};
use crate::rt::context;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

// The task this thread is polling lives in the thread's context
// (`rt::context`, field `polling`): its header address (0 = none), with
// bit 0 set once its future asked to run again after the tasks queued
// behind it (`yield_self`). The harness sets it around each poll and
// restores the previous value after, so a poll nested in another (a
// `LocalSet` or `block_on` inside a task) sees its own task.

/// Harness: the poll of `task` starts on this thread. Returns what to
/// hand back to `leave_poll`, which must run after the poll on every path
/// (the harness's `poll_future` catches panics, so it never unwinds past
/// the pair).
#[inline]
pub(crate) fn enter_poll(task: RawTask) -> usize {
    let addr = task.header_ptr().as_ptr() as usize;
    // No thread-local (thread exit): `yield_self` falls back to a wake.
    let outer = context::with(|c| c.polling.replace(addr)).unwrap_or(0);
    debug_assert_ne!(outer & !1, addr, "a task's poll nested in its own poll");
    outer
}

/// What the context's `polling` holds on this thread (tests: the polled task's address,
/// with bit 0 once it yielded; 0 outside any poll).
#[cfg(test)]
pub(crate) fn polling_mark() -> usize {
    context::with(|c| c.polling.get()).unwrap_or(0)
}

/// Harness: the poll of `task` ended; `prev` is what `enter_poll`
/// returned. True if the future asked to run again (`yield_self`).
#[inline]
pub(crate) fn leave_poll(task: RawTask, prev: usize) -> bool {
    let addr = task.header_ptr().as_ptr() as usize;
    context::with(|c| c.polling.replace(prev)).is_some_and(|seen| seen == addr | 1)
}

/// The id of the task this thread is polling now, if any: read from the
/// header whose address the harness left in the context's `polling`.
pub(crate) fn polled_task_id() -> Option<super::Id> {
    let addr = context::with(|c| c.polling.get()).unwrap_or(0) & !1;
    if addr == 0 {
        return None;
    }
    // SAFETY: a non-zero `polling` is the header of the task whose poll is
    // in progress on this thread (set by `enter_poll`, restored by
    // `leave_poll` before the poll's RUNNING ends); the poll holds a
    // reference, so the header is alive, and `id` is written only at
    // creation.
    let header = unsafe { &*(addr as *const Header) };
    Some(header.id())
}

/// The class of the task this thread is polling now, if any (as
/// `polled_task_id`).
pub(crate) fn polled_task_priority() -> Option<crate::rt::task::Priority> {
    let addr = context::with(|c| c.polling.get()).unwrap_or(0) & !1;
    if addr == 0 {
        return None;
    }
    // SAFETY: as in `polled_task_id`: the header is alive while its poll is
    // in progress on this thread, and its id word is written only at
    // creation.
    let header = unsafe { &*(addr as *const Header) };
    Some(header.priority())
}

/// Asks for the task that owns `waker` to run again after the tasks now
/// queued behind it: what `waker.wake_by_ref()` does during that task's own
/// poll (`yield_now`, a spent coop budget), without its atomic read-modify-
/// write when `waker` is the polled task's own (not a wrapper such as a
/// `FuturesUnordered` child's, and not another task's): the mark is left
/// in the context's `polling` and the harness makes the task NOTIFIED in the CAS that
/// ends RUNNING (`State::transition_to_idle_yielded`). Otherwise a plain
/// `wake_by_ref`, out of line so that a leaf future's poll inlining this
/// keeps no registers of its own across the call.
#[inline]
pub(crate) fn yield_self(waker: &Waker) {
    let data = waker.data() as usize;
    if std::ptr::eq(waker.vtable(), &VTABLE) {
        let marked = context::with(|c| {
            // `& !1`: a second yield in the same poll (every leaf future
            // of a `select!` once the budget is spent) finds the mark
            // already set and keeps it.
            let own = c.polling.get() & !1 == data;
            if own {
                c.polling.set(data | 1);
            }
            own
        })
        .unwrap_or(false);
        if marked {
            return;
        }
    }
    wake_by_ref_cold(waker);
}

/// `yield_self` for a waker that is not the polled task's own.
#[cold]
#[inline(never)]
fn wake_by_ref_cold(waker: &Waker) {
    waker.wake_by_ref();
}

fn raw_task(data: *const ()) -> RawTask {
    // SAFETY: every RawWaker built here carries a live task's header
    // pointer, which is non-null.
    RawTask::from_raw(unsafe { NonNull::new_unchecked(data as *mut Header) })
}

unsafe fn clone(data: *const ()) -> RawWaker {
    raw_task(data).state().ref_inc();
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    let task = raw_task(data);
    match task.state().transition_to_notified_by_val() {
        // SAFETY: our reference becomes the Notified one.
        TransitionToNotifiedByVal::Submit => unsafe { task.schedule() },
        // SAFETY: the count reached zero.
        TransitionToNotifiedByVal::Dealloc => unsafe { task.dealloc() },
        TransitionToNotifiedByVal::DoNothing => {}
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    let task = raw_task(data);
    match task.state().transition_to_notified_by_ref() {
        // SAFETY: the transition added the reference that becomes Notified.
        TransitionToNotifiedByRef::Submit => unsafe { task.schedule() },
        TransitionToNotifiedByRef::DoNothing => {}
    }
}

unsafe fn drop_waker(data: *const ()) {
    raw_task(data).drop_reference();
}

/// A waker that borrows the running task's reference instead of owning
/// one, so a poll costs no reference-count traffic unless the future clones
/// the waker.
pub(crate) struct WakerRef<'a> {
    waker: ManuallyDrop<Waker>,
    _task: PhantomData<&'a ()>,
}

impl Deref for WakerRef<'_> {
    type Target = Waker;
    fn deref(&self) -> &Waker {
        &self.waker
    }
}

pub(crate) fn waker_ref<'a>(task: RawTask) -> WakerRef<'a> {
    let raw = RawWaker::new(task.header_ptr().as_ptr() as *const (), &VTABLE);
    // SAFETY: the vtable upholds RawWaker's contract: clone adds a reference,
    // wake/drop give one up, and the data pointer stays valid while any
    // reference exists. ManuallyDrop: this waker owns no reference.
    let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
    WakerRef { waker, _task: PhantomData }
}
