//! Stall detection and compensation (the monitor's sysmon part).
//!
//! Each sample reads every worker's poll stamp (`scheduler::stats::
//! PollStamp`): a poll counter, odd while a poll runs. The worker reads no
//! clock for it; the monitor times a poll from the first sample that saw
//! its counter (so it may start up to one period late: a stall is seen
//! between the threshold and the threshold plus one period after the poll
//! began, and its reported length is short by up to one period). A poll
//! seen for longer than the threshold is a stall:
//! - the first time it is seen: counted in the worker's `stalls`, recorded
//!   in the runtime's stall log with the task's id, name and spawn
//!   location, and reported once through `log::warn!`;
//! - every sample while it lasts: the stalled worker's own timer shard is
//!   announced to the rest of the runtime (nobody else fires it otherwise),
//!   and if the worker has queued work (local queue, timers, or the
//!   injector; its runnext task is moved to the injector first) and no
//!   other worker is parked or searching, the monitor
//!   raises the active-worker target by one (`begin_compensation`): a
//!   spare worker comes in searching and steals the stalled worker's queue;
//!   if a worker is parked, it is woken instead;
//! - when the poll returns (the stamp is cleared or belongs to a new poll):
//!   the compensation ends (the extra worker retires at its next scheduling
//!   point, handing its queue to the injector) and the event gets its final
//!   length.
//!
//! docs/design/stalls.md.

use super::StallEvent;
use crate::netpoll::TimerHandoff;
use crate::scheduler::Shared;
use crate::task::Id;
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
}

pub(super) struct StallDetector {
    threshold_ns: u64,
    workers: Vec<Watch>,
    /// Each worker's poll sequence number at the last sample.
    last_seq: Vec<u64>,
}

impl StallDetector {
    pub(super) fn new(workers: usize, threshold: Duration) -> StallDetector {
        StallDetector {
            threshold_ns: threshold.as_nanos().min(u64::MAX as u128) as u64,
            workers: (0..workers).map(|_| Watch::default()).collect(),
            last_seq: vec![0; workers],
        }
    }

    /// One pass over every worker's stamp. Returns true if any worker
    /// polled since the last pass or is polling now (the monitor backs off
    /// while this is false).
    pub(super) fn sample(&mut self, shared: &Shared) -> bool {
        let now = crate::clock::now_ns();
        let mut active = false;
        for index in 0..self.workers.len() {
            let seq = shared.stamps[index].seq();
            active |= seq != self.last_seq[index] || seq & 1 == 1;
            self.last_seq[index] = seq;
            let stamp = shared.stamps[index].sample();
            let watch = &mut self.workers[index];
            if watch.poll.is_some() && watch.poll != stamp {
                end_stall(shared, watch, now);
            }
            if watch.poll.is_none() && stamp.is_some() {
                watch.first_seen = now;
            }
            watch.poll = stamp;
            let Some((_, id)) = stamp else { continue };
            let start = watch.first_seen;
            let elapsed = now.saturating_sub(start);
            if elapsed < self.threshold_ns {
                continue;
            }
            if watch.event.is_none() {
                watch.event = Some(report(shared, index, start, Id(id), elapsed));
            } else if let Some(seq) = watch.event {
                shared.stall_log.lock().update(seq, |e| e.duration = Duration::from_nanos(elapsed));
            }
            hand_off(shared, index, watch);
        }
        active
    }

    /// The monitor stops: give back every compensation it holds.
    pub(super) fn release_all(&mut self, shared: &Shared) {
        let now = crate::clock::now_ns();
        for watch in &mut self.workers {
            if watch.poll.is_some() {
                end_stall(shared, watch, now);
            }
        }
    }
}

/// The poll that `watch` followed has returned (or the monitor stops).
fn end_stall(shared: &Shared, watch: &mut Watch, now: u64) {
    if let (Some(seq), Some(_)) = (watch.event, watch.poll) {
        let length = Duration::from_nanos(now.saturating_sub(watch.first_seen));
        shared.stall_log.lock().update(seq, |e| {
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

/// Counts, records and logs a new stall. Returns its stall-log sequence.
fn report(shared: &Shared, worker: usize, start: u64, id: Id, elapsed: u64) -> u64 {
    let stalls = &shared.stamps[worker].stalls;
    // Relaxed: the monitor is the only writer; readers want a count.
    stalls.store(stalls.load(std::sync::atomic::Ordering::Relaxed) + 1, std::sync::atomic::Ordering::Relaxed);
    let (name, location) = match shared.owned.describe(id) {
        Some((name, location)) => (name, Some(location)),
        None => (None, None),
    };
    let event = StallEvent {
        worker,
        task_id: id,
        name,
        location,
        started: crate::clock::instant_of(start),
        duration: Duration::from_nanos(elapsed),
        ongoing: true,
        compensated: false,
    };
    log::warn!("weft: stall: {event}; blocking calls belong in task::spawn_blocking or task::block_in_place");
    shared.stall_log.lock().push(event)
}

/// Makes sure the stalled worker's work has somewhere to go.
fn hand_off(shared: &Shared, index: usize, watch: &mut Watch) {
    // Its timer shard: announced like a foreign insert, so a parked worker
    // (the netpoller's owner) wakes for it.
    let next_timer = shared.timers.shard_next_expiration(index);
    if let Some(next) = next_timer {
        if watch.announced != Some(next) {
            watch.announced = Some(next);
            if shared.driver.timer_inserted(next) == TimerHandoff::NotPolling {
                let _ = shared.notify_parked();
            }
        }
    }
    // Its runnext slot: only the owner and we take from it, and the owner
    // is inside the stalled poll. To the injector (with a notify), where
    // any worker finds it.
    if let Some(task) = shared.remotes[index].runnext.steal() {
        shared.schedule_remote(task);
    }
    let has_work =
        !shared.remotes[index].stealer.is_empty() || next_timer.is_some() || !shared.injector.is_empty();
    if !has_work || watch.compensated {
        return;
    }
    let idle = shared.idle.load();
    let someone_free =
        idle.num_searching() > 0 || idle.num_unparked() + idle.num_retired() < shared.num_workers();
    if someone_free {
        // A parked or searching worker will take the queue (stealers work
        // from any thread); make sure one is awake.
        let _ = shared.notify_parked();
        return;
    }
    if shared.begin_compensation() {
        watch.compensated = true;
        if let Some(seq) = watch.event {
            shared.stall_log.lock().update(seq, |e| e.compensated = true);
        }
    } else if !watch.warned_no_spare {
        watch.warned_no_spare = true;
        log::warn!("weft: no spare worker left to compensate for a stall on worker {index}");
    }
}
