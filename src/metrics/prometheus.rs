//! `RuntimeMetrics::to_prometheus`: the Prometheus text exposition format,
//! version 0.0.4.
//!
//! Every metric family is written as one contiguous block: a `# HELP` line,
//! a `# TYPE` line, then its samples. Names start with `weft_`; counters end
//! in `_total`; per-worker series carry a `worker` label (the slot's
//! index), and a spare slot's series also `spare="true"`; the poll-duration histogram has cumulative `_bucket{le=...}`
//! series ending in `le="+Inf"`, then `_sum` (seconds) and `_count`.
//! Durations are in seconds, as Prometheus's base unit.

use super::{RuntimeMetrics, WorkerMetrics};
use crate::rt::task::Priority;
use std::fmt::Write as _;

/// A sample's value: integers are written exactly, floats in Go's `%g`
/// style (what Prometheus's own clients print).
#[derive(Clone, Copy)]
enum Value {
    Int(u64),
    Float(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(v)
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::Int(v as u64)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

/// A string being rendered. Writing to a `String` cannot fail, so the
/// `fmt::Result`s are dropped in one place each.
struct Out(String);

impl Out {
    /// Starts a family: its HELP and TYPE lines.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    /// One sample line, `labels` as (name, unescaped value) pairs.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Value) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (label, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{label}=\"{}\"", escape_label_value(v));
            }
            self.0.push('}');
        }
        self.0.push(' ');
        match value {
            Value::Int(v) => {
                let _ = write!(self.0, "{v}");
            }
            Value::Float(v) => self.0.push_str(&format_float(v)),
        }
        self.0.push('\n');
    }

    /// A family with one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Into<Value>) {
        self.family(name, kind, help);
        self.sample(name, &[], value.into());
    }

    /// A family with one sample per worker slot, labelled `worker="<index>"`
    /// and, for a spare slot, `spare="true"` (`worker_labels`).
    fn per_worker<V: Into<Value>>(
        &mut self,
        m: &RuntimeMetrics,
        name: &str,
        kind: &str,
        help: &str,
        value: impl Fn(&WorkerMetrics) -> V,
    ) {
        self.family(name, kind, help);
        for (i, w) in m.workers.iter().enumerate() {
            let index = i.to_string();
            self.sample(name, &worker_labels(m, i, &index), value(w).into());
        }
    }
}

/// The labels of slot `i`'s series (`index` is `i` as text). A spare slot
/// is marked rather than left out until it first runs: its series then
/// exist from the start, so a counter never appears mid-life with a value
/// that `rate()` would miss, and `{spare!="true"}` selects the workers.
fn worker_labels<'a>(m: &RuntimeMetrics, i: usize, index: &'a str) -> Vec<(&'static str, &'a str)> {
    let mut labels = vec![("worker", index)];
    if i >= m.worker_threads {
        labels.push(("spare", "true"));
    }
    labels
}

/// Escapes a label value: backslash, double quote and line feed
/// (`\\`, `\"`, `\n`), as the 0.0.4 format requires.
fn escape_label_value(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Escapes HELP text: backslash and line feed only.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A float as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes it (the
/// Prometheus clients' format): the shortest decimal that round-trips,
/// with an exponent of at least two digits when the exponent is below -4
/// or at least 21 (`1e-06`, `1.6e-05`, `0.000128`, `1.048576`).
fn format_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let sci = format!("{v:e}"); // shortest round-trip digits, e.g. "1.6e-5"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..21).contains(&exp) {
        return format!("{v}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

/// Seconds in a duration, as a float.
fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

impl RuntimeMetrics {
    /// Renders this snapshot in the Prometheus text exposition format
    /// (version 0.0.4), ready to serve with
    /// `Content-Type: text/plain; version=0.0.4`.
    ///
    /// Families (all names prefixed `weft_`; `{worker}` marks a per-worker
    /// family with a `worker="<index>"` label, one series per worker thread
    /// and one per spare slot, whose series also carry `spare="true"`; see
    /// [`RuntimeMetrics::spare_slots`]):
    ///
    /// - gauges: `weft_workers`, `weft_active_workers`,
    ///   `weft_worker_threads`, `weft_spare_slots`, `weft_alive_tasks`,
    ///   `weft_leaked_tasks`,
    ///   `weft_global_queue_depth`, `weft_compensating_workers`,
    ///   `weft_blocking_threads`, `weft_idle_blocking_threads`,
    ///   `weft_blocking_queue_depth`, `weft_worker_local_queue_depth{worker}`;
    /// - counters: `weft_spawned_tasks_total`, and per worker
    ///   `weft_worker_polls_total`, `weft_worker_busy_seconds_total`,
    ///   `weft_worker_steals_total`, `weft_worker_steal_operations_total`,
    ///   `weft_worker_remote_node_steals_total`, `weft_worker_parks_total`,
    ///   `weft_worker_retirements_total`, `weft_worker_runnext_hits_total`,
    ///   `weft_worker_overflows_total`, `weft_worker_injector_pulls_total`,
    ///   `weft_worker_netpoll_events_total`, `weft_worker_timers_fired_total`,
    ///   `weft_worker_stalls_total`, `weft_worker_descheduled_polls_total`,
    ///   `weft_worker_cpu_wait_seconds_total`, and with a cgroup CPU quota
    ///   `weft_cgroup_cpu_periods_total`,
    ///   `weft_cgroup_cpu_throttled_periods_total`,
    ///   `weft_cgroup_cpu_throttled_seconds_total`;
    /// - per priority class, labelled `class="critical"`, `"normal"` or
    ///   `"background"`: the counter `weft_task_polls_total{class}` and the
    ///   gauge `weft_class_queue_depth{class}` (worker queues and injector),
    ///   and the histogram `weft_class_schedule_latency_seconds{class}`
    ///   (the schedule-latency samples of that class, all workers);
    /// - histogram: `weft_poll_duration_seconds{worker}`, buckets 1 µs to
    ///   1.048576 s by powers of two, then +Inf. It is a sample: a worker
    ///   times one poll in 32, so `_count` is the number of sampled polls
    ///   (a 32nd of `weft_worker_polls_total`, less sampled polls that
    ///   called `block_in_place`) and `_sum` their total duration in
    ///   seconds. `_sum` is not the busy time
    ///   (`weft_worker_busy_seconds_total`, which also counts unsampled
    ///   polls, searching and I/O); see [`PollHistogram`](crate::metrics::PollHistogram).
    /// - histogram: `weft_schedule_latency_seconds{worker}`, the same
    ///   buckets: the time from a task becoming runnable to its poll
    ///   starting on that worker, for one notification in 32 per queuing
    ///   thread; see
    ///   [`WorkerMetrics::schedule_latency_histogram`](crate::metrics::WorkerMetrics::schedule_latency_histogram).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    /// let text = rt.metrics().to_prometheus();
    /// assert!(text.lines().any(|l| l == "weft_workers 2"));
    /// assert!(text.contains("# TYPE weft_poll_duration_seconds histogram"));
    /// // Serve `text` on /metrics with content type `text/plain; version=0.0.4`.
    /// ```
    pub fn to_prometheus(&self) -> String {
        let mut out = Out(String::with_capacity(4096 + 3072 * self.workers.len()));
        let o = &mut out;
        o.single("weft_workers", "gauge", "Worker count chosen at build time.", self.num_workers);
        o.single(
            "weft_active_workers",
            "gauge",
            "Workers currently allowed to run tasks.",
            self.active_workers,
        );
        o.single(
            "weft_worker_threads",
            "gauge",
            "Worker threads that exist (spare slots not counted).",
            self.worker_threads,
        );
        o.single(
            "weft_spare_slots",
            "gauge",
            "Spare worker slots, run only to compensate for a blocked worker.",
            self.spare_slots(),
        );
        o.single(
            "weft_compensating_workers",
            "gauge",
            "Extra workers let in for stalled or block_in_place workers.",
            self.compensating_workers,
        );
        o.single("weft_alive_tasks", "gauge", "Tasks spawned and not yet completed.", self.num_alive_tasks);
        o.single(
            "weft_leaked_tasks",
            "gauge",
            "Idle tasks of which no waker exists: they can never be polled again.",
            self.leaked_tasks,
        );
        o.single(
            "weft_spawned_tasks_total",
            "counter",
            "Tasks spawned since the runtime started.",
            self.spawned_tasks_count,
        );
        o.single(
            "weft_global_queue_depth",
            "gauge",
            "Tasks waiting in the global injector queue.",
            self.global_queue_depth,
        );

        o.single(
            "weft_blocking_threads",
            "gauge",
            "Threads alive in the spawn_blocking pool.",
            self.blocking_threads(),
        );
        o.single(
            "weft_idle_blocking_threads",
            "gauge",
            "Blocking-pool threads waiting for work.",
            self.idle_blocking_threads(),
        );
        o.single(
            "weft_blocking_queue_depth",
            "gauge",
            "spawn_blocking closures waiting for a thread.",
            self.blocking_queue_depth(),
        );

        o.per_worker(
            self,
            "weft_worker_local_queue_depth",
            "gauge",
            "Tasks in the worker's local queue.",
            |w| w.local_queue_depth,
        );
        o.per_worker(self, "weft_worker_polls_total", "counter", "Task polls run by the worker.", |w| {
            w.polls
        });
        o.per_worker(
            self,
            "weft_worker_busy_seconds_total",
            "counter",
            "Time the worker was not parked (running, searching, dispatching).",
            |w| secs(w.busy_duration()),
        );
        o.per_worker(
            self,
            "weft_worker_steals_total",
            "counter",
            "Tasks the worker stole from other workers.",
            |w| w.steals,
        );
        o.per_worker(
            self,
            "weft_worker_steal_operations_total",
            "counter",
            "Successful steal operations.",
            |w| w.steal_operations,
        );
        o.per_worker(
            self,
            "weft_worker_remote_node_steals_total",
            "counter",
            "Steal operations from a worker on another NUMA node.",
            |w| w.remote_node_steals,
        );
        o.per_worker(self, "weft_worker_parks_total", "counter", "Times the worker parked.", |w| w.parks);
        o.per_worker(
            self,
            "weft_worker_retirements_total",
            "counter",
            "Times the worker retired below the active-worker target.",
            |w| w.retirements,
        );
        o.per_worker(
            self,
            "weft_worker_runnext_hits_total",
            "counter",
            "Polls taken from the runnext slot.",
            |w| w.runnext_hits,
        );
        o.per_worker(
            self,
            "weft_worker_overflows_total",
            "counter",
            "Times the local queue overflowed half of itself into the global queue.",
            |w| w.overflows,
        );
        o.per_worker(
            self,
            "weft_worker_injector_pulls_total",
            "counter",
            "Times the worker took tasks from the global queue.",
            |w| w.injector_pulls,
        );
        o.per_worker(
            self,
            "weft_worker_netpoll_events_total",
            "counter",
            "I/O events returned by the worker's netpolls.",
            |w| w.netpoll_events,
        );
        o.per_worker(self, "weft_worker_timers_fired_total", "counter", "Timers the worker fired.", |w| {
            w.timers_fired
        });
        o.per_worker(
            self,
            "weft_worker_stalls_total",
            "counter",
            "Polls on the worker that ran past the monitor's stall threshold.",
            |w| w.stalls,
        );
        o.per_worker(
            self,
            "weft_worker_descheduled_polls_total",
            "counter",
            "Polls long in wall time only because the worker thread waited for a CPU (not stalls).",
            |w| w.descheduled_polls,
        );
        o.per_worker(
            self,
            "weft_worker_cpu_wait_seconds_total",
            "counter",
            "Time the worker thread was runnable but waiting for a CPU (throttling included).",
            |w| secs(w.cpu_wait()),
        );
        if let Some(t) = self.cpu_throttling() {
            o.single(
                "weft_cgroup_cpu_periods_total",
                "counter",
                "CPU quota enforcement periods of the runtime's quota cgroup.",
                t.periods(),
            );
            o.single(
                "weft_cgroup_cpu_throttled_periods_total",
                "counter",
                "Periods in which the quota cgroup used up its CPU quota and was throttled.",
                t.throttled_periods(),
            );
            o.single(
                "weft_cgroup_cpu_throttled_seconds_total",
                "counter",
                "Time the quota cgroup's threads spent throttled.",
                secs(t.throttled_time()),
            );
        }
        self.write_classes(o);
        self.write_poll_histogram(o);
        self.write_schedule_latency_histogram(o);
        out.0
    }

    /// The per-class families, one series per class labelled
    /// `class="critical"` etc.
    fn write_classes(&self, o: &mut Out) {
        const POLLS: &str = "weft_task_polls_total";
        o.family(POLLS, "counter", "Task polls by priority class.");
        for class in Priority::ALL {
            o.sample(POLLS, &[("class", class.as_str())], self.polls_by_class(class).into());
        }
        const DEPTH: &str = "weft_class_queue_depth";
        o.family(DEPTH, "gauge", "Tasks waiting to run by priority class (worker queues and injector).");
        for class in Priority::ALL {
            o.sample(DEPTH, &[("class", class.as_str())], self.queue_depth_by_class(class).into());
        }
        const LATENCY: &str = "weft_class_schedule_latency_seconds";
        o.family(
            LATENCY,
            "histogram",
            "weft_schedule_latency_seconds by priority class, all workers together.",
        );
        for class in Priority::ALL {
            let h = self.schedule_latency_histogram_by_class(class);
            let labels = [("class", class.as_str())];
            for (bound, count) in h.cumulative() {
                let le = bound.map_or_else(|| "+Inf".to_string(), |b| format_float(secs(b)));
                o.sample(&format!("{LATENCY}_bucket"), &[labels[0], ("le", &le)], count.into());
            }
            o.sample(&format!("{LATENCY}_sum"), &labels, secs(h.sum()).into());
            o.sample(&format!("{LATENCY}_count"), &labels, h.total_count().into());
        }
    }

    /// The `weft_poll_duration_seconds` histogram, one series per worker.
    fn write_poll_histogram(&self, o: &mut Out) {
        const NAME: &str = "weft_poll_duration_seconds";
        o.family(
            NAME,
            "histogram",
            "Duration of a sample of task polls (one poll in 32 is timed; _sum is the sampled polls' time).",
        );
        for (i, w) in self.workers.iter().enumerate() {
            let index = i.to_string();
            let labels = worker_labels(self, i, &index);
            let h = w.poll_histogram();
            for (bound, count) in h.cumulative() {
                let le = bound.map_or_else(|| "+Inf".to_string(), |b| format_float(secs(b)));
                let mut bucket = labels.clone();
                bucket.push(("le", &le));
                o.sample("weft_poll_duration_seconds_bucket", &bucket, count.into());
            }
            o.sample("weft_poll_duration_seconds_sum", &labels, secs(h.sum()).into());
            o.sample("weft_poll_duration_seconds_count", &labels, h.total_count().into());
        }
    }

    /// The `weft_schedule_latency_seconds` histogram, one series per worker.
    fn write_schedule_latency_histogram(&self, o: &mut Out) {
        o.family(
            "weft_schedule_latency_seconds",
            "histogram",
            "Time from a task becoming runnable to its poll starting, for a sample of the notifications (one in 32 per queuing thread).",
        );
        for (i, w) in self.workers.iter().enumerate() {
            let index = i.to_string();
            let labels = worker_labels(self, i, &index);
            let h = w.schedule_latency_histogram();
            for (bound, count) in h.cumulative() {
                let le = bound.map_or_else(|| "+Inf".to_string(), |b| format_float(secs(b)));
                let mut bucket = labels.clone();
                bucket.push(("le", &le));
                o.sample("weft_schedule_latency_seconds_bucket", &bucket, count.into());
            }
            o.sample("weft_schedule_latency_seconds_sum", &labels, secs(h.sum()).into());
            o.sample("weft_schedule_latency_seconds_count", &labels, h.total_count().into());
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::metrics::{CpuThrottling, PollHistogram};

    #[test]
    fn floats_are_written_as_go_writes_them() {
        assert_eq!(format_float(1e-6), "1e-06");
        assert_eq!(format_float(1.6e-5), "1.6e-05");
        assert_eq!(format_float(0.000128), "0.000128");
        assert_eq!(format_float(0.032768), "0.032768");
        assert_eq!(format_float(1.048576), "1.048576");
        assert_eq!(format_float(2.5), "2.5");
        assert_eq!(format_float(0.0), "0");
        assert_eq!(format_float(1e21), "1e+21");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NAN), "NaN");
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label_value(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label_value("x\ny"), "x\\ny");
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
    }

    fn snapshot() -> RuntimeMetrics {
        let mut counts = [0; PollHistogram::BUCKETS];
        counts[0] = 3;
        counts[15] = 1;
        counts[PollHistogram::BUCKETS - 1] = 2;
        let w0 = WorkerMetrics {
            polls: 6,
            netpoll_events: 4,
            busy_ns: 2_500_000_000,
            poll_histogram: PollHistogram::new(counts, 2_500_000_000),
            descheduled_polls: 7,
            cpu_wait_ns: 1_500_000_000,
            class_polls: [1, 3, 2],
            class_queue_depth: [0, 1, 0],
            ..WorkerMetrics::default()
        };
        RuntimeMetrics {
            num_workers: 1,
            active_workers: 1,
            worker_threads: 1,
            compensating_workers: 0,
            num_alive_tasks: 1,
            leaked_tasks: 1,
            spawned_tasks_count: 9,
            global_queue_depth: 0,
            global_queue_depth_by_class: [0, 0, 4],
            blocking_threads: 1,
            idle_blocking_threads: 1,
            blocking_queue_depth: 0,
            workers: vec![w0, WorkerMetrics::default()],
            cpu_throttling: Some(CpuThrottling {
                periods: 30,
                throttled_periods: 12,
                throttled_ns: 600_000_000,
            }),
        }
    }

    #[test]
    fn polls_and_queue_depth_carry_a_class_label() {
        let text = snapshot().to_prometheus();
        let lines: Vec<&str> = text.lines().collect();
        let has = |l: &str| lines.contains(&l);
        assert!(has("# TYPE weft_task_polls_total counter"), "{text}");
        assert!(has(r#"weft_task_polls_total{class="critical"} 1"#), "{text}");
        assert!(has(r#"weft_task_polls_total{class="normal"} 3"#), "{text}");
        assert!(has(r#"weft_task_polls_total{class="background"} 2"#), "{text}");
        assert!(has(r#"weft_class_queue_depth{class="normal"} 1"#), "{text}");
        assert!(has(r#"weft_class_queue_depth{class="background"} 4"#), "{text}");
        assert!(has(r#"weft_class_schedule_latency_seconds_count{class="critical"} 0"#), "{text}");
        assert!(
            has(r#"weft_class_schedule_latency_seconds_bucket{class="background",le="+Inf"} 0"#),
            "{text}"
        );
    }

    #[test]
    fn throttling_and_descheduled_time_are_exposed() {
        let text = snapshot().to_prometheus();
        let lines: Vec<&str> = text.lines().collect();
        let has = |l: &str| lines.contains(&l);
        assert!(has("# TYPE weft_cgroup_cpu_throttled_periods_total counter"), "{text}");
        assert!(has("weft_cgroup_cpu_periods_total 30"), "{text}");
        assert!(has("weft_cgroup_cpu_throttled_periods_total 12"), "{text}");
        assert!(has("weft_cgroup_cpu_throttled_seconds_total 0.6"), "{text}");
        assert!(has(r#"weft_worker_descheduled_polls_total{worker="0"} 7"#), "{text}");
        assert!(has(r#"weft_worker_cpu_wait_seconds_total{worker="0"} 1.5"#), "{text}");
        let mut none = snapshot();
        none.cpu_throttling = None;
        assert!(!none.to_prometheus().contains("weft_cgroup_cpu"), "no quota, no throttling families");
    }

    #[test]
    fn the_histogram_is_cumulative_with_sum_and_count() {
        let text = snapshot().to_prometheus();
        let lines: Vec<&str> = text.lines().collect();
        let has = |l: &str| lines.contains(&l);
        assert!(has("# TYPE weft_poll_duration_seconds histogram"), "{text}");
        assert!(has(r#"weft_poll_duration_seconds_bucket{worker="0",le="1e-06"} 3"#), "{text}");
        assert!(has(r#"weft_poll_duration_seconds_bucket{worker="0",le="0.016384"} 3"#), "{text}");
        assert!(has(r#"weft_poll_duration_seconds_bucket{worker="0",le="0.032768"} 4"#), "{text}");
        assert!(has(r#"weft_poll_duration_seconds_bucket{worker="0",le="1.048576"} 4"#), "{text}");
        assert!(has(r#"weft_poll_duration_seconds_bucket{worker="0",le="+Inf"} 6"#), "{text}");
        assert!(has(r#"weft_poll_duration_seconds_sum{worker="0"} 2.5"#), "{text}");
        assert!(has(r#"weft_poll_duration_seconds_count{worker="0"} 6"#), "{text}");
        assert!(has(r#"weft_poll_duration_seconds_count{worker="1",spare="true"} 0"#), "{text}");
        assert!(has(r#"weft_worker_busy_seconds_total{worker="0"} 2.5"#), "{text}");
        assert!(has(r#"weft_worker_netpoll_events_total{worker="0"} 4"#), "{text}");
        assert!(has("weft_spawned_tasks_total 9"), "{text}");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn spare_slots_series_carry_a_spare_label() {
        // One worker thread and one spare slot (the second entry).
        let text = snapshot().to_prometheus();
        let lines: Vec<&str> = text.lines().collect();
        let has = |l: &str| lines.contains(&l);
        assert!(has(r#"weft_worker_polls_total{worker="0"} 6"#), "{text}");
        assert!(has(r#"weft_worker_polls_total{worker="1",spare="true"} 0"#), "{text}");
        assert!(has(r#"weft_poll_duration_seconds_bucket{worker="1",spare="true",le="+Inf"} 0"#), "{text}");
        assert!(has(r#"weft_poll_duration_seconds_sum{worker="1",spare="true"} 0"#), "{text}");
        for line in lines.iter().filter(|l| l.contains(r#"worker="0""#)) {
            assert!(!line.contains("spare"), "a worker thread's series is not marked: {line}");
        }
        for line in lines.iter().filter(|l| l.contains(r#"worker="1""#)) {
            assert!(line.contains(r#"spare="true""#), "a spare slot's series is marked: {line}");
        }
    }

    #[test]
    fn every_family_is_declared_once_before_its_samples() {
        let text = snapshot().to_prometheus();
        let mut declared: Vec<&str> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap();
                assert!(!declared.contains(&name), "{name} declared twice");
                declared.push(name);
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                let family = declared.last().expect("a sample before any TYPE");
                assert!(name.starts_with(family), "{name} outside its family block (in {family})");
            }
        }
        assert!(declared.iter().all(|n| n.starts_with("weft_")));
    }
}
