//! Stall detection and compensation (the monitor's sysmon part).
//!
//! Each sample reads every worker's poll stamp (`scheduler::stats::
//! PollStamp`): a poll counter, odd while a poll runs. The worker reads no
//! clock for it; the monitor times a poll from the first sample that saw
//! its counter (so it may start up to one period late: a stall is seen
//! between the threshold and the threshold plus one period after the poll
//! began, and its reported length is short by up to one period).
//!
//! Wall time alone is not the verdict: a thread that is runnable but not
//! running (a cgroup CPU quota throttled the process, or the machine is
//! oversubscribed) looks exactly like a long poll from outside. So when the
//! monitor first sees a poll it also reads the worker thread's scheduler
//! accounting (`thread_clock`), and a poll seen past the threshold is
//! judged by the time its thread spent *on a CPU or blocked in the kernel*
//! since then: a stall only if that reaches the threshold. Time spent
//! waiting for a CPU is counted apart (`descheduled`), never reported and
//! never compensated (a spare worker would only compete for the same
//! CPU). Where the accounting cannot be read the verdict is wall time.
//!
//! A stall:
//! - the first time it is seen: counted in the worker's `stalls`, recorded
//!   in the runtime's stall log with the task's id, name and spawn
//!   location, and reported once through `log::warn!`;
//! - every sample while it lasts: the monitor asks the scheduler to
//!   announce the stalled worker's own timer shard to the rest of the
//!   runtime (`announce_shard`: nobody else fires it otherwise) and to
//!   rescue its work (`rescue_stalled`): if the worker has queued work
//!   (local queue, timers, or the injector; its runnext task is moved to
//!   the injector first) and no other worker is parked or searching, the
//!   scheduler raises the active-worker target by one (`begin_compensation`): a
//!   spare worker comes in searching and steals the stalled worker's queue;
//!   if a worker is parked, it is woken instead;
//! - when the poll returns (the stamp is cleared or belongs to a new poll):
//!   the compensation ends (the extra worker retires at its next scheduling
//!   point, handing its queue to the injector) and the event gets its final
//!   length.
//!
//! docs/design/stalls.md.

use super::thread_clock::{ThreadClock, ThreadSample};
use super::{StallBacktrace, StallEvent};
use crate::rt::scheduler::compensate::Rescue;
use crate::rt::scheduler::Shared;
use crate::rt::task::Id;
use crate::rt::trace::{Kind, Recorder};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// What the monitor remembers about one worker between samples.
#[derive(Debug, Default)]
struct Watch {
    /// The poll seen at the last sample: (its `PollStamp` seq, task id).
    poll: Option<(u64, u64)>,
    /// When the monitor first saw that poll (a `clock` stamp): at most one
    /// sample period after the poll began.
    first_seen: u64,
    /// Sequence number of this poll's event in the stall log, once reported.
    event: Option<u64>,
    /// True while this stall holds a compensation.
    compensated: bool,
    /// The shard expiration last announced for this stall.
    announced: Option<u64>,
    /// A "no spare slot" warning was logged for this stall.
    warned_no_spare: bool,
    /// The thread's accounting when the monitor first saw this poll, and
    /// when (a `clock` stamp); `None` if it could not be read (the verdict
    /// is then wall time).
    base: Option<(ThreadSample, u64)>,
    /// Time the thread has spent blocked in this poll, ns, as of the last
    /// sample that found it blocked (a wait for a CPU in progress is not
    /// in the run-queue figure yet, so only a blocked thread's figures
    /// add up: docs/design/stalls.md).
    blocked_ns: u64,
    /// Seen past the threshold in wall time while the thread had been on a
    /// CPU or blocked for less: counted as descheduled when the poll ends,
    /// unless it becomes a stall first.
    descheduled: bool,
}

/// Where a long poll's wall time went, from its thread's accounting.
#[derive(Clone, Copy, Debug, Default)]
struct Charge {
    /// On a CPU, ns.
    cpu_ns: u64,
    /// Blocked in the kernel (a sleep, a lock, a blocking read), ns.
    blocked_ns: u64,
    /// Runnable but not running (throttled or preempted), ns.
    waiting_ns: u64,
    /// False where the thread could not be read: all the wall time is in
    /// `cpu_ns` (the verdict falls back to wall time).
    measured: bool,
}

impl Charge {
    /// Splits `span` ns of wall time between two readings of one thread.
    /// `blocked_before` is the blocked time the last blocked reading
    /// found: only a thread asleep now has no wait for a CPU in progress
    /// (which schedstat adds only when the wait ends), so only then do
    /// wall − CPU − wait give its blocked time.
    fn split(base: &ThreadSample, now: &ThreadSample, span: u64, blocked_before: u64) -> Charge {
        let cpu_ns = now.cpu_ns.saturating_sub(base.cpu_ns);
        let blocked_ns = if now.blocked {
            let waited = now.wait_ns.saturating_sub(base.wait_ns);
            span.saturating_sub(cpu_ns.saturating_add(waited))
        } else {
            blocked_before
        };
        let waiting_ns = span.saturating_sub(cpu_ns.saturating_add(blocked_ns));
        Charge { cpu_ns, blocked_ns, waiting_ns, measured: true }
    }

    /// The poll's own time: what a stall is judged by.
    fn own_ns(&self) -> u64 {
        self.cpu_ns.saturating_add(self.blocked_ns)
    }
}

pub(super) struct StallDetector {
    threshold_ns: u64,
    workers: Vec<Watch>,
    /// Each worker's poll sequence number at the last sample.
    last_seq: Vec<u64>,
    /// Each worker thread's scheduler accounting (open /proc files).
    clocks: Vec<ThreadClock>,
    /// The first descheduled poll was logged at info (later ones at debug).
    told_descheduled: bool,
    /// Take each stalled worker's stack (`Builder::stall_backtraces`).
    backtraces: bool,
    /// The monitor's flight-recorder ring (stalls, compensations).
    trace: Recorder,
}

impl StallDetector {
    pub(super) fn new(
        workers: usize,
        threshold: Duration,
        backtraces: bool,
        trace: Recorder,
    ) -> StallDetector {
        StallDetector {
            threshold_ns: threshold.as_nanos().min(u64::MAX as u128) as u64,
            workers: (0..workers).map(|_| Watch::default()).collect(),
            last_seq: vec![0; workers],
            clocks: (0..workers).map(|_| ThreadClock::default()).collect(),
            told_descheduled: false,
            backtraces,
            trace,
        }
    }

    /// One pass over every worker's stamp. Returns true if any worker
    /// polled since the last pass or is polling now (the monitor backs off
    /// while this is false).
    pub(super) fn sample(&mut self, shared: &Shared) -> bool {
        let now = crate::rt::clock::now_ns();
        let mut active = false;
        for index in 0..self.workers.len() {
            let seq = shared.stamps()[index].seq();
            active |= seq != self.last_seq[index] || seq & 1 == 1;
            self.last_seq[index] = seq;
            let stamp = shared.stamps()[index].sample();
            let watch = &mut self.workers[index];
            if watch.poll.is_some() && watch.poll != stamp {
                record_end(&mut self.trace, index, watch, now);
                end_stall(shared, index, watch, now);
            }
            if watch.poll.is_none() && stamp.is_some() {
                watch.first_seen = now;
                // One small read per poll the monitor sees; the state
                // letter is read only for polls past the threshold.
                let base = self.clocks[index].read(shared.stamps()[index].thread(), false);
                watch.base = base.map(|b| (b, crate::rt::clock::now_ns()));
            }
            watch.poll = stamp;
            let Some((seq, id)) = stamp else { continue };
            let start = watch.first_seen;
            let elapsed = now.saturating_sub(start);
            if elapsed < self.threshold_ns {
                continue;
            }
            if watch.event.is_none() {
                let charge = match self.charge(shared, index, elapsed) {
                    Some(charge) => charge,
                    None => continue, // the poll ended meanwhile
                };
                let watch = &mut self.workers[index];
                if charge.own_ns() < self.threshold_ns {
                    if !watch.descheduled {
                        watch.descheduled = true;
                        let first = !std::mem::replace(&mut self.told_descheduled, true);
                        tell_descheduled(shared, index, &charge, first);
                    }
                    continue;
                }
                let stack = self.backtraces.then(|| take_stack(shared, index)).flatten();
                let poll = Poll { worker: index, seq, task: Id(id) };
                let (event, warning) = report(shared, &poll, start, elapsed, &charge, stack);
                self.workers[index].event = Some(event);
                self.trace.record(now, Kind::StallBegin, id, index as u64);
                if shared.trace().is_on() {
                    shared.trace().keep_stall_trace(shared.trace_snapshot());
                }
                hand_off(shared, index, &mut self.workers[index]);
                if self.workers[index].compensated {
                    self.trace.record(now, Kind::Compensate, 0, index as u64);
                }
                warning.log();
                continue;
            } else if let Some(seq) = watch.event {
                shared
                    .services()
                    .stall_log()
                    .lock()
                    .update(seq, |e| e.duration = Duration::from_nanos(elapsed));
            }
            let compensated = self.workers[index].compensated;
            hand_off(shared, index, &mut self.workers[index]);
            if !compensated && self.workers[index].compensated {
                self.trace.record(now, Kind::Compensate, 0, index as u64);
            }
        }
        active
    }

    /// Splits the wall time of worker `index`'s current poll (so far) by
    /// what its thread did. `None` if the poll returned while the thread
    /// was read. Wall time counts as the poll's own where the thread
    /// cannot be read.
    fn charge(&mut self, shared: &Shared, index: usize, elapsed: u64) -> Option<Charge> {
        let stamp = &shared.stamps()[index];
        let watch = &mut self.workers[index];
        let wall = Charge { cpu_ns: elapsed, ..Charge::default() };
        let Some((base, base_at)) = watch.base else { return Some(wall) };
        let Some(now) = self.clocks[index].read(stamp.thread(), true) else { return Some(wall) };
        let span = crate::rt::clock::now_ns().saturating_sub(base_at);
        // The readings are for this poll only if it was still running
        // after them (a thread that returned and parked reads as blocked).
        if stamp.sample() != watch.poll {
            return None;
        }
        let charge = Charge::split(&base, &now, span, watch.blocked_ns);
        watch.blocked_ns = charge.blocked_ns;
        Some(charge)
    }

    /// The monitor stops: give back every compensation it holds.
    pub(super) fn release_all(&mut self, shared: &Shared) {
        let now = crate::rt::clock::now_ns();
        for (index, watch) in self.workers.iter_mut().enumerate() {
            if watch.poll.is_some() {
                record_end(&mut self.trace, index, watch, now);
                end_stall(shared, index, watch, now);
            }
        }
    }
}

/// The poll that `watch` (worker `index`'s) followed has returned (or the
/// monitor stops).
fn end_stall(shared: &Shared, index: usize, watch: &mut Watch, now: u64) {
    if watch.event.is_none() && watch.descheduled {
        let n = &shared.stamps()[index].descheduled;
        // Relaxed: the monitor is the only writer; readers want a count.
        n.store(n.load(Relaxed) + 1, Relaxed);
    }
    if let (Some(seq), Some(_)) = (watch.event, watch.poll) {
        let length = Duration::from_nanos(now.saturating_sub(watch.first_seen));
        shared.services().stall_log().lock().update(seq, |e| {
            e.ongoing = false;
            e.duration = length.max(e.duration);
        });
        log::info!("weft: stall on a worker ended after about {} ms", length.as_millis());
    }
    if watch.compensated {
        shared.end_compensation();
    }
    *watch = Watch::default();
}

/// Records the end of the stall and of the compensation `watch` holds,
/// if any, in the monitor's ring.
fn record_end(trace: &mut Recorder, index: usize, watch: &Watch, now: u64) {
    if let (Some(_), Some((_, id))) = (watch.event, watch.poll) {
        trace.record(now, Kind::StallEnd, id, index as u64);
    }
    if watch.compensated {
        trace.record(now, Kind::CompensateEnd, 0, index as u64);
    }
}

/// Worker `index`'s stack, taken while its poll still runs: `None` if it
/// did not arrive in time or the poll ended meanwhile (then the stack
/// may be the next poll's, or the worker's idle loop).
fn take_stack(shared: &Shared, index: usize) -> Option<StallBacktrace> {
    let stamp = &shared.stamps()[index];
    let before = stamp.sample();
    let tid = stamp.thread();
    let ips = stamp.stack.capture(|| super::read_schedstat(tid).map(|(cpu, _)| cpu))?;
    (before.is_some() && stamp.sample() == before).then(|| StallBacktrace::from_ips(ips))
}

/// The warning for a new stall, logged once the stall has been handed off.
struct Warning {
    event: StallEvent,
    split: String,
}

impl Warning {
    /// Logs the warning: at once without a stack; with one, from the
    /// thread that names stack frames (`symbols::off_monitor`), so the
    /// first read of the binary's debug information does not hold up the
    /// monitor's samples.
    fn log(self) {
        if self.event.backtrace.is_some() {
            super::symbols::off_monitor(Box::new(move || self.emit()));
        } else {
            self.emit();
        }
    }

    fn emit(self) {
        let stack = match &self.event.backtrace {
            Some(bt) => format!("; stack: {}", bt.top(STACK_LOG_FRAMES)),
            None => String::new(),
        };
        log::warn!(
            "weft: stall: {} ({}){stack}; blocking calls belong in task::spawn_blocking or task::block_in_place",
            self.event,
            self.split
        );
    }
}

/// How many of the stalled code's innermost frames the warning names.
const STACK_LOG_FRAMES: usize = 6;

/// The stalled poll: its worker, its poll-stamp `seq` and its task.
struct Poll {
    worker: usize,
    /// Pairs the poll with its `tracing` span (`trace_stall`).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    seq: u64,
    task: Id,
}

/// Counts and records a new stall. Returns its stall-log sequence and the
/// warning to log.
fn report(
    shared: &Shared,
    poll: &Poll,
    start: u64,
    elapsed: u64,
    charge: &Charge,
    backtrace: Option<StallBacktrace>,
) -> (u64, Warning) {
    let (worker, id) = (poll.worker, poll.task);
    let stalls = &shared.stamps()[worker].stalls;
    // Relaxed: the monitor is the only writer; readers want a count.
    stalls.store(stalls.load(Relaxed) + 1, Relaxed);
    let (name, location) = match shared.owned().describe(id) {
        Some((name, location)) => (name, Some(location)),
        None => (None, None),
    };
    let event = StallEvent {
        worker,
        task_id: id,
        name,
        location,
        started: crate::rt::clock::instant_of(start),
        duration: Duration::from_nanos(elapsed),
        ongoing: true,
        compensated: false,
        backtrace,
    };
    let warning = Warning { event: event.clone(), split: split(shared, charge) };
    #[cfg(feature = "tracing")]
    trace_stall(shared, poll, &warning);
    (shared.services().stall_log().lock().push(event), warning)
}

/// Feature `tracing`: the stall as a `tracing` event (target
/// `weft::stall`, warn level) inside the stalled task's span, when the
/// poll told its stamp one (docs/design/stalls.md, "Stalls as `tracing`
/// events"). Without a span (no subscriber wanted task spans) the event
/// has no parent.
#[cfg(feature = "tracing")]
fn trace_stall(shared: &Shared, poll: &Poll, warning: &Warning) {
    let stamp = &shared.stamps()[poll.worker];
    let span = stamp.span_of(poll.seq).filter(|_| stamp.sample().map(|(seq, _)| seq) == Some(poll.seq));
    let parent = span.map(tracing::Id::from_u64);
    let event = &warning.event;
    tracing::warn!(
        target: "weft::stall",
        parent: parent,
        { "task.id" = event.task_id.as_u64(),
        "task.name" = event.name.as_deref(),
        worker = event.worker,
        duration_ms = event.duration.as_millis() as u64,
        has_backtrace = event.backtrace.is_some() },
        "stall: {event} ({})",
        warning.split
    );
}

/// Logs a poll that ran past the threshold in wall time while its thread
/// waited for a CPU: at info the first time for this monitor, at debug
/// after that (under a tight quota it happens every few periods).
fn tell_descheduled(shared: &Shared, index: usize, charge: &Charge, first: bool) {
    let level = if first { log::Level::Info } else { log::Level::Debug };
    log::log!(
        level,
        "weft: a poll on worker {index} is long in wall time but its thread was mostly waiting for a CPU ({}); \
         not a stall: no report, no compensating worker",
        split(shared, charge)
    );
}

/// "on a CPU 3 ms, blocked 0 ms, waiting for a CPU 48 ms", plus the
/// quota cgroup's throttling counters when the runtime has a quota.
fn split(shared: &Shared, charge: &Charge) -> String {
    let ms = |ns: u64| ns / 1_000_000;
    if !charge.measured {
        return "the thread's CPU time cannot be read: judged by wall time".to_string();
    }
    let mut text = format!(
        "on a CPU {} ms, blocked {} ms, waiting for a CPU {} ms",
        ms(charge.cpu_ns),
        ms(charge.blocked_ns),
        ms(charge.waiting_ns)
    );
    if let Some(stat) = crate::topology::cpu_stat::read_for(shared.topology().quota.as_ref()) {
        text.push_str(&format!(
            "; the cgroup CPU quota has throttled the process in {} of {} periods, {} ms in all",
            stat.throttled_periods,
            stat.periods,
            ms(stat.throttled_ns)
        ));
    }
    text
}

/// Makes sure the stalled worker's work has somewhere to go: the
/// scheduler announces its timer shard (once per expiration) and rescues
/// its queue; the monitor records what came of it.
fn hand_off(shared: &Shared, index: usize, watch: &mut Watch) {
    let next_timer = shared.announce_shard(index, watch.announced);
    if next_timer.is_some() {
        watch.announced = next_timer;
    }
    match shared.rescue_stalled(index, next_timer.is_some(), watch.compensated) {
        Rescue::Nothing | Rescue::Woken => {}
        Rescue::Compensated => {
            watch.compensated = true;
            if let Some(seq) = watch.event {
                shared.services().stall_log().lock().update(seq, |e| e.compensated = true);
            }
        }
        Rescue::NoSpare => {
            if !watch.warned_no_spare {
                watch.warned_no_spare = true;
                log::warn!("weft: no spare worker left to compensate for a stall on worker {index}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn reading(cpu_ms: u64, wait_ms: u64, blocked: bool) -> ThreadSample {
        ThreadSample { cpu_ns: cpu_ms * MS, wait_ns: wait_ms * MS, blocked }
    }

    #[test]
    fn a_throttled_thread_is_waiting_not_stalled() {
        // Runnable, 0.2 ms of CPU, a 48 ms throttled stretch still in
        // progress (not in the wait figure yet): all waiting.
        let c = Charge::split(&reading(10, 5, false), &reading(10, 5, false), 48 * MS, 0);
        assert_eq!((c.cpu_ns, c.blocked_ns, c.waiting_ns), (0, 0, 48 * MS));
        assert!(c.own_ns() < 10 * MS);
        // After it ran again: the wait is counted, and still no blocked time.
        let c = Charge::split(&reading(10, 5, false), &reading(11, 53, false), 50 * MS, 0);
        assert_eq!((c.cpu_ns, c.blocked_ns, c.waiting_ns), (MS, 0, 49 * MS));
    }

    #[test]
    fn a_sleeping_thread_is_blocked_and_keeps_it_while_runnable() {
        // Asleep: 1 ms on a CPU, 2 ms waiting, the rest of 40 ms blocked.
        let c = Charge::split(&reading(0, 0, false), &reading(1, 2, true), 40 * MS, 0);
        assert_eq!((c.cpu_ns, c.blocked_ns, c.waiting_ns), (MS, 37 * MS, 2 * MS));
        assert!(c.own_ns() >= 10 * MS);
        // Woken and runnable (perhaps throttled): the blocked time found
        // before stands; the new unexplained time is waiting.
        let c = Charge::split(&reading(0, 0, false), &reading(1, 2, false), 90 * MS, 37 * MS);
        assert_eq!((c.cpu_ns, c.blocked_ns, c.waiting_ns), (MS, 37 * MS, 52 * MS));
    }

    #[test]
    fn a_cpu_bound_thread_is_charged_its_cpu_time() {
        let c = Charge::split(&reading(0, 0, false), &reading(25, 25, false), 50 * MS, 0);
        assert_eq!((c.cpu_ns, c.blocked_ns, c.waiting_ns), (25 * MS, 0, 25 * MS));
        // Readings that do not add up never underflow.
        let c = Charge::split(&reading(5, 5, false), &reading(1, 1, true), MS, 0);
        assert_eq!((c.cpu_ns, c.blocked_ns, c.waiting_ns), (0, MS, 0));
    }
}
