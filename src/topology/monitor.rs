//! The monitor thread (Go's sysmon, the CPU-quota part): once per interval
//! it re-reads the cgroup CPU quota and the allowed CPUs (affinity mask ∩
//! cpuset) and moves the runtime's active-worker target, so a container
//! whose quota is changed live gets the right number of running workers
//! without restarting a thread. docs/design/topology.md.

use super::{cgroup, read_allowed, worker_count, Rounding, Sources};
use crate::loom::sync::{Arc, Condvar, Mutex, StdArc};
use crate::loom::thread;
use crate::scheduler::Shared;
use std::io;
use std::time::{Duration, Instant};

/// What the monitor needs to recompute the target.
pub(crate) struct MonitorConfig {
    pub(crate) sources: Sources,
    pub(crate) rounding: Rounding,
    /// Worker threads that exist (the target never exceeds it).
    pub(crate) threads: usize,
    pub(crate) interval: Duration,
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
        let thread = thread::Builder::new()
            .name("weft-monitor".to_string())
            .spawn(move || run(&shared, &config, &stop2))
            .map_err(|e| io::Error::new(e.kind(), format!("weft: cannot spawn the monitor thread: {e}")))?;
        Ok(Monitor { stop, thread: Some(thread) })
    }

    /// Stops the thread and waits for it (it never blocks for longer than
    /// one re-read of a few small files).
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

fn run(shared: &Shared, config: &MonitorConfig, stop: &Stop) {
    let mut next = Instant::now() + config.interval;
    loop {
        {
            let mut stopped = stop.stopped.lock();
            while !*stopped {
                let (guard, timed_out) = stop.cv.wait_until(stopped, next);
                stopped = guard;
                if timed_out {
                    break;
                }
            }
            if *stopped {
                return;
            }
        }
        next = Instant::now() + config.interval;
        let target = recompute(config);
        let before = shared.set_active_workers(target);
        if before != target {
            log::info!("weft: active workers {before} -> {target} (CPU quota or allowed CPUs changed)");
        }
    }
}

/// The target from a fresh read: `min(allowed CPUs, rounded quota,
/// threads)`. Problems are logged the first time the process sees each.
pub(crate) fn recompute(config: &MonitorConfig) -> usize {
    let mut problems = Vec::new();
    let allowed = read_allowed(&config.sources, &mut problems);
    let quota = cgroup::read_quota(&config.sources, &mut problems);
    for p in &problems {
        super::report_once(p);
    }
    worker_count(allowed.len(), quota.map(|q| q.cpus), config.rounding).min(config.threads).max(1)
}
