//! The sleep protocol's shared state: how many workers are unparked, how
//! many of those are searching for work, whether the runtime is shutting
//! down, and which workers are parked.
//!
//! The protocol and the argument for why no wake-up is lost are in
//! `docs/design/sleep.md`. In short: whoever makes work available does an
//! RMW on `state` *after* publishing the work; a searcher or the last
//! unparked worker going to sleep does an RMW on `state` *before* it checks
//! the queues one last time. RMWs on one word are totally ordered, so one of
//! the two sees the other.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire, Ordering::Relaxed};
use crate::loom::sync::Mutex;
use crossbeam_utils::CachePadded;

// Layout: three counters of FIELD_BITS each (searching, unparked,
// retired) and the SHUTDOWN bit above them; the fields never overlap. On a
// 32-bit target the fields are 10 bits wide so everything fits.
const FIELD_BITS: u32 = if usize::BITS >= 64 { 15 } else { 10 };
const SEARCHING_SHIFT: u32 = 0;
const UNPARKED_SHIFT: u32 = FIELD_BITS;
const RETIRED_SHIFT: u32 = 2 * FIELD_BITS;
const COUNT_MASK: usize = (1 << FIELD_BITS) - 1;
const ONE_SEARCHING: usize = 1 << SEARCHING_SHIFT;
const ONE_UNPARKED: usize = 1 << UNPARKED_SHIFT;
/// A worker above the active count (docs/design/topology.md): neither
/// unparked nor parked, never chosen by a notifier.
const ONE_RETIRED: usize = 1 << RETIRED_SHIFT;
/// Set once by shutdown; never cleared.
const SHUTDOWN: usize = 1 << (3 * FIELD_BITS);

/// The most workers the packed state can count.
pub(crate) const MAX_WORKERS: usize = COUNT_MASK;

#[derive(Copy, Clone, Debug)]
pub(crate) struct IdleState(usize);

impl IdleState {
    pub(crate) fn num_searching(self) -> usize {
        (self.0 >> SEARCHING_SHIFT) & COUNT_MASK
    }
    pub(crate) fn num_unparked(self) -> usize {
        (self.0 >> UNPARKED_SHIFT) & COUNT_MASK
    }
    pub(crate) fn num_retired(self) -> usize {
        (self.0 >> RETIRED_SHIFT) & COUNT_MASK
    }
    pub(crate) fn is_shutdown(self) -> bool {
        self.0 & SHUTDOWN != 0
    }
}

/// What a producer of work must do after publishing it.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NotifyAction {
    /// Unpark this worker (it is already counted as unparked and searching).
    Wake(usize),
    /// A worker is searching, or none is parked: nothing to do.
    Nobody,
    /// The runtime is shutting down: the work may never be run; drain it.
    Shutdown,
}

/// What a worker that just registered as parked must do before sleeping.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parked {
    /// Others are awake and will see any new work.
    Sleep,
    /// It was the last searcher or the last unparked worker: it must look at
    /// every queue once more (and wake a worker if one has work).
    RecheckQueues,
}

pub(crate) struct Idle {
    state: AtomicUsize,
    num_workers: usize,
    /// Workers with an index below this may run tasks; the others retire
    /// (the live CPU-quota target, docs/design/topology.md). Written only
    /// under the `sleepers` lock. On its own cache line: every worker reads
    /// it once per scheduling tick, and it changes only with the quota.
    active: CachePadded<AtomicUsize>,
    /// Parked and retired workers' indices. The lock also makes "decrement
    /// unparked + push" and "pop + increment unparked" atomic with respect to
    /// each other, so under the lock `num_workers - num_unparked ==
    /// parked.len() + retired.len() + blocked` and `num_retired ==
    /// retired.len() + blocked`, where `blocked` counts workers inside
    /// `task::block_in_place` (`begin_blocking`).
    sleepers: Mutex<Sleepers>,
}

struct Sleepers {
    parked: Vec<usize>,
    retired: Vec<usize>,
}

/// What `Idle::set_active` asks the caller to do.
#[derive(Debug, Default)]
pub(crate) struct ActiveChange {
    /// Retired workers now below the target: counted as unparked and
    /// searching; unpark them.
    pub(crate) reactivated: Vec<usize>,
    /// Parked workers now above the target: unpark them so they retire
    /// (and let go of the netpoller if they hold it).
    pub(crate) to_retire: Vec<usize>,
}

impl Idle {
    /// `num_workers` threads, of which the first `active` may run tasks
    /// (the others retire as soon as they start).
    pub(crate) fn new(num_workers: usize, active: usize) -> Idle {
        assert!(num_workers <= MAX_WORKERS);
        Idle {
            state: AtomicUsize::new(num_workers << UNPARKED_SHIFT),
            num_workers,
            active: CachePadded::new(AtomicUsize::new(active.clamp(1, num_workers.max(1)))),
            sleepers: Mutex::new(Sleepers {
                parked: Vec::with_capacity(num_workers),
                retired: Vec::with_capacity(num_workers),
            }),
        }
    }

    /// The active-worker target. Relaxed: a worker reads it between tasks
    /// to decide whether to retire; `retire` re-checks it under the lock,
    /// which is what orders it against `set_active`.
    pub(crate) fn active(&self) -> usize {
        self.active.load(Relaxed)
    }

    /// Acquire: pairs with the AcqRel RMWs below; a heuristic read.
    pub(crate) fn load(&self) -> IdleState {
        IdleState(self.state.load(Acquire))
    }

    /// True if nobody is searching and some worker is parked (retired
    /// workers are not candidates: they are counted apart).
    fn should_wake(&self, s: IdleState) -> bool {
        !s.is_shutdown() && s.num_searching() == 0 && s.num_unparked() + s.num_retired() < self.num_workers
    }

    /// Called after work was published (pushed to a queue). Returns the
    /// index of a parked worker to unpark, already counted as unparked and
    /// searching; or why nobody needs waking.
    ///
    /// The `fetch_add(0)` is an RMW, not a load, on purpose: AcqRel makes it
    /// part of the state word's modification order, so either it comes after
    /// a parking worker's decrement (and sees `num_searching == 0`) or before
    /// it, in which case that worker's RMW synchronizes with this one and its
    /// final queue check sees the work we published. A plain load gives no
    /// such guarantee (it is the store-buffering pattern). The same argument
    /// orders the push against `set_shutdown`: a pusher that reads
    /// `Shutdown` must drain what it pushed itself.
    pub(crate) fn notify(&self) -> NotifyAction {
        let state = IdleState(self.state.fetch_add(0, AcqRel));
        if state.is_shutdown() {
            return NotifyAction::Shutdown;
        }
        if !self.should_wake(state) {
            return NotifyAction::Nobody;
        }
        match self.wake_one() {
            Some(index) => NotifyAction::Wake(index),
            None => NotifyAction::Nobody,
        }
    }

    /// `notify` for work a *worker* pushed into its own local queue (or
    /// overflowed into the injector). No RMW: the pushing worker is unparked
    /// and will look at its own queue (and the injector) before it can park,
    /// so the no-lost-wake-up argument does not depend on this check; it only
    /// decides whether to bring in a second worker for parallelism. A stale
    /// read costs at worst that parallelism, never a task. This keeps a
    /// shared-line RMW off every local spawn, wake and yield.
    #[inline]
    pub(crate) fn notify_local(&self) -> Option<usize> {
        // Relaxed: a heuristic read (see above); the slow path re-checks
        // under the lock.
        let state = IdleState(self.state.load(Relaxed));
        if !self.should_wake(state) {
            return None;
        }
        self.wake_one()
    }

    /// Pops a sleeper under the lock if the state still says one is needed.
    /// Out of line and cold: the callers' fast path (nobody to wake) stays
    /// a load and a few compares without this function's register saves.
    #[cold]
    #[inline(never)]
    fn wake_one(&self) -> Option<usize> {
        let mut sleepers = self.sleepers.lock();
        // Re-check under the lock: another notifier may have woken one.
        // Acquire: the lock already orders us against other notifiers.
        if !self.should_wake(self.load()) {
            return None;
        }
        // The most recently parked worker below the active target; parked
        // workers above it are about to retire and must not be handed work.
        // Relaxed: under the lock `set_active` writes it under.
        let active = self.active.load(Relaxed);
        let pos = sleepers.parked.iter().rposition(|&i| i < active)?;
        let index = sleepers.parked.remove(pos);
        // AcqRel: pairs with the parking worker's decrement (under the same
        // lock) and publishes the count to `transition_to_searching` readers.
        self.state.fetch_add(ONE_UNPARKED | ONE_SEARCHING, AcqRel);
        Some(index)
    }

    /// A worker with nothing to do asks to search other queues. Go's rule:
    /// only while `2 * searching < unparked`, so at most about half of the
    /// busy workers spin on the shared queues.
    pub(crate) fn transition_to_searching(&self) -> bool {
        let state = self.load();
        if state.is_shutdown() || 2 * state.num_searching() >= state.num_unparked() {
            return false;
        }
        // AcqRel: part of the modification order the proof relies on.
        self.state.fetch_add(ONE_SEARCHING, AcqRel);
        true
    }

    /// A searcher found work. Returns true if it was the last searcher, in
    /// which case the caller wakes another worker to keep one searching (the
    /// found batch may hold more work than one worker can run).
    pub(crate) fn transition_from_searching(&self) -> bool {
        let prev = IdleState(self.state.fetch_sub(ONE_SEARCHING, AcqRel));
        debug_assert!(prev.num_searching() > 0);
        prev.num_searching() == 1
    }

    /// A worker registers as parked (before it blocks).
    pub(crate) fn transition_to_parked(&self, index: usize, is_searching: bool) -> Parked {
        let mut sleepers = self.sleepers.lock();
        let dec = ONE_UNPARKED + if is_searching { ONE_SEARCHING } else { 0 };
        // AcqRel: the decrement must be in the state word's modification
        // order before our final queue check (see `worker_to_notify`).
        let prev = IdleState(self.state.fetch_sub(dec, AcqRel));
        sleepers.parked.push(index);
        let last_searcher = is_searching && prev.num_searching() == 1;
        let last_unparked = prev.num_unparked() == 1;
        if last_searcher || last_unparked {
            Parked::RecheckQueues
        } else {
            Parked::Sleep
        }
    }

    /// A parked worker that has work of its own to hand out (events from
    /// the netpoller it polled, expired timers) leaves the parked set by
    /// itself. Returns true if it was still registered (it is now counted
    /// as unparked, not searching); false if a notifier popped it first
    /// (it was counted as unparked *and searching* then).
    pub(crate) fn unpark_self(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        let Some(pos) = sleepers.parked.iter().position(|&i| i == index) else { return false };
        sleepers.parked.swap_remove(pos);
        // AcqRel: under the sleepers lock like every other change of the
        // unparked count, so `num_workers - unparked == sleepers.len()`.
        self.state.fetch_add(ONE_UNPARKED, AcqRel);
        true
    }

    /// True while `index` is registered as parked (not yet popped by a
    /// notifier). A worker whose parker returned checks this to tell a real
    /// notification from a shutdown wake.
    pub(crate) fn is_parked(&self, index: usize) -> bool {
        self.sleepers.lock().parked.contains(&index)
    }

    /// Marks shutdown in the state word. The RMW orders it against every
    /// notifier's `fetch_add(0)`: a push that happens after it sees the flag.
    pub(crate) fn set_shutdown(&self) -> bool {
        let prev = IdleState(self.state.fetch_or(SHUTDOWN, AcqRel));
        !prev.is_shutdown()
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.load().is_shutdown()
    }
}

/// Changing the number of active workers (the live CPU-quota target).
/// Every transition runs under the sleepers lock, so `retire` and
/// `set_active` are totally ordered: a worker never retires below a target
/// that was raised before it took the lock.
impl Idle {
    /// Sets the target to `n` (clamped to 1..=num_workers). Retired
    /// workers below it are reactivated (counted as unparked and
    /// searching, like a notified worker); parked workers at or above it are
    /// listed so the caller can unpark them into retirement.
    pub(crate) fn set_active(&self, n: usize) -> ActiveChange {
        let n = n.clamp(1, self.num_workers.max(1));
        let mut sleepers = self.sleepers.lock();
        // Relaxed: every reader that must be exact (`retire`,
        // `retire_parked`, `wake_one`) reads it under this lock, which
        // orders it; the run loop's per-tick read is a hint that `retire`
        // re-checks.
        self.active.store(n, Relaxed);
        let mut change = ActiveChange::default();
        let s = &mut *sleepers;
        s.retired.retain(|&i| {
            if i < n {
                change.reactivated.push(i);
                false
            } else {
                true
            }
        });
        for _ in &change.reactivated {
            // AcqRel: part of the state word's modification order, like a
            // notifier's wake (`wake_one`); the reactivated worker searches.
            self.state.fetch_add((ONE_UNPARKED | ONE_SEARCHING).wrapping_sub(ONE_RETIRED), AcqRel);
        }
        change.to_retire = s.parked.iter().copied().filter(|&i| i >= n).collect();
        change
    }

    /// An unparked, non-searching worker at or above the target retires.
    /// Returns false (and changes nothing) if the target was raised in the
    /// meantime. The caller has already handed its queued tasks to the
    /// injector; after this returns true it must notify (`Idle::notify`),
    /// so that a parked worker picks them up: the decrement here is an RMW
    /// on the state word before that notify, the same order a parking
    /// worker keeps.
    pub(crate) fn retire(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        // Relaxed: under the lock `set_active` writes it under.
        if index < self.active.load(Relaxed) {
            return false;
        }
        // AcqRel: in the state word's modification order before the
        // caller's notify (see above). One unparked becomes one retired.
        self.state.fetch_add(ONE_RETIRED.wrapping_sub(ONE_UNPARKED), AcqRel);
        sleepers.retired.push(index);
        true
    }

    /// A *parked* worker that finds itself at or above the target moves from
    /// the parked set to the retired set. Returns false if it is no longer
    /// parked (a notifier popped it: it is unparked and searching, and
    /// retires through `retire` from its run loop) or the target covers it.
    pub(crate) fn retire_parked(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        // Relaxed: under the lock `set_active` writes it under.
        if index < self.active.load(Relaxed) {
            return false;
        }
        let Some(pos) = sleepers.parked.iter().position(|&i| i == index) else { return false };
        sleepers.parked.swap_remove(pos);
        // AcqRel: like every change of the counts, under the lock.
        self.state.fetch_add(ONE_RETIRED, AcqRel);
        sleepers.retired.push(index);
        true
    }

    /// A running worker is about to block inside `task::block_in_place`:
    /// it stops counting as unparked and counts in the retired field
    /// instead (not parked, not available), without joining the retired
    /// list, so `set_active` never reactivates it. The caller has already
    /// handed its queued tasks to the injector and must notify
    /// (`Idle::notify`) afterwards, as a retiring worker does: this RMW
    /// comes after those pushes, so a worker that parks after it sees one
    /// unparked worker fewer and, if it is now the last, re-checks the
    /// queues (docs/design/stalls.md). Without it, a worker that read a
    /// stale searching count and parked without re-checking would leave
    /// the handed-back tasks to a worker that is blocked (found by the
    /// loom model `block_in_place_hands_the_runnext_task_to_another_worker`).
    pub(crate) fn begin_blocking(&self) {
        let _sleepers = self.sleepers.lock();
        // AcqRel: in the state word's modification order before the
        // caller's notify, like `retire`; under the lock like every count
        // change, so `num_workers == unparked + parked + retired` holds
        // with blocked workers counted as retired.
        self.state.fetch_add(ONE_RETIRED.wrapping_sub(ONE_UNPARKED), AcqRel);
    }

    /// The worker is back from `block_in_place`: it counts as unparked
    /// (not searching) again, like a worker that left the parked set by
    /// itself (`unpark_self`).
    pub(crate) fn end_blocking(&self) {
        let _sleepers = self.sleepers.lock();
        // AcqRel: under the lock like every count change.
        self.state.fetch_add(ONE_UNPARKED.wrapping_sub(ONE_RETIRED), AcqRel);
    }

    /// True while `index` is retired (not yet reactivated by `set_active`).
    pub(crate) fn is_retired(&self, index: usize) -> bool {
        self.sleepers.lock().retired.contains(&index)
    }
}
