//! Stall events: what the monitor records about a poll that ran too long.

use super::StallBacktrace;
use crate::rt::task::Id;
use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

/// How many recent stall events a runtime keeps.
pub(crate) const STALL_LOG_CAPACITY: usize = 64;

/// One stall: a poll that ran longer than the stall threshold
/// (`Builder::stall_threshold`). From [`crate::Handle::recent_stalls`].
#[derive(Clone, Debug)]
pub struct StallEvent {
    pub(crate) worker: usize,
    pub(crate) task_id: Id,
    pub(crate) name: Option<String>,
    pub(crate) location: Option<&'static Location<'static>>,
    pub(crate) started: Instant,
    pub(crate) duration: Duration,
    pub(crate) ongoing: bool,
    pub(crate) compensated: bool,
    pub(crate) backtrace: Option<StallBacktrace>,
}

impl StallEvent {
    /// The worker whose poll stalled.
    pub fn worker(&self) -> usize {
        self.worker
    }
    /// The task being polled.
    pub fn task_id(&self) -> Id {
        self.task_id
    }
    /// The task's name (`task::Builder::name`), if it had one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// Where the task was spawned (`None` if it completed before the
    /// monitor could look it up).
    pub fn location(&self) -> Option<&'static Location<'static>> {
        self.location
    }
    /// When the poll started.
    pub fn started(&self) -> Instant {
        self.started
    }
    /// How long the poll ran: its whole length once it ended, else as of
    /// the monitor's last sample.
    pub fn duration(&self) -> Duration {
        self.duration
    }
    /// True while the poll has not returned (as of the last sample).
    pub fn is_ongoing(&self) -> bool {
        self.ongoing
    }
    /// True if a compensating worker was let in for this stall.
    pub fn was_compensated(&self) -> bool {
        self.compensated
    }
    /// The stalled worker thread's stack, taken while the poll ran
    /// (`Builder::stall_backtraces`, on by default with the
    /// `stall-stacks` feature). `None` if stacks are off or none arrived:
    /// the thread had the signal blocked, was in an uninterruptible wait,
    /// or the poll ended before the stack was taken.
    pub fn backtrace(&self) -> Option<&StallBacktrace> {
        self.backtrace.as_ref()
    }
}

impl fmt::Display for StallEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.task_id)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        if let Some(loc) = self.location {
            write!(f, " (spawned at {loc})")?;
        }
        let state = if self.ongoing { "has been polling" } else { "polled" };
        write!(
            f,
            " {state} for {} ms on worker {} without yielding",
            self.duration.as_millis(),
            self.worker
        )?;
        if self.compensated {
            f.write_str("; a compensating worker ran its queue")?;
        }
        Ok(())
    }
}

/// The most recent stall events, oldest first (bounded).
#[derive(Debug, Default)]
pub(crate) struct StallLog {
    events: VecDeque<StallEvent>,
    /// Events ever pushed (the index of the next one).
    pushed: u64,
}

impl StallLog {
    /// Records `event`; returns its sequence number for `update`.
    pub(crate) fn push(&mut self, event: StallEvent) -> u64 {
        if self.events.len() == STALL_LOG_CAPACITY {
            self.events.pop_front();
        }
        self.events.push_back(event);
        self.pushed += 1;
        self.pushed - 1
    }

    /// Changes event `seq` if it is still kept.
    pub(crate) fn update(&mut self, seq: u64, f: impl FnOnce(&mut StallEvent)) {
        let first = self.pushed - self.events.len() as u64;
        if seq >= first {
            if let Some(e) = self.events.get_mut((seq - first) as usize) {
                f(e);
            }
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<StallEvent> {
        self.events.iter().cloned().collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn event(worker: usize) -> StallEvent {
        StallEvent {
            worker,
            task_id: Id(1),
            name: Some("n".into()),
            location: Some(Location::caller()),
            started: Instant::now(),
            duration: Duration::from_millis(12),
            ongoing: true,
            compensated: false,
            backtrace: None,
        }
    }

    #[test]
    fn the_log_keeps_the_newest_events_and_updates_by_sequence() {
        let mut log = StallLog::default();
        let mut seqs = Vec::new();
        for w in 0..STALL_LOG_CAPACITY + 3 {
            seqs.push(log.push(event(w)));
        }
        let snap = log.snapshot();
        assert_eq!(snap.len(), STALL_LOG_CAPACITY);
        assert_eq!(snap[0].worker, 3);
        log.update(seqs[0], |e| e.worker = 999); // dropped: no effect
        log.update(*seqs.last().unwrap(), |e| e.ongoing = false);
        let snap = log.snapshot();
        assert!(snap.iter().all(|e| e.worker != 999));
        assert!(!snap.last().unwrap().ongoing);
        let text = snap.last().unwrap().to_string();
        assert!(text.contains("task 1 \"n\"") && text.contains("12 ms on worker"), "{text}");
    }
}
