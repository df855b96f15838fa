//! Priority classes under a background burst: how long a request waits
//! from its spawn to its first poll while a burst of CPU-heavy tasks runs,
//! and how much later the burst finishes.
//!
//! Workload, per row:
//! - the burst: [`BURST`] tasks, each spinning for [`BURST_WORK`], spawned
//!   from one task;
//! - beside it, a driver thread spawns [`REQUESTS`] short request tasks, one
//!   every [`REQUEST_PERIOD`] (a plain thread sleeping between spawns: the
//!   runtimes' timers have a 1 ms resolution, too coarse for this period),
//!   and each request records the time from its spawn to its first poll.
//!
//! Rows: weft with requests `Critical` and the burst `Background`, with and
//! without `background_workers(1)`; weft with everything `Normal` (no
//! classes), with and without the cap (which then has nothing to cap); tokio
//! with its defaults (no classes) for reference. Printed: request latency
//! p50 / p99 / max and the burst's completion time.
//!
//! Worker count from `WEFT_BENCH_WORKERS` (the first count; default 2).
//! Run: `cargo bench --bench priority`. Wall-clock figures: meaningful on
//! an idle machine only.

mod support;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use weft::task::{Builder, Priority};

/// Tasks in the burst.
const BURST: usize = 100_000;
/// CPU time each burst task spins for.
const BURST_WORK: Duration = Duration::from_micros(20);
/// Requests per row.
const REQUESTS: usize = 3_000;
/// Time between two request spawns.
const REQUEST_PERIOD: Duration = Duration::from_micros(100);

fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// What one row measured.
struct Row {
    name: String,
    /// Spawn-to-first-poll of each request, ns, sorted.
    latencies: Vec<u64>,
    burst: Duration,
}

/// Shared bookkeeping of one row.
struct Probe {
    latencies: Vec<AtomicU64>,
    burst_left: AtomicUsize,
    started: Instant,
}

impl Probe {
    fn new() -> Arc<Probe> {
        Arc::new(Probe {
            latencies: (0..REQUESTS).map(|_| AtomicU64::new(0)).collect(),
            burst_left: AtomicUsize::new(BURST),
            started: Instant::now(),
        })
    }

    fn since_start_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// A request spawned at `spawned` (ns since start) is polled now.
    fn request_polled(&self, i: usize, spawned: u64) {
        self.latencies[i].store(self.since_start_ns().saturating_sub(spawned), Ordering::Relaxed);
    }

    fn finish(self: Arc<Self>, name: String, burst: Duration) -> Row {
        let mut latencies: Vec<u64> = self.latencies.iter().map(|l| l.load(Ordering::Relaxed)).collect();
        latencies.sort_unstable();
        Row { name, latencies, burst }
    }
}

/// One burst task: spins, and the last one reports.
fn burst_task(
    probe: &Arc<Probe>,
    done: &mpsc::Sender<Instant>,
) -> impl std::future::Future<Output = ()> + Send {
    let (probe, done) = (probe.clone(), done.clone());
    async move {
        spin(BURST_WORK);
        if probe.burst_left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = done.send(Instant::now());
        }
    }
}

/// Spawns the requests from this thread, one per period, with `spawn`.
fn drive_requests(probe: &Arc<Probe>, mut spawn: impl FnMut(usize, u64)) {
    for i in 0..REQUESTS {
        spawn(i, probe.since_start_ns());
        std::thread::sleep(REQUEST_PERIOD);
    }
}

fn weft_row(workers: usize, classes: bool, cap: bool) -> Row {
    let mut builder = weft::Runtime::builder();
    builder.worker_threads(workers);
    if cap {
        builder.background_workers(1);
    }
    let rt = builder.build().expect("weft runtime");
    let (request_class, burst_class) = if classes {
        (Priority::Critical, Priority::Background)
    } else {
        (Priority::Normal, Priority::Normal)
    };
    let probe = Probe::new();
    let (done_tx, done_rx) = mpsc::channel();
    let burst_start = Instant::now();
    {
        let (probe, done_tx) = (probe.clone(), done_tx.clone());
        Builder::new()
            .priority(burst_class)
            .spawn_on(
                async move {
                    for _ in 0..BURST {
                        Builder::new()
                            .priority(burst_class)
                            .spawn(burst_task(&probe, &done_tx))
                            .expect("spawn");
                    }
                },
                rt.handle(),
            )
            .expect("spawn");
    }
    let mut requests = Vec::with_capacity(REQUESTS);
    drive_requests(&probe, |i, spawned| {
        let probe = probe.clone();
        requests.push(
            Builder::new()
                .priority(request_class)
                .spawn_on(async move { probe.request_polled(i, spawned) }, rt.handle())
                .expect("spawn"),
        );
    });
    let burst_end = done_rx.recv().expect("the burst finished");
    rt.block_on(async {
        for r in requests {
            r.await.expect("request");
        }
    });
    let name = format!(
        "weft {}{}",
        if classes { "critical+background" } else { "all normal" },
        if cap { ", background_workers(1)" } else { "" }
    );
    probe.finish(name, burst_end - burst_start)
}

fn tokio_row(workers: usize) -> Row {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).build().expect("tokio runtime");
    let probe = Probe::new();
    let (done_tx, done_rx) = mpsc::channel();
    let burst_start = Instant::now();
    {
        let (probe, done_tx) = (probe.clone(), done_tx.clone());
        rt.spawn(async move {
            for _ in 0..BURST {
                tokio::spawn(burst_task(&probe, &done_tx));
            }
        });
    }
    let mut requests = Vec::with_capacity(REQUESTS);
    drive_requests(&probe, |i, spawned| {
        let probe = probe.clone();
        requests.push(rt.spawn(async move { probe.request_polled(i, spawned) }));
    });
    let burst_end = done_rx.recv().expect("the burst finished");
    rt.block_on(async {
        for r in requests {
            r.await.expect("request");
        }
    });
    probe.finish("tokio (no classes)".to_owned(), burst_end - burst_start)
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_nanos(sorted.get(i).copied().unwrap_or(0))
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes
    // nothing: both run the rows once.
    let workers = support::worker_counts(&[2])[0];
    println!(
        "priority: {REQUESTS} requests every {REQUEST_PERIOD:?} beside a burst of {BURST} tasks x {BURST_WORK:?}, \
         {workers} workers"
    );
    let rows = [
        weft_row(workers, true, false),
        weft_row(workers, true, true),
        weft_row(workers, false, false),
        weft_row(workers, false, true),
        tokio_row(workers),
    ];
    println!(
        "{:<45} {:>12} {:>12} {:>12} {:>14}",
        "row", "request p50", "request p99", "request max", "burst done in"
    );
    for row in &rows {
        println!(
            "{:<45} {:>12.1?} {:>12.1?} {:>12.1?} {:>14.1?}",
            row.name,
            percentile(&row.latencies, 0.5),
            percentile(&row.latencies, 0.99),
            percentile(&row.latencies, 1.0),
            row.burst
        );
    }
}
