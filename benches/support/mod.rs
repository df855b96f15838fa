//! What the benches share: the worker counts to run, the runtimes they
//! compare and criterion's usual settings. Each bench includes it with
//! `mod support;` and uses the part it needs (hence `dead_code` allowed:
//! every bench is its own crate).
//!
//! A directory module, not `benches/support.rs`: cargo would take a
//! `.rs` file directly under `benches/` for a bench target of its own.

#![allow(dead_code)]

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};
use std::future::Future;
use std::time::Duration;

/// The worker counts to run: `WEFT_BENCH_WORKERS` (comma-separated, e.g.
/// "2,4,8"), or `default` if it is unset or unusable (said once on
/// stderr, never a panic).
pub fn worker_counts(default: &[usize]) -> Vec<usize> {
    let Ok(raw) = std::env::var("WEFT_BENCH_WORKERS") else {
        return default.to_vec();
    };
    match parse_worker_counts(&raw) {
        Ok(counts) => counts,
        Err(why) => {
            eprintln!("WEFT_BENCH_WORKERS={raw:?} ignored ({why}); using the default {default:?}");
            default.to_vec()
        }
    }
}

/// The counts in `raw`, in order, each once; an error names the first
/// part that is not a positive count, or says that none was given.
pub fn parse_worker_counts(raw: &str) -> Result<Vec<usize>, String> {
    let mut counts = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<usize>() {
            Ok(0) => return Err("a worker count of 0 is invalid".to_owned()),
            Ok(n) if !counts.contains(&n) => counts.push(n),
            Ok(_) => {}
            Err(e) => return Err(format!("{part:?} is not a worker count: {e}")),
        }
    }
    if counts.is_empty() {
        return Err("no worker counts given".to_owned());
    }
    Ok(counts)
}

/// A weft runtime with `workers` workers and the default configuration,
/// except the flight recorder's ring size when `WEFT_BENCH_FLIGHT_RECORDER`
/// holds a number of events (0: off), to measure the recorder's cost with
/// the same binary (an unusable value is said once on stderr and ignored).
pub fn weft_runtime(workers: usize) -> weft::Runtime {
    let mut builder = weft::Runtime::builder();
    builder.worker_threads(workers);
    if let Ok(raw) = std::env::var("WEFT_BENCH_FLIGHT_RECORDER") {
        match raw.trim().parse::<usize>() {
            Ok(events) => {
                builder.flight_recorder(events);
            }
            Err(e) => {
                static TOLD: std::sync::Once = std::sync::Once::new();
                TOLD.call_once(|| eprintln!("WEFT_BENCH_FLIGHT_RECORDER={raw:?} ignored ({e})"));
            }
        }
    }
    builder.build().unwrap_or_else(|e| panic!("cannot build a weft runtime with {workers} workers: {e}"))
}

/// Which of tokio's drivers a bench's tokio runtime has: only those its
/// workload needs, since an enabled I/O driver changes how tokio's idle
/// workers park.
#[derive(Clone, Copy, Debug)]
pub enum TokioDrivers {
    /// Scheduler only (channels, sync primitives, `select!`, the blocking
    /// pool).
    None,
    /// The timer.
    Time,
    /// Every driver (I/O, time, signals: sockets and processes).
    All,
}

/// A tokio multi-thread runtime with `workers` workers and `drivers`.
pub fn tokio_runtime(workers: usize, drivers: TokioDrivers) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(workers);
    match drivers {
        TokioDrivers::None => {}
        TokioDrivers::Time => {
            builder.enable_time();
        }
        TokioDrivers::All => {
            builder.enable_all();
        }
    }
    builder.build().unwrap_or_else(|e| panic!("cannot build a tokio runtime with {workers} workers: {e}"))
}

/// A benchmark group with the settings most benches use: 20 samples, 1 s
/// warm-up, 2 s measurement, flat sampling (each sample runs the same
/// number of iterations, which suits workloads of milliseconds). A bench
/// that needs other settings changes them on the group.
pub fn flat_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sampling_mode(SamplingMode::Flat);
    group
}

/// One weft and one tokio runtime per worker count, built before any
/// measurement.
pub struct Runtimes {
    pub pairs: Vec<(usize, weft::Runtime, tokio::runtime::Runtime)>,
}

impl Runtimes {
    pub fn build(counts: &[usize], tokio_drivers: TokioDrivers) -> Runtimes {
        Runtimes {
            pairs: counts.iter().map(|&n| (n, weft_runtime(n), tokio_runtime(n, tokio_drivers))).collect(),
        }
    }
}

/// A workload: the future one iteration runs to completion with
/// `block_on`.
pub type Workload<F> = fn() -> F;

/// One [`flat_group`] named `name`: for each worker count, `on_weft` on
/// the weft runtime beside `on_tokio` on the tokio runtime, with ids
/// `weft/<workers>` and `tokio/<workers>`.
pub fn bench_pair<FW, FT>(
    c: &mut Criterion,
    runtimes: &Runtimes,
    name: &str,
    on_weft: Workload<FW>,
    on_tokio: Workload<FT>,
) where
    FW: Future<Output = ()>,
    FT: Future<Output = ()>,
{
    let mut group = flat_group(c, name);
    for (workers, weft_rt, tokio_rt) in &runtimes.pairs {
        group.bench_function(BenchmarkId::new("weft", workers), |b| b.iter(|| weft_rt.block_on(on_weft())));
        group
            .bench_function(BenchmarkId::new("tokio", workers), |b| b.iter(|| tokio_rt.block_on(on_tokio())));
    }
    group.finish();
}
