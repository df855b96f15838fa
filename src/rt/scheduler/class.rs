//! Priority classes in the scheduler (docs/design/priority.md): the
//! runtime-wide "classes in use" flag, the background-worker cap's tokens,
//! and a worker's weighted pick between its class queues.
//!
//! `Normal` tasks use exactly the structures of a runtime without classes
//! (the `local` deque, the runnext slot, `Shared::injector`); `Critical`
//! and `Background` tasks have a deque of their own per worker (`Core::crit`,
//! `Core::bg`, stolen through `Remote::crit_stealer` / `bg_stealer`) and an
//! injector each. Until the first task with a class is spawned, the run
//! loop never comes here (`ClassState::in_use`).

use super::core::Core;
use super::{Remote, Shared, LOCAL_QUEUE_CAPACITY, MAX_RUNNEXT_STREAK};
use crate::loom::deque::{Injector, Steal, Stealer, Worker};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::rt::task::Notified;
use crate::rt::task::Priority;
use crossbeam_utils::CachePadded;

const C: Priority = Priority::Critical;
const N: Priority = Priority::Normal;
const B: Priority = Priority::Background;

/// One cycle of the weighted pick: 8 critical, 4 normal, 1 background turn
/// in 13, spread out so that no class waits long for its turn. Every run of
/// 13 consecutive picks is a rotation of this table, which is what makes the
/// shares a bound on any window, not only on aligned cycles.
pub(crate) const SHARES: [Priority; 13] = [C, N, C, C, N, C, B, C, N, C, C, N, C];

/// What the workers share about classes.
pub(crate) struct ClassState {
    /// Set once, when the first task with a class other than `Normal` is
    /// spawned; never cleared. While false, no class queue holds a task and
    /// the run loop takes today's path after one load of this line, which
    /// is never written again once set.
    in_use: CachePadded<AtomicBool>,
    /// The background cap's tokens (`BgTokens`).
    pub(crate) bg: BgTokens,
}

impl ClassState {
    pub(crate) fn new(background_workers: Option<usize>) -> ClassState {
        ClassState { in_use: CachePadded::new(AtomicBool::new(false)), bg: BgTokens::new(background_workers) }
    }

    /// Whether a task with a class has ever been spawned.
    ///
    /// Acquire: pairs with the Release store in `mark_in_use`, which the
    /// spawner makes before it publishes the first task with a class. A
    /// worker that holds such a task (popped from a queue: an Acquire that
    /// the publication happens-before) reads true. A worker that reads a
    /// stale false may miss class work in another queue for a moment; the
    /// sleep protocol's checks before parking look at every class queue
    /// without asking this flag (`Shared::has_stealable_work`).
    #[inline]
    pub(crate) fn in_use(&self) -> bool {
        self.in_use.load(Ordering::Acquire)
    }

    /// The spawn path: called for a task of class `class` before it is
    /// published.
    #[inline]
    pub(crate) fn note_spawn(&self, class: Priority) {
        // Relaxed: a hint to skip the store; the store below is what the
        // readers pair with.
        if class != Priority::Normal && !self.in_use.load(Ordering::Relaxed) {
            self.mark_in_use();
        }
    }

    #[cold]
    fn mark_in_use(&self) {
        // Release: pairs with the Acquire load in `in_use` (see there).
        self.in_use.store(true, Ordering::Release);
    }

    /// A plain read of the flag for the spawn path's inheritance: a
    /// Background task polled on this thread was spawned after the flag
    /// was set, and that spawn happens-before its poll, so Relaxed sees
    /// true whenever a Background parent exists here.
    #[inline]
    pub(crate) fn in_use_relaxed(&self) -> bool {
        self.in_use.load(Ordering::Relaxed)
    }
}

/// The background cap (`runtime::Builder::background_workers`): a count of
/// free tokens; a worker holds one while it polls Background tasks.
///
/// Protocol (argument in docs/design/priority.md, "The cap", model in
/// loom-tests/priority.rs):
/// - a worker takes a token (`try_take`) before it polls a Background task
///   and keeps it while it keeps picking Background tasks;
/// - it gives it back (`give_back`) when it picks a task of another class,
///   before it parks and when it retires; after giving back it wakes a
///   worker if Background work is queued where others can take it;
/// - a worker about to park with no token moves its queued Background tasks
///   to the Background injector and then reads the free count with an RMW
///   (`free_now`); if a token is free it does not park.
pub(crate) struct BgTokens {
    /// None: no cap (every worker may poll Background tasks; no token
    /// traffic at all).
    cap: Option<usize>,
    free: CachePadded<AtomicUsize>,
}

impl BgTokens {
    pub(crate) fn new(cap: Option<usize>) -> BgTokens {
        BgTokens { cap, free: CachePadded::new(AtomicUsize::new(cap.unwrap_or(0))) }
    }

    pub(crate) fn is_capped(&self) -> bool {
        self.cap.is_some()
    }

    /// Takes a token if one is free. A few CAS attempts at most: a failure
    /// only means "not now", and the worker asks again at its next
    /// background turn.
    pub(crate) fn try_take(&self) -> bool {
        // Relaxed: the CAS below decides.
        let mut free = self.free.load(Ordering::Relaxed);
        for _ in 0..4 {
            if free == 0 {
                return false;
            }
            // Acquire on success: pairs with `give_back`'s Release, so the
            // previous holder's work is ordered before ours (nothing relies
            // on more than the count).
            match self.free.compare_exchange_weak(free, free - 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => free = now,
            }
        }
        false
    }

    /// Gives a token back. AcqRel: the RMW order of `free` is what the
    /// stranding argument uses: a parker's `free_now` either comes later
    /// (and sees the token) or earlier (and this RMW reads from its release
    /// sequence, so the caller's following check of the queues sees what
    /// the parker moved there).
    pub(crate) fn give_back(&self) {
        self.free.fetch_add(1, Ordering::AcqRel);
    }

    /// The free count, read with an RMW (AcqRel) so it takes part in the
    /// order `give_back` relies on (see there).
    pub(crate) fn free_now(&self) -> usize {
        self.free.fetch_add(0, Ordering::AcqRel)
    }

    /// The giver's half of the protocol: gives a token back, then says
    /// whether a worker must be woken (`has_queued`: Background work waits
    /// where a token holder could take it).
    pub(crate) fn give_back_then(&self, has_queued: impl FnOnce() -> bool) -> bool {
        self.give_back();
        has_queued()
    }

    /// The parker's half, for a worker without a token: moves its queued
    /// Background tasks (`queue`) to the Background `injector`, then
    /// returns whether it may park: the injector is empty, or no token is
    /// free (read with `free_now`'s RMW, after the pushes).
    pub(crate) fn hand_off_before_park<T>(&self, queue: &Worker<T>, injector: &Injector<T>) -> bool {
        while let Some(task) = queue.pop() {
            injector.push(task);
        }
        injector.is_empty() || self.free_now() == 0
    }

    /// A hint: whether a token is free (or there is no cap).
    pub(crate) fn any_free(&self) -> bool {
        // Relaxed: a hint for the sleep protocol's re-check; the token
        // protocol's own RMWs close the gap it leaves (see the type).
        self.cap.is_none() || self.free.load(Ordering::Relaxed) > 0
    }
}

impl Shared {
    /// The injector of `class`.
    #[inline]
    pub(crate) fn injector_of(&self, class: Priority) -> &Injector<Notified> {
        match class {
            Priority::Critical => &self.crit_injector,
            Priority::Background => &self.bg_injector,
            _ => &self.injector,
        }
    }

    /// True if Background work waits in the Background injector or in a
    /// worker's Background queue.
    pub(crate) fn has_queued_background(&self) -> bool {
        !self.bg_injector.is_empty() || self.remotes.iter().any(|r| !r.bg_stealer.is_empty())
    }

    /// Gives a background token back (the caller held one) and wakes a
    /// worker if Background work is queued (`BgTokens`).
    pub(crate) fn give_back_bg_token(&self) {
        if self.classes.bg.give_back_then(|| self.has_queued_background()) {
            let _ = self.notify_parked();
        }
    }
}

impl Remote {
    /// The stealer of this worker's `class` deque.
    #[inline]
    pub(crate) fn stealer_of(&self, class: Priority) -> &Stealer<Notified> {
        match class {
            Priority::Critical => &self.crit_stealer,
            Priority::Background => &self.bg_stealer,
            _ => &self.stealer,
        }
    }

    /// True if this worker's deque of any class holds a task.
    pub(crate) fn has_queued_work(&self) -> bool {
        !self.stealer.is_empty() || !self.crit_stealer.is_empty() || !self.bg_stealer.is_empty()
    }
}

impl Core {
    /// The local deque of `class`.
    #[inline]
    pub(crate) fn queue_of(&self, class: Priority) -> &Worker<Notified> {
        match class {
            Priority::Critical => &self.crit,
            Priority::Background => &self.bg,
            _ => &self.local,
        }
    }

    /// Pushes to the back of `class`'s local deque, moving the older half
    /// to that class's injector first when the deque is full.
    #[inline]
    pub(crate) fn push_class(&mut self, class: Priority, task: Notified, shared: &Shared) {
        if class == Priority::Normal {
            return self.push_back(task, shared);
        }
        self.push_other_class(class, task, shared);
    }

    #[inline(never)]
    fn push_other_class(&mut self, class: Priority, task: Notified, shared: &Shared) {
        let queue = self.queue_of(class);
        if queue.len() >= LOCAL_QUEUE_CAPACITY {
            let injector = shared.injector_of(class);
            for _ in 0..LOCAL_QUEUE_CAPACITY / 2 {
                match queue.pop() {
                    Some(t) => injector.push(t),
                    None => break,
                }
            }
            self.stats.overflows += 1;
        }
        self.queue_of(class).push(task);
    }

    /// May this worker poll a Background task now? Takes a token if the
    /// runtime has a cap and this worker holds none.
    pub(crate) fn may_run_background(&mut self, shared: &Shared) -> bool {
        if self.bg_token || !shared.classes.bg.is_capped() {
            return true;
        }
        self.bg_token = shared.classes.bg.try_take();
        self.bg_token
    }

    /// Gives the background token back if this worker holds one.
    pub(crate) fn release_bg_token(&mut self, shared: &Shared) {
        if self.bg_token {
            self.bg_token = false;
            shared.give_back_bg_token();
        }
    }

    /// Bookkeeping for a task of `class` about to be polled.
    #[inline]
    pub(crate) fn picked(&mut self, class: Priority, shared: &Shared) {
        if class != Priority::Normal {
            self.stats.class_polls[class.index()] += 1;
        }
        if class != Priority::Background {
            self.release_bg_token(shared);
        }
    }

    /// The weighted pick, for a runtime where classes are in use
    /// (docs/design/priority.md, "The pick"). `global_tick`: this is a
    /// `GLOBAL_POLL_INTERVAL` tick, when the injectors go first (highest
    /// class first).
    #[inline(never)]
    pub(crate) fn next_classed(&mut self, shared: &Shared, global_tick: bool) -> Option<Notified> {
        if global_tick {
            for class in Priority::ALL {
                if class == B && !self.may_run_background(shared) {
                    continue;
                }
                if let Steal::Success(task) = shared.injector_of(class).steal() {
                    self.stats.injector_pulls += 1;
                    self.picked(class, shared);
                    return Some(task);
                }
            }
        }
        let slot = SHARES[self.pick as usize];
        self.pick = if self.pick as usize + 1 == SHARES.len() { 0 } else { self.pick + 1 };
        // The turn's class: its local work, then its injector (so a class
        // whose work only arrives from outside keeps its share).
        if let Some(task) = self.local_of(slot, shared).or_else(|| self.injector_of_class(slot, shared)) {
            self.picked(slot, shared);
            return Some(task);
        }
        // The turn passes on: local work highest class first, then the
        // injectors highest class first.
        for class in Priority::ALL {
            if class != slot {
                if let Some(task) = self.local_of(class, shared) {
                    self.picked(class, shared);
                    return Some(task);
                }
            }
        }
        for class in Priority::ALL {
            if class != slot {
                if let Some(task) = self.injector_of_class(class, shared) {
                    self.picked(class, shared);
                    return Some(task);
                }
            }
        }
        None
    }

    /// The searcher's last look: the injectors, highest class first.
    pub(crate) fn next_classed_injectors(&mut self, shared: &Shared) -> Option<Notified> {
        for class in Priority::ALL {
            if let Some(task) = self.injector_of_class(class, shared) {
                self.picked(class, shared);
                return Some(task);
            }
        }
        None
    }

    /// A local task of `class`: for Critical and Normal the runnext slot
    /// first if it holds one of that class (bounded streak), then the deque.
    fn local_of(&mut self, class: Priority, shared: &Shared) -> Option<Notified> {
        if class == B {
            if self.bg.is_empty() || !self.may_run_background(shared) {
                return None;
            }
            self.runnext_streak = 0;
            return self.bg.pop();
        }
        if self.runnext_class == class && !self.runnext.is_empty() {
            // The slot is emptied: its class goes back to Normal, so that
            // Normal schedules take `schedule`'s fast path again.
            self.runnext_class = Priority::Normal;
            if let Some(task) = self.runnext.take() {
                if self.runnext_streak < MAX_RUNNEXT_STREAK {
                    self.runnext_streak += 1;
                    self.stats.runnext_hits += 1;
                    return Some(task);
                }
                self.push_class(class, task, shared);
            }
        }
        let task = self.queue_of(class).pop()?;
        self.runnext_streak = 0;
        Some(task)
    }

    /// A batch of `class` from its injector (`pull_injector_and_pop`).
    fn injector_of_class(&mut self, class: Priority, shared: &Shared) -> Option<Notified> {
        if shared.injector_of(class).is_empty() || (class == B && !self.may_run_background(shared)) {
            return None;
        }
        self.runnext_streak = 0;
        self.pull_class_injector_and_pop(class, shared)
    }

    /// Before parking with classes in use: give the background token back,
    /// and hand queued Background tasks this worker cannot poll to the
    /// Background injector. Returns false if the worker must not park (a
    /// token is free and Background work is queued).
    pub(crate) fn before_park_classed(&mut self, shared: &Shared) -> bool {
        self.release_bg_token(shared);
        if !shared.classes.bg.is_capped() {
            return true;
        }
        // The RMW in there orders our pushes before a later `give_back`'s
        // check, or sees its token (`BgTokens`).
        shared.classes.bg.hand_off_before_park(&self.bg, &shared.bg_injector)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn every_window_of_13_picks_has_the_shares() {
        for start in 0..SHARES.len() {
            let mut counts = [0; 3];
            for i in 0..SHARES.len() {
                counts[SHARES[(start + i) % SHARES.len()].index()] += 1;
            }
            assert_eq!(counts, [8, 4, 1], "window starting at {start}");
        }
    }

    #[test]
    fn tokens_never_exceed_the_cap() {
        let t = BgTokens::new(Some(2));
        assert!(t.try_take());
        assert!(t.try_take());
        assert!(!t.try_take());
        t.give_back();
        assert_eq!(t.free_now(), 1);
        assert!(t.try_take());
        assert!(!t.any_free());
        let uncapped = BgTokens::new(None);
        assert!(!uncapped.is_capped() && uncapped.any_free());
    }
}
