//! The task's state word: lifecycle bits and a reference count in one
//! `AtomicUsize`, so every transition is a single atomic operation.
//!
//! The full transition table and the argument for it are in
//! `docs/design/task.md`. Each transition returns a `#[must_use]` enum that
//! tells the caller what it now owns and must do.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire, Ordering::Relaxed};
use std::fmt;

/// A worker is polling the future (or cancelling it). Only the holder of
/// this bit may touch the task's stage. Never set together with COMPLETE.
pub(crate) const RUNNING: usize = 0b00_0001;
/// The future has finished (output or error stored in the stage). Once set
/// it is never cleared; the stage then belongs to the `JoinHandle`.
pub(crate) const COMPLETE: usize = 0b00_0010;
/// The task has been woken and a `Notified` reference to it sits in (or is
/// on its way to) a run queue, or it was woken while RUNNING and the worker
/// will re-schedule it after the poll. Never set while a second `Notified`
/// exists: at most one queue entry per task.
pub(crate) const NOTIFIED: usize = 0b00_0100;
/// The `JoinHandle` still exists and wants the output. Cleared only by the
/// handle, and only before COMPLETE; after COMPLETE the handle drops the
/// output itself.
pub(crate) const JOIN_INTEREST: usize = 0b00_1000;
/// The trailer holds a join waker that the task must wake on completion.
/// While set, only the task side may read the waker; while clear, only the
/// `JoinHandle` may write it.
pub(crate) const JOIN_WAKER: usize = 0b01_0000;
/// Abort or shutdown asked for the task to be cancelled: the next holder of
/// RUNNING drops the future instead of polling it.
pub(crate) const CANCELLED: usize = 0b10_0000;

const FLAG_BITS: u32 = 6;

/// Some `AbortHandle` exists that the abort-handle count below does not
/// count (the count was full when it was made). Sticky: once set it is
/// never cleared, and the count is neither raised nor lowered again, so a
/// handle never lowers it without having raised it. A task with this bit
/// is never reported leaked.
pub(crate) const ABORT_UNCOUNTED: usize = 1 << FLAG_BITS;

/// Width of the abort-handle count: 16 bits where the word has 64, 4 where
/// it has 32 (leaving the reference count 21 bits there).
const ABORT_BITS: u32 = if usize::BITS >= 64 { 16 } else { 4 };
const ABORT_SHIFT: u32 = FLAG_BITS + 1;
/// One `AbortHandle` in the abort-handle count. Every `AbortHandle` also
/// owns one reference in the reference count; the two move together in
/// one atomic operation, so a single load of the word tells how many of
/// its references are abort handles.
const ABORT_ONE: usize = 1 << ABORT_SHIFT;
const ABORT_MASK: usize = ((1 << ABORT_BITS) - 1) << ABORT_SHIFT;

const REF_SHIFT: u32 = ABORT_SHIFT + ABORT_BITS;
/// One reference in the high bits.
pub(crate) const REF_ONE: usize = 1 << REF_SHIFT;
const REF_MASK: usize = !(REF_ONE - 1);

/// A new task: three references (the owned-tasks list, the `JoinHandle`, and
/// the `Notified` for its first schedule), NOTIFIED, JOIN_INTEREST.
const INITIAL: usize = (REF_ONE * 3) | JOIN_INTEREST | NOTIFIED;

/// A copy of the state word.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn is_idle(self) -> bool {
        self.0 & (RUNNING | COMPLETE) == 0
    }
    /// Every reference: the list's, the handle's, abort handles', wakers',
    /// the `Notified`'s or the running one.
    pub(crate) fn ref_count(self) -> usize {
        (self.0 & REF_MASK) >> REF_SHIFT
    }
    /// How many of the references are `AbortHandle`s; meaningless once
    /// ABORT_UNCOUNTED is set.
    pub(crate) fn abort_handles(self) -> usize {
        (self.0 & ABORT_MASK) >> ABORT_SHIFT
    }
    pub(crate) fn is_abort_uncounted(self) -> bool {
        self.0 & ABORT_UNCOUNTED != 0
    }

    /// For a task known to be in its owned list when the word was read:
    /// true if no `Waker`, `Notified` or poll holds it, so that nothing can
    /// ever poll its future again (only an abort or a shutdown can still
    /// cancel it). Idle, not notified, not cancelled, and every reference
    /// accounted for by the list (one), the `JoinHandle` (one while
    /// JOIN_INTEREST is set) and the counted abort handles. The argument
    /// is in docs/design/dump.md ("Leaks").
    pub(crate) fn is_leaked_if_listed(self) -> bool {
        const BUSY: usize = RUNNING | COMPLETE | NOTIFIED | CANCELLED | ABORT_UNCOUNTED;
        self.0 & BUSY == 0
            && self.ref_count() == 1 + usize::from(self.is_join_interested()) + self.abort_handles()
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("refs", &self.ref_count())
            .field("abort_handles", &self.abort_handles())
            .field("abort_uncounted", &self.is_abort_uncounted())
            .finish()
    }
}

/// Result of a worker's attempt to start polling a `Notified` task.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToRunning {
    /// RUNNING is ours; poll the future. The `Notified` reference is now the
    /// running reference.
    Success,
    /// RUNNING is ours but the task was cancelled: drop the future.
    Cancelled,
    /// The task is already complete or running elsewhere (it was cancelled
    /// by shutdown): drop the `Notified` reference, which may be the last.
    Failed,
    /// As `Failed`, and that reference was the last one: deallocate.
    Dealloc,
}

/// Result of a worker giving up RUNNING after a `Pending` poll.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToIdle {
    /// Idle; the running reference was dropped.
    Ok,
    /// Idle, but woken during the poll: re-schedule (the running reference
    /// becomes the `Notified` one).
    OkNotified,
    /// Idle, the running reference was the last: deallocate.
    OkDealloc,
    /// Cancelled during the poll: RUNNING is still ours, cancel the task.
    Cancelled,
}

/// Result of a wake that consumed a reference (`wake` by value).
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToNotifiedByVal {
    /// Nothing to schedule; the waker's reference was dropped.
    DoNothing,
    /// Schedule the task; the waker's reference becomes the `Notified`.
    Submit,
    /// The waker's reference was the last: deallocate.
    Dealloc,
}

/// Result of a wake that keeps its reference (`wake_by_ref`, `abort`).
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToNotifiedByRef {
    /// Nothing to schedule.
    DoNothing,
    /// A new reference was added for the `Notified`: schedule it.
    Submit,
}

/// The atomic state word of one task.
pub(crate) struct State {
    val: AtomicUsize,
}

impl State {
    pub(crate) fn new() -> State {
        State { val: AtomicUsize::new(INITIAL) }
    }

    /// Acquire: pairs with the AcqRel transitions that publish the stage
    /// (`transition_to_complete`) and the join waker (`set_join_waker`).
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// CAS loop; `f` returns `None` to leave the word unchanged. AcqRel: a
    /// successful transition both publishes what the caller wrote before it
    /// (stage, waker) and acquires what the previous owner wrote.
    #[inline]
    fn fetch_update<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (out, next) = f(curr);
            let Some(next) = next else { return out };
            match self.val.compare_exchange_weak(curr.0, next.0, AcqRel, Acquire) {
                Ok(_) => return out,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// A worker holding a `Notified` reference wants to poll the task.
    #[inline]
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_notified(), "polled a task that was not notified: {curr:?}");
            if !curr.is_idle() {
                // Shutdown cancelled it (and holds or held RUNNING): just drop our reference.
                assert!(curr.ref_count() > 0);
                let next = Snapshot(curr.0 - REF_ONE);
                let action = if next.ref_count() == 0 {
                    TransitionToRunning::Dealloc
                } else {
                    TransitionToRunning::Failed
                };
                return (action, Some(next));
            }
            let next = Snapshot((curr.0 | RUNNING) & !NOTIFIED);
            let action = if curr.is_cancelled() {
                TransitionToRunning::Cancelled
            } else {
                TransitionToRunning::Success
            };
            (action, Some(next))
        })
    }

    /// The worker's poll returned `Pending`.
    #[inline]
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.to_idle(false)
    }

    /// The worker's poll returned `Pending` after the future asked to run
    /// again (`waker::yield_self`): the same as a `wake_by_ref` by the
    /// RUNNING holder just before `transition_to_idle`, in one CAS. Nobody
    /// can tell the two apart: while RUNNING is set, a wake only sets
    /// NOTIFIED (no reference, no submission), and NOTIFIED is read only by
    /// this transition (docs/design/task.md, "Yield without a wake").
    #[inline]
    pub(crate) fn transition_to_idle_yielded(&self) -> TransitionToIdle {
        self.to_idle(true)
    }

    #[inline]
    fn to_idle(&self, yielded: bool) -> TransitionToIdle {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_running());
            if curr.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            let mut next = (curr.0 & !RUNNING) | if yielded { NOTIFIED } else { 0 };
            let action = if curr.is_notified() || yielded {
                // The running reference becomes the Notified one.
                TransitionToIdle::OkNotified
            } else {
                next -= REF_ONE;
                if Snapshot(next).ref_count() == 0 {
                    TransitionToIdle::OkDealloc
                } else {
                    TransitionToIdle::Ok
                }
            };
            (action, Some(Snapshot(next)))
        })
    }

    /// The stage now holds the output (or the error): flip RUNNING off and
    /// COMPLETE on in one step. AcqRel: Release publishes the stage to the
    /// `JoinHandle` (pairs with the Acquire in `load`); Acquire sees the
    /// handle's JOIN_INTEREST/JOIN_WAKER changes and its waker write.
    #[inline]
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        Snapshot(prev.0 ^ (RUNNING | COMPLETE))
    }

    /// Drops `count` references after completion; true if they were the
    /// last (deallocate).
    #[inline]
    pub(crate) fn transition_to_terminal(&self, count: usize) -> bool {
        self.ref_dec_n(count)
    }

    /// `Waker::wake` (consumes the waker's reference).
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotifiedByVal {
        self.fetch_update(|curr| {
            assert!(curr.ref_count() > 0);
            if curr.is_running() {
                // The worker will re-schedule after the poll; it holds a
                // reference, so ours is not the last.
                let next = Snapshot((curr.0 | NOTIFIED) - REF_ONE);
                debug_assert!(next.ref_count() > 0);
                (TransitionToNotifiedByVal::DoNothing, Some(next))
            } else if curr.is_complete() || curr.is_notified() {
                let next = Snapshot(curr.0 - REF_ONE);
                let action = if next.ref_count() == 0 {
                    TransitionToNotifiedByVal::Dealloc
                } else {
                    TransitionToNotifiedByVal::DoNothing
                };
                (action, Some(next))
            } else {
                // Our reference becomes the Notified one.
                (TransitionToNotifiedByVal::Submit, Some(Snapshot(curr.0 | NOTIFIED)))
            }
        })
    }

    /// `Waker::wake_by_ref`.
    ///
    /// Already NOTIFIED: nothing changes, but the CAS still writes the same
    /// value. A wake must happen-before the poll it relies on (the `Waker`
    /// contract): a plain load would leave the waker's earlier writes
    /// unordered with the worker's `transition_to_running` (the
    /// store-buffering pattern; loom found the lost wake-up, see
    /// docs/testing.md). As an RMW, the wake either precedes that CAS in the
    /// word's modification order (and the CAS acquires it) or follows it
    /// (and sees RUNNING, setting NOTIFIED for a re-poll).
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotifiedByRef {
        self.fetch_update(|curr| {
            if curr.is_complete() {
                (TransitionToNotifiedByRef::DoNothing, None)
            } else if curr.is_notified() {
                (TransitionToNotifiedByRef::DoNothing, Some(curr))
            } else if curr.is_running() {
                (TransitionToNotifiedByRef::DoNothing, Some(Snapshot(curr.0 | NOTIFIED)))
            } else {
                (TransitionToNotifiedByRef::Submit, Some(Snapshot((curr.0 | NOTIFIED) + REF_ONE)))
            }
        })
    }

    /// `JoinHandle::abort`: mark CANCELLED. If the task is idle and not yet
    /// queued, it is also notified so that a worker drops the future.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> TransitionToNotifiedByRef {
        self.fetch_update(|curr| {
            if curr.is_cancelled() || curr.is_complete() {
                (TransitionToNotifiedByRef::DoNothing, None)
            } else if curr.is_running() || curr.is_notified() {
                // The running worker (in `transition_to_idle`) or the worker
                // that pops the queue entry (in `transition_to_running`) sees
                // CANCELLED and drops the future.
                (TransitionToNotifiedByRef::DoNothing, Some(Snapshot(curr.0 | CANCELLED)))
            } else {
                (TransitionToNotifiedByRef::Submit, Some(Snapshot((curr.0 | CANCELLED | NOTIFIED) + REF_ONE)))
            }
        })
    }

    /// Shutdown: mark CANCELLED and, if idle, take RUNNING so the caller
    /// cancels the task right away. Returns true if RUNNING was taken.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.fetch_update(|curr| {
            let mut next = curr.0 | CANCELLED;
            let took = curr.is_idle();
            if took {
                next |= RUNNING;
            }
            (took, Some(Snapshot(next)))
        })
    }

    /// The `JoinHandle` is dropped before completion: clear JOIN_INTEREST
    /// (and JOIN_WAKER). Fails once COMPLETE is set; the handle must then
    /// drop the output itself.
    pub(crate) fn unset_join_interested(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested());
            if curr.is_complete() {
                return (Err(curr), None);
            }
            let next = Snapshot(curr.0 & !(JOIN_INTEREST | JOIN_WAKER));
            (Ok(next), Some(next))
        })
    }

    /// A `JoinHandle` is dropped before its task completed and with no join
    /// waker registered (the common detached spawn): clears JOIN_INTEREST
    /// and gives up the handle's reference in one CAS, where the general
    /// path (`unset_join_interested`, then dropping the reference) takes
    /// two RMWs. Fails, changing nothing, if the task is complete, a join
    /// waker is registered (the handle must take it back first), or the
    /// handle's reference is the last (the caller must then deallocate):
    /// the caller takes the general path.
    ///
    /// Without JOIN_WAKER and before COMPLETE the trailer's waker slot is
    /// empty (the handle fills it only right before setting JOIN_WAKER, and
    /// a failed `set_join_waker` means COMPLETE), so there is nothing for
    /// the handle to drop after giving up its reference.
    /// AcqRel (in `fetch_update`): the Release half orders the handle's
    /// earlier accesses to the cell before whichever reference drop ends
    /// its life (pairs with the AcqRel of `ref_dec_n`).
    pub(crate) fn drop_join_handle_fast(&self) -> bool {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested());
            if curr.is_complete() || curr.is_join_waker_set() || curr.ref_count() < 2 {
                return (false, None);
            }
            (true, Some(Snapshot((curr.0 & !JOIN_INTEREST) - REF_ONE)))
        })
    }

    /// The handle has written a waker into the trailer: hand it to the task
    /// side. Fails if the task completed meanwhile (read the output then).
    /// Release (in AcqRel) publishes the waker write; pairs with the Acquire
    /// of `transition_to_complete`.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested() && !curr.is_join_waker_set());
            if curr.is_complete() {
                return (Err(curr), None);
            }
            let next = Snapshot(curr.0 | JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// The handle wants to replace its waker: take write access back. Fails
    /// if the task completed meanwhile.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested() && curr.is_join_waker_set());
            if curr.is_complete() {
                return (Err(curr), None);
            }
            let next = Snapshot(curr.0 & !JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// Relaxed is enough for an increment: the caller already holds a
    /// reference, so the count cannot be zero and no data is published (the
    /// same argument as `Arc::clone`).
    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        assert!(prev <= isize::MAX as usize, "task reference count overflow");
    }

    /// A new `AbortHandle`: one more reference and, while the count has
    /// room, one more in the abort-handle count, in one CAS (a dump's
    /// single load must see both or neither). When the count is full,
    /// ABORT_UNCOUNTED is set instead, for good. Relaxed on success for
    /// the reason `ref_inc` gives; the count is read by dumps only as part
    /// of one word, never to order other memory.
    pub(crate) fn abort_handle_inc(&self) {
        let mut curr = self.val.load(Relaxed);
        loop {
            let add = if curr & ABORT_UNCOUNTED != 0 {
                REF_ONE
            } else if curr & ABORT_MASK == ABORT_MASK {
                REF_ONE | ABORT_UNCOUNTED
            } else {
                REF_ONE + ABORT_ONE
            };
            assert!(curr <= isize::MAX as usize, "task reference count overflow");
            match self.val.compare_exchange_weak(curr, curr + add, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(actual) => curr = actual,
            }
        }
    }

    /// An `AbortHandle` is dropped: the inverse of `abort_handle_inc` in
    /// one CAS (the handle was counted unless ABORT_UNCOUNTED is set now:
    /// the bit is sticky and a handle made while it was clear raised the
    /// count). True if its reference was the last. AcqRel: as `ref_dec_n`.
    pub(crate) fn abort_handle_dec(&self) -> bool {
        self.fetch_update(|curr| {
            assert!(curr.ref_count() > 0, "task reference count underflow: {curr:?}");
            let sub = if curr.is_abort_uncounted() {
                REF_ONE
            } else {
                debug_assert!(curr.abort_handles() > 0);
                REF_ONE + ABORT_ONE
            };
            (curr.ref_count() == 1, Some(Snapshot(curr.0 - sub)))
        })
    }

    /// Drops one reference; true if it was the last.
    pub(crate) fn ref_dec(&self) -> bool {
        self.ref_dec_n(1)
    }

    /// AcqRel: Release so our prior accesses to the task happen before the
    /// deallocation; Acquire so the thread that deallocates sees everyone
    /// else's (the `Arc::drop` argument).
    #[inline]
    fn ref_dec_n(&self, n: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(n * REF_ONE, AcqRel));
        assert!(prev.ref_count() >= n, "task reference count underflow: {prev:?} - {n}");
        prev.ref_count() == n
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn initial_state() {
        let s = State::new().load();
        assert_eq!(s.ref_count(), 3);
        assert!(s.is_notified() && s.is_join_interested() && s.is_idle());
    }

    #[test]
    fn wake_while_running_resubmits_once() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(s.transition_to_notified_by_ref(), TransitionToNotifiedByRef::DoNothing);
        assert_eq!(s.transition_to_notified_by_ref(), TransitionToNotifiedByRef::DoNothing);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::OkNotified);
        assert_eq!(s.load().ref_count(), 3);
    }

    #[test]
    fn wake_after_complete_does_nothing() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        let snap = s.transition_to_complete();
        assert!(snap.is_complete() && !snap.is_running());
        assert_eq!(s.transition_to_notified_by_ref(), TransitionToNotifiedByRef::DoNothing);
        s.ref_inc();
        assert_eq!(s.transition_to_notified_by_val(), TransitionToNotifiedByVal::DoNothing);
        assert_eq!(s.load().ref_count(), 3);
    }

    #[test]
    fn abort_idle_task_submits() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        assert_eq!(s.transition_to_notified_and_cancel(), TransitionToNotifiedByRef::Submit);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Cancelled);
    }

    /// A state after its first poll returned Pending: list + JoinHandle.
    fn parked() -> State {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        s
    }

    #[test]
    fn abort_handles_are_counted_apart_and_given_back() {
        let s = parked();
        s.abort_handle_inc();
        s.abort_handle_inc();
        let snap = s.load();
        assert_eq!((snap.ref_count(), snap.abort_handles()), (4, 2), "{snap:?}");
        assert!(!s.abort_handle_dec());
        assert!(!s.abort_handle_dec());
        let snap = s.load();
        assert_eq!((snap.ref_count(), snap.abort_handles()), (2, 0), "{snap:?}");
        assert!(!snap.is_abort_uncounted());
    }

    #[test]
    fn a_full_abort_handle_count_turns_uncounted_for_good() {
        let s = parked();
        let full = ABORT_MASK >> ABORT_SHIFT;
        for _ in 0..full {
            s.abort_handle_inc();
        }
        assert!(!s.load().is_abort_uncounted());
        assert_eq!(s.load().abort_handles(), full);
        // The next one does not fit: the word says so instead of counting.
        s.abort_handle_inc();
        s.abort_handle_inc();
        let snap = s.load();
        assert!(snap.is_abort_uncounted());
        assert_eq!((snap.ref_count(), snap.abort_handles()), (2 + full + 2, full));
        assert!(!snap.is_leaked_if_listed(), "an uncounted abort handle could be a waker: {snap:?}");
        // Every drop now gives back only its reference; the flags and the
        // count below the references are never borrowed from.
        for _ in 0..full + 2 {
            assert!(!s.abort_handle_dec());
        }
        let snap = s.load();
        assert!(snap.is_abort_uncounted() && snap.is_join_interested() && snap.is_idle());
        assert_eq!(snap.ref_count(), 2);
        // The last reference frees the task.
        assert!(!s.ref_dec());
        s.abort_handle_inc();
        assert!(!s.ref_dec());
        assert!(s.abort_handle_dec());
    }

    #[test]
    fn the_leak_predicate_counts_every_reference_that_is_not_a_waker() {
        let s = parked();
        assert!(s.load().is_leaked_if_listed(), "list + JoinHandle only");
        s.abort_handle_inc();
        assert!(s.load().is_leaked_if_listed(), "an abort handle cannot wake it");
        s.ref_inc(); // a waker clone
        assert!(!s.load().is_leaked_if_listed(), "a waker exists");
        assert_eq!(s.transition_to_notified_by_val(), TransitionToNotifiedByVal::Submit);
        assert!(!s.load().is_leaked_if_listed(), "queued");
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert!(!s.load().is_leaked_if_listed(), "running");
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        assert!(s.load().is_leaked_if_listed());
        // The JoinHandle's drop clears JOIN_INTEREST before it drops its
        // reference: in between the count is one too high, so the
        // predicate is false (a missed report, never a false one).
        assert!(s.unset_join_interested().is_ok());
        assert!(!s.load().is_leaked_if_listed());
        assert!(!s.ref_dec());
        assert!(s.load().is_leaked_if_listed(), "list + abort handle");
        assert!(!s.abort_handle_dec());
        assert!(s.load().is_leaked_if_listed(), "list only");
        assert_eq!(s.transition_to_notified_and_cancel(), TransitionToNotifiedByRef::Submit);
        assert!(!s.load().is_leaked_if_listed(), "aborted");
    }

    #[test]
    fn a_task_cancelled_while_running_is_not_leaked() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(s.transition_to_notified_and_cancel(), TransitionToNotifiedByRef::DoNothing);
        assert!(!s.load().is_leaked_if_listed());
        assert!(!s.transition_to_shutdown(), "running: the worker cancels it");
        assert!(!s.load().is_leaked_if_listed());
    }

    #[test]
    fn join_interest_cannot_be_dropped_after_complete() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        let _ = s.transition_to_complete();
        assert!(s.unset_join_interested().is_err());
    }
}
