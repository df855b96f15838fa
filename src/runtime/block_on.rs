//! Runs one future to completion on the calling thread, parking the thread
//! (no spinning) between polls.

use crate::loom::sync::Arc;
use crate::rt::scheduler::park::Parker;
use crate::rt::scheduler::Shared;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` came from `Arc::into_raw` of an `Arc<Parker>` that the
    // waker being cloned keeps alive.
    unsafe { Arc::increment_strong_count(data as *const Parker) };
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: the waker owns one strong count, which we take back here.
    let parker = unsafe { Arc::from_raw(data as *const Parker) };
    parker.unpark();
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker's strong count keeps the parker alive for this call.
    let parker = ManuallyDrop::new(unsafe { Arc::from_raw(data as *const Parker) });
    parker.unpark();
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the waker owns one strong count, released here.
    drop(unsafe { Arc::from_raw(data as *const Parker) });
}

fn parker_waker(parker: &Arc<Parker>) -> Waker {
    let data = Arc::into_raw(parker.clone()) as *const ();
    // SAFETY: the vtable keeps RawWaker's contract: every clone owns one
    // strong count of the Arc, released by wake or drop.
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

/// Polls `future` on this thread until it is ready. The thread is
/// registered with `shared`'s idleness check for the paused test clock
/// (`rt::scheduler::quiesce`): asleep in its parker it is idle, and each
/// time it falls asleep it tells a paused clock's owner to look again.
pub(crate) fn block_on<F: Future>(shared: &Shared, future: F) -> F::Output {
    let parker = Arc::new(Parker::new());
    let _registered = shared.quiescence().register_block_on(parker.clone());
    let waker = parker_waker(&parker);
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        // The same cooperative budget as a task poll: an always-ready
        // socket read in a loop yields here too (and wakes us at once).
        if let Poll::Ready(out) = crate::rt::coop::budget(|| future.as_mut().poll(&mut cx)) {
            return out;
        }
        parker.park_then(|| shared.kick_paused_clock());
    }
}
