//! The hand-written `RawWaker` vtable over a task pointer. A waker owns one
//! task reference; `clone` adds one, `drop` and `wake` give one up.

use super::raw::{Header, RawTask};
use super::state::{TransitionToNotifiedByRef, TransitionToNotifiedByVal};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

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
