//! The worker run loop: pick a task, run it; with nothing local, search the
//! injector and the other workers' queues; with nothing anywhere, park.
//!
//! Order of sources (Go's `findRunnable`, tokio's `next_task`):
//! 1. every `GLOBAL_POLL_INTERVAL` ticks, one task from the injector (so a
//!    busy worker cannot starve remote spawns);
//! 2. runnext (bounded streak), then the local queue;
//! 3. a batch from the injector;
//! 4. if allowed to search (`Idle::transition_to_searching`), steal half of a
//!    victim's queue, victims visited once each from a random start, then
//!    the injector again;
//! 5. park (docs/design/sleep.md).

use super::core::Core;
use super::idle::Parked;
use super::stats::POLL_TIMING_SAMPLE;
use super::{Handle, Shared, GLOBAL_POLL_INTERVAL, REMOTE_STEAL_AFTER};
use crate::loom::deque::Steal;
use crate::rt::context;
use crate::rt::netpoll::DriverGuard;
use crate::rt::task::Notified;
use crate::rt::task::Priority;
use crate::rt::trace::Kind;
use std::cell::RefCell;
use std::ptr;
use std::task::Waker;
use std::time::{Duration, Instant};

/// What the thread-local context of a worker thread points to.
pub(crate) struct WorkerContext {
    pub(crate) handle: Handle,
    /// This worker's index (its queue, parker and timer shard).
    pub(crate) index: usize,
    /// The worker's core while a task is polled; `None` while the run loop
    /// holds it (then schedules go through the injector).
    pub(crate) core: RefCell<Option<Box<Core>>>,
    /// The reference tasks spawned on this thread keep (`anchor.rs`).
    pub(crate) anchor: super::TaskHandle,
}

/// Runs `f` with the current thread's worker context, if it is a worker.
/// Inlined: every wake, spawn and yield goes through it, and a call with
/// the closure's captures spilled costs as much as the queue push.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&WorkerContext>) -> R) -> R {
    let ptr = context::with(|c| c.worker.get()).unwrap_or(ptr::null());
    // SAFETY: the context's `worker` is set only by `run` to a
    // WorkerContext on its stack and reset before that frame returns (also
    // on unwind, by the guard), so a non-null pointer refers to a live
    // context of this thread.
    f(unsafe { ptr.as_ref() })
}

/// Feature `tracing`: the task being polled on this thread (if it is a
/// worker's) runs inside the span with this id; the monitor attaches a
/// stall report to it (`PollStamp::set_span`).
#[cfg(feature = "tracing")]
pub(crate) fn note_task_span(span: u64) {
    with_current(|cx| {
        if let Some(cx) = cx {
            cx.handle.shared.stamps[cx.index].set_span(span);
        }
    });
}

impl Handle {
    /// Queues a woken task: on one of this runtime's workers, to its
    /// runnext slot; elsewhere, to the injector. (A yield goes through
    /// `yield_task`.)
    #[inline]
    pub(crate) fn schedule_task(&self, task: Notified) {
        self.schedule_as(task, Kind::Wake);
    }

    /// A task that yielded (or was woken during its own poll) goes to the
    /// back of this worker's queue, or to the injector elsewhere. Not
    /// recorded in the flight recorder (the task's next poll shows it), and
    /// kept apart from `schedule_as` so that the path every yield takes
    /// stays one small function with nothing but the push in it.
    #[inline]
    pub(crate) fn yield_task(&self, task: Notified) {
        let remote = with_current(|cx| {
            let Some(cx) = cx.filter(|cx| cx.handle.ptr_eq(self)) else { return Some(task) };
            let Ok(mut slot) = cx.core.try_borrow_mut() else { return Some(task) };
            let Some(core) = slot.as_mut() else { return Some(task) };
            // A yield comes from a task's poll in `run_task`, never from the
            // wakes of `dispatch` (whose one notification covers its batch).
            debug_assert!(!core.is_dispatching, "weft: a yield during a dispatch");
            core.schedule_yield(task, &self.shared);
            drop(slot);
            // A yielded task always lands where thieves can take it.
            self.shared.notify_parked_local();
            None
        });
        if let Some(task) = remote {
            self.yield_remote(task);
        }
    }

    /// `yield_task` off this runtime's workers (or with the core taken):
    /// to the injector. Out of line, so that the yield's own path needs few
    /// registers.
    #[cold]
    #[inline(never)]
    fn yield_remote(&self, task: Notified) {
        self.shared.schedule_remote(task);
    }

    /// `schedule_task`, recorded in the flight recorder as `kind` (a wake
    /// or a spawn) in this worker's ring, or the external one.
    #[inline]
    pub(crate) fn schedule_as(&self, task: Notified, kind: Kind) {
        let remote = with_current(|cx| {
            let Some(cx) = cx.filter(|cx| cx.handle.ptr_eq(self)) else { return Some(task) };
            let Ok(mut slot) = cx.core.try_borrow_mut() else { return Some(task) };
            let Some(core) = slot.as_mut() else { return Some(task) };
            core.record(kind, task.0.id().as_u64(), 0);
            let stealable = core.schedule(task, &self.shared) && !core.is_dispatching;
            drop(slot);
            if stealable {
                self.shared.notify_parked_local();
            }
            None
        });
        if let Some(task) = remote {
            self.shared.record_external(kind, &task);
            self.shared.schedule_remote(task);
        }
    }
}

/// A schedule-latency sample (one notification in 32): from the task's
/// runnable stamp to now, the start of its poll. Out of line, so the poll
/// path carries only the test of the stamp's flag.
#[cold]
#[inline(never)]
fn record_schedule_latency(core: &mut Core, since: u64, timed: bool, class: Priority) {
    use crate::rt::task::{STAMP_SHIFT, WAIT_STAMP_MASK};
    if !timed {
        core.now = crate::rt::clock::now_ns();
    }
    let waited = (core.now >> STAMP_SHIFT).wrapping_sub(since) & WAIT_STAMP_MASK;
    core.stats.record_schedule_latency(waited << STAMP_SHIFT, class);
}

/// Resets the context's `worker` when the worker's frame ends, even by
/// unwinding.
struct ResetCurrent;

impl Drop for ResetCurrent {
    fn drop(&mut self) {
        let _ = context::with(|c| c.worker.set(ptr::null()));
    }
}

/// The body of a worker thread.
pub(crate) fn run(handle: Handle, core: Box<Core>) {
    let anchor = super::TaskHandle::new(handle.clone());
    let cx = WorkerContext { handle, index: core.index, core: RefCell::new(None), anchor };
    let _ = context::with(|c| c.worker.set(&cx));
    let _reset = ResetCurrent;
    let shared = &cx.handle.shared;
    let worker = Worker {
        cx: &cx,
        shared,
        stamp: &shared.stamps[cx.index],
        timer_next: shared.services.timers().shard_next(cx.index),
    };
    if !crate::loom::IS_LOOM {
        worker.stamp.set_thread(crate::rt::monitor::current_thread_id());
    }
    // Until the worker's frame ends, the monitor can take this thread's
    // stack during a stall.
    let _stack = worker.stamp.stack.register_current();
    let mut core = core;
    worker.mark_clock(&mut core, false);
    let core = worker.run_loop(core);
    worker.exit(core);
}

struct Worker<'a> {
    cx: &'a WorkerContext,
    shared: &'a Shared,
    /// This worker's poll stamp (`shared.stamps[index]`), looked up once.
    stamp: &'a super::stats::PollStamp,
    /// Our timer shard's next expiration, looked up once (read every tick).
    timer_next: crate::rt::time::shards::ShardNext<'a>,
}

impl Worker<'_> {
    fn run_loop(&self, mut core: Box<Core>) -> Box<Core> {
        loop {
            // The active-worker target dropped below us (the CPU quota
            // shrank): retire between two tasks.
            if core.index >= self.shared.idle.active() {
                core = self.retire(core);
                if self.shared.is_shutdown() {
                    return core;
                }
                continue;
            }
            core.tick = core.tick.wrapping_add(1);
            let global_tick = core.tick % GLOBAL_POLL_INTERVAL == 0;
            if global_tick {
                core = self.maintenance(core);
                if self.shared.is_shutdown() {
                    return core;
                }
            } else {
                core = self.fire_own_timers(core);
            }
            if let Some(task) = self.next_task(&mut core, global_tick) {
                core = self.run_task(core, task);
                continue;
            }
            // Out of local work: I/O and timers first (cheap, and what they
            // wake lands here), then other workers' queues.
            let (c, woke) = self.poll_io_and_timers(core);
            core = c;
            if woke {
                continue;
            }
            if core.index >= self.shared.idle.active() {
                core = self.retire(core);
                if self.shared.is_shutdown() {
                    return core;
                }
                continue;
            }
            if let Some(task) = self.search(&mut core) {
                core = self.run_task(core, task);
                continue;
            }
            if self.shared.is_shutdown() {
                return core;
            }
            if self.shared.classes.in_use() && !core.before_park_classed(self.shared) {
                // Background work we hold no token for, and a token is
                // free: pick again instead of parking (class.rs, `BgTokens`).
                continue;
            }
            core = self.park(core);
            if self.shared.is_shutdown() {
                return core;
            }
        }
    }

    /// Every `GLOBAL_POLL_INTERVAL` ticks: publish counters, poll the
    /// netpoller without blocking (so busy tasks cannot starve I/O) and
    /// fire any expired timer, ours or another worker's.
    ///
    /// This and the other steps off the path of a tick that finds local
    /// work (`poll_io_and_timers`, `search`, `park`) stay out of line, so
    /// the run loop keeps its hot values in registers.
    #[inline(never)]
    fn maintenance(&self, mut core: Box<Core>) -> Box<Core> {
        self.mark_clock(&mut core, true);
        self.shared.stats[core.index].publish(&core.stats);
        self.poll_io_and_timers(core).0
    }

    /// The per-tick timer check: one load of our shard's next expiration;
    /// the clock is read only when a timer is registered there.
    fn fire_own_timers(&self, core: Box<Core>) -> Box<Core> {
        let timers = self.shared.services.timers();
        let Some(next) = self.timer_next.get() else { return core };
        let now = timers.clock().now_ms();
        if next > now {
            return core;
        }
        let index = core.index;
        let (mut core, fired) = self.with_core_installed(core, || timers.fire_expired(index, now));
        core.stats.timers_fired += fired as u64;
        if fired > 0 {
            core.record(Kind::Timers, 0, fired as u64);
        }
        core
    }

    /// Non-blocking netpoll (if nobody holds the poller and anything is
    /// registered) and expired timers of every shard. Returns true if
    /// anything was woken.
    #[inline(never)]
    fn poll_io_and_timers(&self, mut core: Box<Core>) -> (Box<Core>, bool) {
        let driver = self.shared.services.driver();
        let mut events = 0;
        if driver.has_registrations() {
            if let Some(mut guard) = driver.try_acquire() {
                events = guard.poll(Some(Duration::ZERO), &mut core.io_wakers);
                core.stats.netpoll_events += events as u64;
                if events > 0 {
                    core.record(Kind::Netpoll, 0, events as u64);
                }
            }
        }
        let timers = self.shared.services.timers();
        let now = timers.next_expiration().map(|next| (next, timers.clock().now_ms()));
        let timers_due = matches!(now, Some((next, now)) if next <= now);
        if events == 0 && !timers_due {
            return (core, false);
        }
        self.dispatch(core)
    }

    /// Wakes what a netpoll collected and fires expired timers (ours, then
    /// others' where nobody is firing them), with our core installed so
    /// woken tasks go to our own queue. Returns true if anything was woken.
    fn dispatch(&self, mut core: Box<Core>) -> (Box<Core>, bool) {
        let mut wakers = std::mem::take(&mut core.io_wakers);
        let index = core.index;
        let timers = self.shared.services.timers();
        core.is_dispatching = true;
        let (mut core, fired) = self.with_core_installed(core, || {
            let woken = wakers.len();
            wakers.drain(..).for_each(Waker::wake);
            let now = timers.clock().now_ms();
            (woken, timers.fire_expired(index, now) + timers.fire_others(index, now))
        });
        let (woken, timers_fired) = fired;
        let fired = woken + timers_fired;
        core.stats.timers_fired += timers_fired as u64;
        if timers_fired > 0 {
            core.record(Kind::Timers, 0, timers_fired as u64);
        }
        core.is_dispatching = false;
        core.io_wakers = wakers;
        if core.has_queued_work() {
            // Stealable work beyond the runnext slot: one notification for
            // the whole batch (tokio and Go do the same after a netpoll).
            self.shared.notify_parked_local();
        }
        (core, fired > 0)
    }

    /// Runs `f` with `core` reachable from the thread-local context (as
    /// during a poll), so that wakes and spawns in `f` use the local queue.
    fn with_core_installed<R>(&self, core: Box<Core>, f: impl FnOnce() -> R) -> (Box<Core>, R) {
        *self.cx.core.borrow_mut() = Some(core);
        let r = f();
        let core = self.cx.core.borrow_mut().take().expect("weft: worker core missing after a wake");
        (core, r)
    }

    /// The next task to run; `global_tick`: this tick is a
    /// `GLOBAL_POLL_INTERVAL` one, when the injector goes first.
    fn next_task(&self, core: &mut Core, global_tick: bool) -> Option<Notified> {
        if self.shared.classes.in_use() {
            // The weighted pick between the class queues
            // (docs/design/priority.md); never taken before the first task
            // with a class is spawned.
            return core.next_classed(self.shared, global_tick);
        }
        if global_tick {
            if let Steal::Success(task) = self.shared.injector.steal() {
                core.stats.injector_pulls += 1;
                return Some(task);
            }
        }
        core.next_local(self.shared).or_else(|| core.pull_injector_and_pop(self.shared))
    }

    /// Steal from other workers (if the searching limit allows), then the
    /// injector once more.
    #[inline(never)]
    fn search(&self, core: &mut Core) -> Option<Notified> {
        if !core.is_searching {
            core.is_searching = self.shared.idle.transition_to_searching();
            if !core.is_searching {
                return None;
            }
        }
        let tiers = &self.shared.victims[core.index];
        for (t, tier) in tiers.iter().enumerate() {
            if t > 0 && core.local_steal_failures < REMOTE_STEAL_AFTER {
                // Other NUMA nodes only after repeated failures on ours.
                break;
            }
            let stolen = if self.shared.classes.in_use() {
                self.steal_classed(core, tier)
            } else {
                self.steal_from(core, tier, Priority::Normal)
            };
            if let Some((task, victim)) = stolen {
                core.local_steal_failures = 0;
                let nodes = &self.shared.worker_nodes;
                if nodes[victim].is_some() && nodes[victim] != nodes[core.index] {
                    core.stats.remote_node_steals += 1;
                }
                return Some(task);
            }
            if t == 0 {
                core.local_steal_failures = core.local_steal_failures.saturating_add(1);
            }
        }
        if self.shared.classes.in_use() {
            return core.next_classed_injectors(self.shared);
        }
        core.pull_injector_and_pop(self.shared)
    }

    /// Stealing with classes in use: from the victims of `tier`, Critical
    /// work first, then Normal, then Background (only if this worker may
    /// poll Background tasks under the cap).
    fn steal_classed(&self, core: &mut Core, tier: &[usize]) -> Option<(Notified, usize)> {
        for class in Priority::ALL {
            if class == Priority::Background && !core.may_run_background(self.shared) {
                continue;
            }
            if let Some(found) = self.steal_from(core, tier, class) {
                core.picked(class, self.shared);
                return Some(found);
            }
        }
        None
    }

    /// Steals half of one victim's queue of `class` (plus one task to run),
    /// visiting every victim of `tier` once from a random start.
    /// Returns the task and the victim's index.
    fn steal_from(&self, core: &mut Core, tier: &[usize], class: Priority) -> Option<(Notified, usize)> {
        let n = tier.len();
        if n == 0 {
            return None;
        }
        let start = core.rand.below(n);
        for i in 0..n {
            let victim = tier[(start + i) % n];
            let remote = &self.shared.remotes[victim];
            let stealer = remote.stealer_of(class);
            let local = core.queue_of(class);
            let before = local.len();
            loop {
                match stealer.steal_batch_with_limit_and_pop(local, usize::MAX) {
                    Steal::Success(task) => {
                        let stolen = (core.queue_of(class).len() - before) as u64 + 1;
                        core.stats.steal_operations += 1;
                        core.stats.steals += stolen;
                        core.record(Kind::Steal, victim as u64, stolen);
                        return Some((task, victim));
                    }
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        None
    }

    /// Leaves the set of active workers (docs/design/topology.md): hands the
    /// queued tasks to the injector, leaves the searching and unparked
    /// counts, tells the rest of the runtime about our timers, and sleeps
    /// until the target covers us again or shutdown.
    ///
    /// Cold and never inlined: it runs once per quota change; keeping it
    /// out of `run_loop` keeps the hot loop small.
    #[cold]
    #[inline(never)]
    fn retire(&self, mut core: Box<Core>) -> Box<Core> {
        if core.is_searching {
            core.is_searching = false;
            if self.shared.idle.transition_from_searching() {
                let _ = self.shared.notify_parked();
            }
        }
        core.hand_back(self.shared);
        core.release_bg_token(self.shared);
        if !self.shared.idle.retire(core.index) {
            // The target was raised again before we took the lock.
            return core;
        }
        self.after_retire(core)
    }

    /// Common tail of `retire` and a parked worker's `retire_parked`.
    #[cold]
    #[inline(never)]
    fn after_retire(&self, mut core: Box<Core>) -> Box<Core> {
        let index = core.index;
        core.stats.retirements += 1;
        self.mark_clock(&mut core, true);
        core.record(Kind::Retire, 0, 0);
        self.shared.stats[index].publish(&core.stats);
        // Our timer shard is no longer fired by us: announce its next
        // expiration as a foreign insert would (`timer_earliest_changed`
        // without the own-shard shortcut).
        let _ = self.shared.announce_shard(index, None);
        // The tasks we handed back, and the netpoller we may have owned
        // last: make sure an active worker is awake to take them (a woken
        // worker with nothing to do parks in the netpoller). The RMW in
        // `notify` comes after our retire RMW (docs/design/topology.md).
        let _ = self.shared.notify_parked();
        let parker = &self.shared.remotes[index].parker;
        loop {
            if self.shared.is_shutdown() {
                return core;
            }
            parker.park();
            if self.shared.is_shutdown() {
                return core;
            }
            if !self.shared.idle.is_retired(index) {
                // `set_active` counted us as unparked and searching.
                core.is_searching = true;
                self.mark_clock(&mut core, false);
                core.record(Kind::Unretire, 0, 0);
                return core;
            }
        }
    }

    /// The deferred half of the last searcher's wake (`run_task`): wake a
    /// parked worker if stealable work is left after the first poll. Out of
    /// line to keep `run_task`'s frame small (loom runs each thread on a
    /// small coroutine stack).
    #[inline(never)]
    fn notify_after_first_poll(&self, core: &mut Core) {
        core.notify_after_poll = false;
        if core.has_queued_work() || self.shared.has_injected_work() {
            self.shared.notify_parked_local();
        }
    }

    fn run_task(&self, mut core: Box<Core>, task: Notified) -> Box<Core> {
        if core.is_searching {
            core.is_searching = false;
            // The last searcher that finds work wakes another worker so
            // that one keeps looking (Go's `resetspinning`). With the
            // monitor watching for long polls, the wake waits until this
            // first poll returns, and happens only if stealable work is
            // left then (docs/design/sleep.md, "The searcher's wake after
            // its first poll"): issued now, it would land just before this
            // poll wakes whoever the task was woken for (a `block_on`
            // thread, a channel's receiver), and with no idle CPU the extra
            // worker would take the CPU that thread needs.
            if self.shared.idle.transition_from_searching() {
                if self.shared.defer_searcher_notify {
                    core.notify_after_poll = true;
                } else {
                    let _ = self.shared.notify_parked();
                }
            }
        }
        core.stats.polls += 1;
        // Running anything ends a streak of failed local searches.
        core.local_steal_failures = 0;
        let stamp = self.stamp;
        // One poll in POLL_TIMING_SAMPLE is timed: a clock read here and
        // one in the harness at the end, which it leaves in the thread's
        // context (src/rt/clock.rs). The others run on the cached clock.
        // Under loom every poll is a sample (the mask is zero).
        #[cfg_attr(loom, allow(clippy::bad_bit_mask))]
        let timed = core.stats.polls & (POLL_TIMING_SAMPLE - 1) == 0;
        // A sampled notification (one in POLL_TIMING_SAMPLE per queuing
        // thread) left a runnable stamp in the header: this poll's start is
        // a schedule-latency sample. We popped the `Notified`, so its
        // owner's stamp is visible (docs/design/dump.md, "The wait fields and
        // its writers"); the harness clears it when the poll starts.
        if timed {
            core.now = crate::rt::clock::now_ns();
        }
        if let Some(since) = task.0.raw().header().stats.runnable_since() {
            record_schedule_latency(&mut core, since, timed, task.0.raw().header().priority());
        }
        let (start, id) = (core.now, task.0.id().as_u64());
        core.record(Kind::PollStart, id, 0);
        stamp.begin(id);
        crate::rt::clock::enter_poll(start, timed);
        // The slot is empty between polls (the run loop holds the core):
        // nothing to drop from it, so none of the drop code is emitted.
        let empty = self.cx.core.replace(Some(core));
        debug_assert!(empty.is_none(), "weft: a worker core left in its slot");
        std::mem::forget(empty);
        crate::rt::coop::budget(|| task.run());
        let mut core = self.cx.core.take().expect("weft: worker core missing after a poll");
        if core.notify_after_poll {
            self.notify_after_first_poll(&mut core);
        }
        // `block_in_place` un-times a poll (its blocking part is no poll).
        let (end, still_timed) = crate::rt::clock::leave_poll();
        stamp.end();
        if timed {
            // The harness's end reading, unless the poll did not run (a
            // stale notification, or cancelled before it started): then
            // the cached clock is still `start`.
            let end = if end == start { crate::rt::clock::now_ns() } else { end };
            if still_timed {
                core.stats.record_poll(end.saturating_sub(start));
            }
            core.now = end;
            // Untimed polls end on their start stamp: no event needed.
            core.record(Kind::PollEnd, id, 0);
        }
        core
    }

    /// Reads the clock, adds the time since the last mark to the busy time
    /// (if the worker was busy since), and marks.
    fn mark_clock(&self, core: &mut Core, was_busy: bool) {
        let now = crate::rt::clock::now_ns();
        if was_busy {
            core.stats.busy_ns += now.saturating_sub(core.busy_mark);
        }
        core.busy_mark = now;
        core.now = now;
    }

    #[inline(never)]
    fn park(&self, mut core: Box<Core>) -> Box<Core> {
        debug_assert!(!core.has_local_work());
        core.stats.parks += 1;
        self.mark_clock(&mut core, true);
        core.record(Kind::Park, 0, 0);
        self.shared.stats[core.index].publish(&core.stats);
        let index = core.index;
        let parked = self.shared.idle.transition_to_parked(index, core.is_searching);
        core.is_searching = false;
        if parked == Parked::RecheckQueues && self.shared.has_runnable_stealable_work() {
            // We were the last to stop looking: make sure the work we see is
            // picked up (possibly by waking ourselves).
            let _ = self.shared.notify_parked();
        }
        // On a paused clock, our parking may be what lets time move: the
        // netpoller's owner checks again (`quiesce`).
        self.shared.kick_paused_clock();
        let parker = &self.shared.remotes[index].parker;
        loop {
            if self.shared.is_shutdown() {
                return core;
            }
            if index >= self.shared.idle.active() && self.shared.idle.retire_parked(index) {
                return self.after_retire(core);
            }
            // One parked worker owns the netpoller and blocks in it until
            // the earliest timer; the others sleep on their own parkers.
            if let Some(mut guard) = self.shared.services.driver().try_acquire() {
                let polled_before = core.stats.netpoll_events;
                let (c, woke) = self.park_on_driver(core, &mut guard);
                core = c;
                drop(guard);
                if woke {
                    // We have I/O or timers to hand out: leave the parked set
                    // (unless a notifier already took us out) and dispatch.
                    core.is_searching = !self.shared.idle.unpark_self(index);
                    self.unparked(&mut core);
                    let events = core.stats.netpoll_events - polled_before;
                    if events > 0 {
                        core.record(Kind::Netpoll, 0, events);
                    }
                    return self.dispatch(core).0;
                }
            } else {
                // Not the poller's owner: sleep until woken, or until the
                // earliest timer of our own shard, which is ours to fire
                // (`Shared::timer_earliest_changed` relies on this).
                let timers = self.shared.services.timers();
                // A paused clock has no real-time deadline: the netpoller's
                // owner fires every shard when it moves the clock.
                let deadline = timers
                    .shard_next_expiration(index)
                    .and_then(|ms| timers.clock().park_timeout(ms))
                    .map(|timeout| Instant::now() + timeout);
                let notified = parker.park_until(deadline);
                if !notified && self.own_timers_due(index) {
                    core.is_searching = !self.shared.idle.unpark_self(index);
                    self.unparked(&mut core);
                    return self.dispatch(core).0;
                }
            }
            if self.shared.is_shutdown() {
                return core;
            }
            if !self.shared.idle.is_parked(index) {
                break;
            }
        }
        // The notifier counted us as unparked and searching.
        core.is_searching = true;
        self.unparked(&mut core);
        core
    }

    /// Leaving `park` with work to look for: marks the clock and records
    /// the wake-up.
    fn unparked(&self, core: &mut Core) {
        self.mark_clock(core, false);
        core.record(Kind::Unpark, 0, 0);
    }

    fn own_timers_due(&self, index: usize) -> bool {
        let timers = self.shared.services.timers();
        timers.shard_next_expiration(index).is_some_and(|next| next <= timers.clock().now_ms())
    }

    /// Blocks in the netpoller until an event, a wake-up, or the earliest
    /// timer. Returns true if an I/O event arrived or a timer is due.
    ///
    /// Timer hand-off (docs/design/netpoll.md): publish the deadline we will
    /// sleep until (SeqCst), then re-read the shards' next expirations
    /// (SeqCst); an inserter stores its shard's `next` (SeqCst) and then
    /// reads our deadline (`Shared::timer_earliest_changed`). One of the two
    /// sees the other: we recompute, or it interrupts the poll. Both halves
    /// live in `netpoll` (`publish_timer_deadline`, `timer_inserted`), where
    /// the loom model calls them.
    ///
    /// On a paused clock (docs/design/test-clock.md) the poll has no
    /// timeout, since paused time does not pass by itself; but if the
    /// whole runtime is idle and something waits on time, it polls without
    /// blocking and, finding no event, lets `time::advance` callers go on
    /// or moves the clock to the earliest timer.
    fn park_on_driver(&self, mut core: Box<Core>, guard: &mut DriverGuard<'_>) -> (Box<Core>, bool) {
        let timers = self.shared.services.timers();
        let clock = timers.clock();
        let next = guard.publish_timer_deadline(|| timers.next_expiration());
        let mut timeout = next.and_then(|ms| clock.park_timeout(ms));
        let settled = timeout.is_none()
            && clock.is_paused()
            && self.shared.paused_clock_has_work(next)
            && self.shared.is_quiescent();
        if settled {
            timeout = Some(Duration::ZERO);
        }
        let parker = &self.shared.remotes[core.index].parker;
        let events = parker.park_driver(guard, timeout, &mut core.io_wakers);
        core.stats.netpoll_events += events as u64;
        let timers_due = || timers.next_expiration().is_some_and(|next| next <= clock.now_ms());
        // Checked again after the poll: a wake-up (ours is the driver's
        // waker, a worker's is a notification) may have ended the idleness.
        // Idleness first, then the timers: the first check's timeout was
        // computed on the clock of then, and an `advance` may have moved
        // the clock past a timer since (its caller then fell asleep); so
        // may a worker that registered a due timer and parked. Whoever did
        // it went idle after, and our read of that idleness (the parker's
        // state, the idle word) orders their writes before our read of
        // the clock and the shards: a due timer is fired instead of the
        // runtime being called settled.
        if settled && events == 0 && self.shared.is_quiescent() && !timers_due() {
            self.shared.on_settled();
        }
        let due = timers_due();
        (core, events > 0 || due)
    }

    /// Shutdown: cancel every task (any worker may; it is idempotent), drop
    /// what is left in our queues and in the injector, report.
    ///
    /// The injector drain is what makes the shutting-down thread's final
    /// drain safe to run while workers still work: every push a worker
    /// makes (overflow of its local queue, `hand_back` when it retires or
    /// enters `block_in_place`) precedes its own exit on its own thread, so
    /// a push that lands after the final drain is dropped here
    /// (docs/design/shutdown.md, "Nothing left in the injector").
    #[allow(clippy::boxed_local)] // the worker loop owns its core as a Box and hands it over
    fn exit(&self, mut core: Box<Core>) {
        self.shared.owned.close_and_shutdown_all();
        core.drain();
        self.shared.drain_injector();
        core.io_wakers.clear();
        self.shared.stats[core.index].publish(&core.stats);
        self.shared.worker_exited();
    }
}
