//! The monitor thread, `weft-monitor` (Go's sysmon): one thread per
//! runtime that never runs tasks and watches the workers from outside.
//!
//! - **CPU quota** (`topology::quota`): every `quota_refresh` it re-reads
//!   the cgroup quota and the allowed CPUs and moves the quota part of the
//!   active-worker target (docs/design/topology.md).
//! - **Stalls** (`stall.rs`): every few milliseconds it samples each
//!   worker's "current poll started at" stamp. A poll longer than the
//!   threshold, counted in time its thread spent on a CPU or blocked (not
//!   waiting for a CPU: `thread_clock.rs`), is a stall: reported once,
//!   counted, its thread's stack taken (`stack.rs`, `symbols.rs`), and,
//!   if the stalled
//!   worker's tasks or timers have nobody else to run them, compensated by
//!   letting a spare worker in until the poll returns
//!   (docs/design/stalls.md).
//! - **Cell cache** (`task::cell_cache`): every 10 s it gives half of each
//!   size class's surplus free task cells in the runtime's depot back to
//!   the allocator (docs/design/task.md, "Cell cache").
//! - **Scheduler trace** (`WEFT_SCHEDTRACE=ms`, `Builder::sched_trace`):
//!   one line of scheduler state to stderr per period, like Go's
//!   `GODEBUG=schedtrace`.
//!
//! It sleeps on a condvar with a deadline, so `stop` ends it at once.
//!
//! Under loom there is no monitor thread; only the types compile.
#![cfg_attr(all(test, loom), allow(dead_code))]

#[cfg(any(all(test, loom), all(feature = "stall-stacks", unix)))]
pub(crate) mod capture;
mod event;
#[cfg(all(feature = "stall-stacks", unix, not(all(test, loom))))]
mod stack;
#[cfg(not(all(feature = "stall-stacks", unix, not(all(test, loom)))))]
#[path = "stack_off.rs"]
mod stack;
#[cfg(not(all(test, loom)))]
mod stall;
mod symbols;
mod thread_clock;

pub use event::StallEvent;
pub(crate) use event::StallLog;
pub(crate) use stack::StackSlot;
pub use symbols::{StallBacktrace, StallFrame};
pub(crate) use thread_clock::{current_thread_id, read_schedstat};

use crate::topology::quota::QuotaConfig;
use std::time::Duration;

/// What a runtime's monitor watches.
pub(crate) struct MonitorConfig {
    /// Live CPU-quota tracking, if on.
    pub(crate) quota: Option<QuotaConfig>,
    /// Stall detection threshold, if on.
    pub(crate) stall_threshold: Option<Duration>,
    /// How often to trim the runtime's task-cell depot, if it has one
    /// (`CellDepot::trim`).
    pub(crate) cell_trim_period: Option<Duration>,
    /// The periodic scheduler trace line (`WEFT_SCHEDTRACE`), if on.
    pub(crate) sched_trace: Option<SchedTrace>,
    /// Take the stalled worker's stack when a stall is reported
    /// (`Builder::stall_backtraces`; only with the `stall-stacks` feature).
    pub(crate) stall_backtraces: bool,
}

/// `GODEBUG=schedtrace`'s counterpart: every `period`, the monitor writes
/// `line(shared, uptime)` to stderr. The line is built by the caller (the
/// metrics face knows what to print; the engine only keeps time).
pub(crate) struct SchedTrace {
    pub(crate) period: Duration,
    pub(crate) line: Box<SchedTraceLine>,
}

/// Builds the trace line from the runtime's state and its uptime.
pub(crate) type SchedTraceLine = dyn Fn(&crate::rt::scheduler::Shared, Duration) -> String + Send + Sync;

#[cfg(not(all(test, loom)))]
pub(crate) use thread::Monitor;

#[cfg(not(all(test, loom)))]
mod thread {
    use super::stall::StallDetector;
    use super::MonitorConfig;
    use crate::loom::sync::{Arc, Condvar, Mutex, StdArc};
    use crate::loom::thread;
    use crate::rt::scheduler::Shared;
    use std::io;
    use std::time::{Duration, Instant};

    // A test hook, not engine state: kept out of the thread's context.
    #[cfg(test)]
    thread_local! {
        /// See `Monitor::refuse_next_start`.
        static REFUSE_NEXT_START: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// A running monitor; `stop` (or drop) ends the thread and joins it.
    pub(crate) struct Monitor {
        stop: StdArc<Stop>,
        thread: Option<thread::JoinHandle<()>>,
    }

    #[derive(Default)]
    struct Stop {
        stopped: Mutex<bool>,
        cv: Condvar,
    }

    impl std::fmt::Debug for Monitor {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Monitor").finish_non_exhaustive()
        }
    }

    impl Monitor {
        /// Starts the thread (`weft-monitor`).
        pub(crate) fn start(shared: Arc<Shared>, config: MonitorConfig) -> io::Result<Monitor> {
            let stop = StdArc::new(Stop::default());
            let stop2 = stop.clone();
            #[cfg(test)]
            if REFUSE_NEXT_START.with(|refuse| refuse.replace(false)) {
                // As the OS would refuse it (EAGAIN: out of threads).
                let e = io::Error::from(io::ErrorKind::WouldBlock);
                return Err(io::Error::new(e.kind(), format!("weft: cannot spawn the monitor thread: {e}")));
            }
            let thread = thread::Builder::new()
                .name("weft-monitor".to_string())
                .spawn(move || run(&shared, &config, &stop2))
                .map_err(|e| {
                    io::Error::new(e.kind(), format!("weft: cannot spawn the monitor thread: {e}"))
                })?;
            Ok(Monitor { stop, thread: Some(thread) })
        }

        /// Test hook: the next `start` on the calling thread fails as a
        /// refused thread spawn would (a test cannot make the OS refuse
        /// one thread and not another).
        #[cfg(test)]
        pub(crate) fn refuse_next_start() {
            REFUSE_NEXT_START.with(|refuse| refuse.set(true));
        }

        /// Stops the thread and waits for it (it never blocks for longer
        /// than one re-read of a few small files, one sample, or one trim
        /// pass of at most `cell_cache::TRIM_MAX_CHAINS` chains).
        pub(crate) fn stop(&mut self) {
            *self.stop.stopped.lock() = true;
            self.stop.cv.notify_all();
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    impl Drop for Monitor {
        fn drop(&mut self) {
            self.stop();
        }
    }

    /// How often stamps are sampled for a threshold: half of it (a stall is
    /// seen between 1x and 1.5x the threshold), between 1 and 10 ms (Go's
    /// sysmon polls every 20 us to 10 ms).
    pub(super) fn sample_period(threshold: Duration) -> Duration {
        (threshold / 2).clamp(Duration::from_millis(1), Duration::from_millis(10))
    }

    /// The longest wait between samples while no worker polls (the period
    /// doubles up to this on an idle runtime: 20 wake-ups a second instead
    /// of 200; a stall that begins then is seen up to this much later).
    const IDLE_SAMPLE_MAX: Duration = Duration::from_millis(50);

    fn run(shared: &Shared, config: &MonitorConfig, stop: &Stop) {
        let start = Instant::now();
        let mut next_quota = config.quota.as_ref().map(|q| start + q.interval());
        let period = config.stall_threshold.map(sample_period);
        let mut idle_period = period;
        let mut next_sample = period.map(|p| start + p);
        let mut stalls = config.stall_threshold.map(|t| {
            StallDetector::new(
                shared.num_workers(),
                t,
                config.stall_backtraces,
                shared.trace().monitor_recorder(),
            )
        });
        let trim_period = config.cell_trim_period.filter(|_| shared.services().cell_depot().is_some());
        let mut next_trim = trim_period.map(|p| start + p);
        let mut next_trace = config.sched_trace.as_ref().map(|t| start + t.period);
        loop {
            let Some(deadline) = [next_quota, next_sample, next_trim, next_trace].into_iter().flatten().min()
            else {
                return;
            };
            {
                let mut stopped = stop.stopped.lock();
                while !*stopped {
                    let (guard, timed_out) = stop.cv.wait_until(stopped, deadline);
                    stopped = guard;
                    if timed_out {
                        break;
                    }
                }
                if *stopped {
                    if let Some(d) = stalls.as_mut() {
                        d.release_all(shared);
                    }
                    return;
                }
            }
            let now = Instant::now();
            if let (Some(at), Some(q)) = (next_quota, config.quota.as_ref()) {
                if at <= now {
                    next_quota = Some(now + q.interval());
                    let target = crate::topology::quota::recompute(q);
                    let before = shared.set_quota_target(target);
                    if before != target {
                        log::info!(
                            "weft: active workers {before} -> {target} (CPU quota or allowed CPUs changed)"
                        );
                    }
                }
            }
            if let (Some(at), Some(p), Some(d)) = (next_sample, period, stalls.as_mut()) {
                if at <= now {
                    // Back off while every worker is idle (Go's sysmon
                    // does the same, from 20 us up to 10 ms).
                    let wait = if d.sample(shared) {
                        p
                    } else {
                        idle_period.map_or(p, |w| (w * 2).min(IDLE_SAMPLE_MAX.max(p)))
                    };
                    idle_period = Some(wait);
                    next_sample = Some(now + wait);
                }
            }
            if let (Some(at), Some(trace)) = (next_trace, config.sched_trace.as_ref()) {
                if at <= now {
                    next_trace = Some(now + trace.period);
                    // One write of the whole line: lines from several
                    // runtimes do not interleave mid-line.
                    let line = (trace.line)(shared, now - start);
                    let _ = std::io::Write::write_all(
                        &mut std::io::stderr().lock(),
                        format!("{line}\n").as_bytes(),
                    );
                }
            }
            if let (Some(at), Some(p), Some(depot)) = (next_trim, trim_period, shared.services().cell_depot())
            {
                if at <= now {
                    next_trim = Some(now + p);
                    let freed = depot.trim();
                    if freed > 0 {
                        log::debug!("weft: gave {freed} chains of free task cells back to the allocator");
                    }
                }
            }
        }
    }
}
