//! The periodic scheduler trace line (`WEFT_SCHEDTRACE=ms`,
//! `Builder::sched_trace`), Go's `GODEBUG=schedtrace` for weft: what the
//! workers and queues hold right now, one line per period, written to
//! stderr by the runtime's monitor thread.
//!
//! The fields are described in the `metrics` module docs.

use super::RuntimeMetrics;
use crate::rt::scheduler::Shared;
use std::fmt::Write;
use std::time::Duration;

/// The line for `shared` at `uptime` since the monitor started.
pub(crate) fn line(shared: &Shared, uptime: Duration) -> String {
    let m = RuntimeMetrics::capture(shared);
    let idle = shared.idle_state();
    let mut local = String::new();
    for (k, w) in m.workers().iter().take(m.worker_threads()).enumerate() {
        let sep = if k == 0 { "" } else { " " };
        let _ = write!(local, "{sep}{}", w.local_queue_depth());
    }
    let alive = m.num_alive_tasks() as u64;
    format!(
        "weft-sched {}ms: workers={} active={} unparked={} searching={} compensating={} tasks={} spawned={} \
         completed={} injector={} local=[{local}] polls={} stalls={} blocking={}/{} blocking_queue={}",
        uptime.as_millis(),
        m.worker_threads(),
        m.active_workers(),
        idle.num_unparked(),
        idle.num_searching(),
        m.compensating_workers(),
        alive,
        m.spawned_tasks_count(),
        m.spawned_tasks_count().saturating_sub(alive),
        m.global_queue_depth(),
        m.total_polls(),
        m.total_stalls(),
        m.blocking_threads() - m.idle_blocking_threads(),
        m.blocking_threads(),
        m.blocking_queue_depth(),
    )
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_every_field_with_the_runtimes_figures() {
        let rt = crate::Runtime::builder().worker_threads(2).build().unwrap();
        let n = rt.block_on(async {
            let handles: Vec<_> = (0..5).map(|i| crate::spawn(async move { i })).collect();
            let mut n = 0;
            for h in handles {
                n += h.await.unwrap();
            }
            n
        });
        assert_eq!(n, 10);
        let line = line(&rt.handle().inner.shared, Duration::from_millis(1234));
        assert!(line.starts_with("weft-sched 1234ms: workers=2 active=2 "), "{line}");
        for field in [
            "unparked=",
            "searching=",
            "compensating=0",
            "tasks=0",
            "spawned=5",
            "completed=5",
            "injector=0",
            "local=[0 0]",
            "polls=",
            "stalls=0",
            "blocking=0/0",
            "blocking_queue=0",
        ] {
            assert!(line.contains(field), "{field} missing from {line}");
        }
    }
}
