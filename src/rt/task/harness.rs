//! The typed operations behind the vtable: poll, cancel, complete, read the
//! output, drop the join handle, shutdown, deallocate.
//!
//! Every function here takes a `NonNull<Header>` that points to a
//! `Cell<F, S>`; the vtable built by [`vtable`] is only ever stored in cells
//! of that exact type, which is what makes the casts sound.
//!
//! The functions do not require `F: Send`: whether the future may move
//! between threads is the constructor's business (`new_task_with` asks for
//! `Send`; `new_local_task` is `unsafe` and pins the future to its
//! scheduler's thread). Only the holder of RUNNING (a poll, a cancel, a
//! shutdown: all on that thread for a local task) touches the future; other
//! threads touch the state word, the join waker and the output.

use super::raw::{Cell, Core, Header, RawTask, Stage, Trailer, Vtable};
use super::state::{TransitionToIdle, TransitionToRunning};
use super::{waker, Completed, JoinError, Notified, Schedule, Task};
use std::any::Any;
use std::future::Future;
use std::mem;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

pub(super) fn vtable<F, S>() -> &'static Vtable
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    &Vtable {
        poll: poll::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle: drop_join_handle::<F, S>,
        shutdown: shutdown::<F, S>,
    }
}

/// Typed view of one task.
struct Harness<F: Future, S> {
    cell: NonNull<Cell<F, S>>,
}

/// Frees a dead task's memory when dropped, then drops the scheduler
/// handle that was moved out of it (`Harness::dealloc`).
struct FreeCell<S: Schedule> {
    cell: NonNull<u8>,
    layout: std::alloc::Layout,
    scheduler: mem::ManuallyDrop<S>,
}

impl<S: Schedule> Drop for FreeCell<S> {
    fn drop(&mut self) {
        // SAFETY: `cell` was allocated by `Cell::allocate` through
        // `cell_cache::alloc` with this scheduler's depot choice and
        // `layout`, and every field has been dropped or moved out (the
        // guards are declared so that this one runs last).
        unsafe { super::cell_cache::free(self.scheduler.cell_depot(), self.cell, self.layout) };
        // SAFETY: moved out of the cell with `ptr::read`, dropped once here.
        unsafe { mem::ManuallyDrop::drop(&mut self.scheduler) };
    }
}

/// Drops a dead task's trailer (its join waker) when dropped.
struct DropTrailer(*mut Trailer);

impl Drop for DropTrailer {
    fn drop(&mut self) {
        // SAFETY: points into a dead cell whose trailer is initialised and
        // dropped only here (`Harness::dealloc`).
        unsafe { std::ptr::drop_in_place(self.0) };
    }
}

impl<F, S> Harness<F, S>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    /// # Safety
    /// `ptr` points to a live `Cell<F, S>`.
    unsafe fn from_raw(ptr: NonNull<Header>) -> Self {
        Harness { cell: ptr.cast() }
    }

    fn header(&self) -> &Header {
        // SAFETY: the cell is live while any reference exists, and the caller
        // of every vtable entry holds one.
        unsafe { &self.cell.as_ref().header }
    }

    fn core(&self) -> &Core<F, S> {
        // SAFETY: as in `header`.
        unsafe { &self.cell.as_ref().core }
    }

    fn trailer(&self) -> &Trailer {
        // SAFETY: as in `header`.
        unsafe { &self.cell.as_ref().trailer }
    }

    fn raw(&self) -> RawTask {
        RawTask::from_raw(self.cell.cast())
    }

    // ----- polling --------------------------------------------------------

    fn poll(self) {
        match self.header().state.transition_to_running() {
            TransitionToRunning::Success => {
                // Statistics for dumps (src/rt/clock.rs): inside a worker's
                // poll, its cached clock, and an end reading only for a
                // timed poll, left as the new cached clock for what runs
                // next on this thread; elsewhere (the blocking pool, tests)
                // both readings.
                let stats = &self.header().stats;
                let (cached, timed) = crate::rt::clock::poll_clock_and_timed();
                let (start, timed) = match cached {
                    0 => (crate::rt::clock::now_ns(), true),
                    cached => (cached, timed),
                };
                stats.poll_started(start);
                let outer = waker::enter_poll(self.raw());
                let done = self.poll_future();
                let yielded = waker::leave_poll(self.raw(), outer);
                let end = timed.then(crate::rt::clock::now_ns);
                if let Some(end) = end {
                    stats.poll_ended(start, end);
                    if cached != 0 {
                        crate::rt::clock::refresh(end);
                    }
                }
                if done {
                    self.complete();
                    return;
                }
                let idle = if yielded {
                    self.header().state.transition_to_idle_yielded()
                } else {
                    self.header().state.transition_to_idle()
                };
                match idle {
                    TransitionToIdle::Ok => {}
                    TransitionToIdle::OkNotified => {
                        // Woken during its own poll: to the back of the queue
                        // (yield_now relies on this), never to runnext.
                        // A timed poll's end reading is the runnable stamp:
                        // the same one-in-32 sampling as a wake's, with no
                        // thread-local countdown and no clock read on the
                        // path every yield takes.
                        if let Some(end) = end {
                            stats.mark_runnable_at(end);
                        }
                        self.core().scheduler.yield_now(Notified(Task::from_raw(self.raw())));
                    }
                    TransitionToIdle::OkDealloc => self.dealloc(),
                    TransitionToIdle::Cancelled => {
                        self.cancel_future();
                        self.complete();
                    }
                }
            }
            TransitionToRunning::Cancelled => {
                self.cancel_future();
                self.complete();
            }
            TransitionToRunning::Failed => {}
            TransitionToRunning::Dealloc => self.dealloc(),
        }
    }

    /// Polls the future once, with RUNNING held. Returns true if the stage
    /// now holds a result (the future finished or panicked).
    fn poll_future(&self) -> bool {
        let waker = waker::waker_ref(self.raw());
        let mut cx = Context::from_waker(&waker);
        let stage = &self.core().stage;
        let res = catch_unwind(AssertUnwindSafe(|| {
            stage.with_mut(|ptr| {
                // SAFETY: we hold RUNNING, which gives exclusive access to the
                // stage.
                match unsafe { &mut *ptr } {
                    // SAFETY: the future is never moved out of the cell while
                    // Running (it is dropped in place), so pinning it is sound.
                    Stage::Running(fut) => unsafe { Pin::new_unchecked(fut) }.poll(&mut cx),
                    _ => unreachable!("polled a task whose future is gone"),
                }
            })
        }));
        let output = match res {
            Ok(Poll::Pending) => return false,
            Ok(Poll::Ready(out)) => Ok(out),
            Err(payload) => Err(JoinError::panic(self.header().id(), payload)),
        };
        // Drop the future first (its destructor may panic), then store.
        let output = match self.drop_future_catching() {
            Ok(()) => output,
            Err(payload) => output.and(Err(JoinError::panic(self.header().id(), payload))),
        };
        self.store_output(output);
        true
    }

    /// Stores the result over the `Consumed` stage that dropping the
    /// future left (also when its destructor panicked: an assignment
    /// writes the new value on the unwind path too). `Consumed` has no
    /// destructor, so the store skips the drop glue of the whole stage.
    /// Caller holds RUNNING.
    fn store_output(&self, output: Result<F::Output, JoinError>) {
        // SAFETY: RUNNING gives exclusive access to the stage; it holds
        // `Consumed` (above), which owns nothing, so overwriting it without
        // a drop leaks nothing.
        self.core().stage.with_mut(|ptr| unsafe {
            debug_assert!(matches!(*ptr, Stage::Consumed));
            ptr.write(Stage::Finished(output));
        });
    }

    /// Drops an output nobody will read, leaving `Consumed`. An `Ok`
    /// output of a type without drop glue (the common `()`) needs no call
    /// into the stage's drop glue: the stage is overwritten. A panicking
    /// destructor is contained. Caller holds COMPLETE with the handle gone
    /// (or is the handle).
    #[inline]
    fn drop_output(&self) {
        let trivial = self.core().stage.with(|ptr| {
            // SAFETY: the caller has exclusive access to the stage (above).
            !mem::needs_drop::<F::Output>() && matches!(unsafe { &*ptr }, Stage::Finished(Ok(_)))
        });
        if trivial {
            // SAFETY: as above; the `Ok` output has no destructor to run.
            self.core().stage.with_mut(|ptr| unsafe { ptr.write(Stage::Consumed) });
        } else {
            self.drop_output_catching();
        }
    }

    /// `drop_output`'s general case: the stage's drop glue, contained.
    #[inline(never)]
    fn drop_output_catching(&self) {
        let _ = catch_unwind(AssertUnwindSafe(|| self.set_stage(Stage::Consumed)));
    }

    /// Replaces the stage, dropping the old value. Caller holds RUNNING, or
    /// COMPLETE with the handle gone.
    fn set_stage(&self, stage: Stage<F>) {
        // SAFETY: the caller has exclusive access to the stage (see above).
        self.core().stage.with_mut(|ptr| unsafe { *ptr = stage });
    }

    fn drop_future_catching(&self) -> Result<(), Box<dyn Any + Send>> {
        catch_unwind(AssertUnwindSafe(|| self.set_stage(Stage::Consumed)))
    }

    /// Drops the future on the current thread and stores the cancellation
    /// error. Caller holds RUNNING.
    fn cancel_future(&self) {
        let id = self.header().id();
        let err = match self.drop_future_catching() {
            Ok(()) => JoinError::cancelled(id),
            Err(payload) => JoinError::panic(id, payload),
        };
        self.set_stage(Stage::Finished(Err(err)));
    }

    /// The stage holds the result: publish it, notify the `JoinHandle`, and
    /// drop the running reference. The task leaves the owned list now (with
    /// the list's reference) if nobody will join it; otherwise it stays
    /// listed, untouched, until the handle releases it (docs/design/task.md,
    /// "List membership").
    fn complete(self) {
        // The completion count (`num_alive_tasks`): with a handle, before
        // COMPLETE is published, so a joiner that sees COMPLETE sees the
        // task gone from the count; without one, after the unreadable
        // output is dropped, so a count that no longer includes the task
        // means its output is gone. JOIN_INTEREST is only ever cleared, so
        // a clear bit here stays clear; a handle dropped between this load
        // and the transition makes the count come before the output's drop
        // (docs/design/task.md, "List membership").
        let counted_early = self.header().state.load().is_join_interested();
        if counted_early {
            self.core().scheduler.task_completing();
        }
        let snapshot = self.header().state.transition_to_complete();
        // Order: drop an unreadable output, leave the owned list (or stay
        // in it for the handle), then wake the JoinHandle. Neither the
        // output's destructor nor the join waker may unwind into the worker.
        let listed = if snapshot.is_join_interested() {
            // The handle existed at COMPLETE, so it will call `release`
            // once it sees COMPLETE (possibly before we get here).
            self.core().scheduler.complete_joinable(self.raw())
        } else {
            // The handle is gone: nobody will read the output.
            self.drop_output();
            if !counted_early {
                self.core().scheduler.task_completing();
            }
            match self.core().scheduler.release(self.raw()) {
                Some(task) => Completed::Released(task),
                None => Completed::NotListed,
            }
        };
        let _ = catch_unwind(AssertUnwindSafe(|| {
            if snapshot.is_join_interested() && snapshot.is_join_waker_set() {
                // SAFETY: JOIN_WAKER is set and COMPLETE now is too, so the
                // handle will never write the waker again; reads are shared.
                self.trailer().waker.with(|ptr| match unsafe { &*ptr } {
                    Some(w) => w.wake_by_ref(),
                    None => unreachable!("JOIN_WAKER set without a waker"),
                });
            }
        }));
        let count = match listed {
            Completed::Released(task) => {
                // The list's reference is dropped together with ours below.
                mem::forget(task);
                2
            }
            Completed::Kept | Completed::NotListed => 1,
        };
        if self.header().state.transition_to_terminal(count) {
            self.dealloc();
        }
    }

    /// The join side is done with a completed task (output read, or handle
    /// dropped after COMPLETE): take the task out of the owned list if it is
    /// still there. Returns true if it was: the list's reference is then
    /// the caller's (the `JoinHandle`'s), which drops it together with its
    /// own in `drop_join_handle` (so it is never dropped here, and the
    /// cell outlives the handle's remaining use of it).
    fn take_list_reference(&self) -> bool {
        match self.core().scheduler.release(self.raw()) {
            Some(task) => {
                mem::forget(task);
                true
            }
            None => false,
        }
    }

    fn dealloc(self) {
        let cell = self.cell.as_ptr();
        // SAFETY: the reference count is zero: this is the only pointer, and
        // `Cell::allocate` initialised every field. Each field is dropped
        // exactly once: the scheduler is moved out into the guard (which
        // drops it after freeing the memory, since its depot is where the
        // memory goes), the header and stage here, the trailer by its guard
        // (also if the stage's drop panics). The guards run on unwind too,
        // so a panicking drop loses no memory.
        unsafe {
            let _free = FreeCell::<S> {
                cell: self.cell.cast::<u8>(),
                layout: std::alloc::Layout::new::<Cell<F, S>>(),
                scheduler: mem::ManuallyDrop::new(std::ptr::read(std::ptr::addr_of!((*cell).core.scheduler))),
            };
            let _trailer = DropTrailer(std::ptr::addr_of_mut!((*cell).trailer));
            std::ptr::drop_in_place(std::ptr::addr_of_mut!((*cell).header));
            // Almost every task dies `Consumed` or `Released`, which own
            // nothing: testing for them here saves a call into the drop
            // glue of the whole stage (the future's every state).
            let stage = std::ptr::addr_of_mut!((*cell).core.stage);
            if !(*stage).with(|p| matches!(*p, Stage::Consumed | Stage::Released)) {
                std::ptr::drop_in_place(stage);
            }
        }
    }

    // ----- join handle ----------------------------------------------------

    /// True once the output can be taken; otherwise the join waker is
    /// registered and the handle must return Pending.
    fn can_read_output(&self, waker: &Waker) -> bool {
        let state = &self.header().state;
        let snapshot = state.load();
        if snapshot.is_complete() {
            return true;
        }
        let slot = &self.trailer().waker;
        if snapshot.is_join_waker_set() {
            // SAFETY: the task side only reads the waker; a shared read is fine.
            let same = slot.with(|ptr| unsafe { &*ptr }.as_ref().is_some_and(|w| w.will_wake(waker)));
            if same {
                return false;
            }
            if state.unset_join_waker().is_err() {
                return true;
            }
        }
        // SAFETY: JOIN_WAKER is clear, so the handle (us) owns the slot.
        slot.with_mut(|ptr| unsafe { *ptr = Some(waker.clone()) });
        state.set_join_waker().is_err()
    }

    fn try_read_output(&self, dst: &mut Poll<Result<F::Output, JoinError>>, waker: &Waker) {
        if !self.can_read_output(waker) {
            return;
        }
        // SAFETY: COMPLETE is set and we are the JoinHandle, which owns the
        // stage from then on (Acquire in `state.load` saw the stage writes).
        let finished = self.core().stage.with(|ptr| matches!(unsafe { &*ptr }, Stage::Finished(_)));
        // The check comes before any write: a second poll must leave
        // `Released` in place, since it is what tells `drop_join_handle`
        // that the handle holds the owned list's reference too.
        assert!(finished, "JoinHandle polled after it returned Ready");
        // SAFETY: as above.
        let stage = self.core().stage.with_mut(|ptr| unsafe { mem::replace(&mut *ptr, Stage::Consumed) });
        if let Stage::Finished(out) = stage {
            *dst = Poll::Ready(out);
        }
        // Joined: the task need not stay listed any longer. The list's
        // reference becomes the handle's, dropped with its own in one RMW
        // (`drop_join_handle`): the joining thread saves an atomic RMW per
        // task.
        if self.take_list_reference() {
            // SAFETY: as above; `Consumed` has no destructor to run.
            self.core().stage.with_mut(|ptr| unsafe { *ptr = Stage::Released });
        }
    }

    fn drop_join_handle(self) {
        let mut holds_list_reference = false;
        if self.header().state.unset_join_interested().is_ok() {
            // Not complete: clearing JOIN_WAKER with JOIN_INTEREST gave the
            // waker slot back to the handle, and the completer, which now
            // sees neither bit, never reads it. Drop the waker now rather
            // than with the cell: it may keep another task (the one that
            // awaited this handle and gave up) and its runtime alive for as
            // long as this task lives, or for ever if that task holds this
            // one in turn.
            // SAFETY: the handle owns the slot (above); no other thread
            // reads or writes it from here on.
            let waker = self.trailer().waker.with_mut(|ptr| unsafe { (*ptr).take() });
            // A waker's drop is foreign code; it must not unwind out of a
            // handle's drop with the task's reference still held.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(waker)));
        } else {
            // Complete: the output is ours to drop.
            // SAFETY: COMPLETE is set and we are the JoinHandle, which owns
            // the stage from then on.
            let read = self.core().stage.with(|ptr| match unsafe { &*ptr } {
                Stage::Released => Some(true),
                Stage::Consumed => Some(false),
                _ => None,
            });
            // A read output means `try_read_output` already released the
            // task (the completer never consumes an output it was told to
            // keep: JOIN_INTEREST was set at COMPLETE), keeping the list's
            // reference (`Released`) if it was still listed. Otherwise drop
            // the output (a panicking destructor is contained) and release.
            holds_list_reference = read.unwrap_or_else(|| {
                self.drop_output();
                self.take_list_reference()
            });
        }
        let refs = if holds_list_reference { 2 } else { 1 };
        if self.header().state.transition_to_terminal(refs) {
            self.dealloc();
        }
    }

    // ----- shutdown -------------------------------------------------------

    fn shutdown(self) {
        if !self.header().state.transition_to_shutdown() {
            // Running elsewhere (that worker sees CANCELLED) or complete.
            self.raw().drop_reference();
            return;
        }
        self.cancel_future();
        self.complete();
    }
}

unsafe fn poll<F, S>(ptr: NonNull<Header>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the vtable is only stored in `Cell<F, S>` (see module doc).
    unsafe { Harness::<F, S>::from_raw(ptr) }.poll()
}

unsafe fn schedule<F, S>(ptr: NonNull<Header>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: as in `poll`; the caller hands over one reference.
    let harness = unsafe { Harness::<F, S>::from_raw(ptr) };
    // We own the new `Notified` and have not queued it yet: the one writer
    // of the runnable stamp (`raw::TaskStats`).
    harness.header().stats.mark_runnable();
    harness.core().scheduler.schedule(Notified(Task::from_raw(harness.raw())));
}

unsafe fn dealloc<F, S>(ptr: NonNull<Header>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: as in `poll`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.dealloc();
}

unsafe fn try_read_output<F, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: as in `poll`; the caller guarantees `dst` has the output's type.
    let dst = unsafe { &mut *(dst as *mut Poll<Result<F::Output, JoinError>>) };
    // SAFETY: as in `poll`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.try_read_output(dst, waker);
}

unsafe fn drop_join_handle<F, S>(ptr: NonNull<Header>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: as in `poll`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.drop_join_handle();
}

unsafe fn shutdown<F, S>(ptr: NonNull<Header>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: as in `poll`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.shutdown();
}
