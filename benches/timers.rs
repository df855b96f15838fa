//! Timer benchmarks: the same workloads on weft (per-worker timer wheels),
//! on weft with a single global-mutex wheel (`Builder::timer_shards(1)`),
//! and on tokio's multi-thread runtime, side by side in one criterion group
//! per workload.
//!
//! Benchmark ids are `<workload>/<runtime>/<workers>`, e.g.
//! `timers_create_cancel/weft/2`, `timers_create_cancel/weft_global_wheel/2`
//! and `timers_create_cancel/tokio/2`.
//!
//! Workloads (identical code on every runtime, written once against the
//! [`Rt`] trait):
//! - `timers_create_cancel`: [`CANCEL_TASKS`] tasks together create
//!   [`CANCEL_TIMERS`] sleeps of 60 s; each is polled once (so it registers
//!   in a wheel) and dropped (so it is cancelled), [`CHUNK`] per task poll
//!   (then the task yields), so neither runtime's cooperative budget lets it
//!   skip a registration. The timeout pattern of a server, where almost
//!   every timer is cancelled.
//! - `timers_fire`: [`FIRE_TIMERS`] tasks each sleep 1-5 ms; every sleep
//!   fires. The time is dominated by the 5 ms wait; what differs is the
//!   firing and waking overhead on top of it.
//!
//! Worker counts: 2 and 4 by default, or `WEFT_BENCH_WORKERS` (comma
//! separated; `support::worker_counts`). Each runtime is built once and
//! kept for the whole run.
//!
//! Criterion settings keep a full run to a couple of minutes on a 2-core
//! machine: `sample_size(10)`, `warm_up_time(500 ms)`,
//! `measurement_time(2 s)`, `SamplingMode::Flat`.
//!
//! Run: `cargo bench --bench timers` (all), `cargo bench --bench timers --
//! timers_fire` (one workload), `cargo bench --bench timers -- --test`
//! (each benchmark once, as a smoke test).

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::fmt::Debug;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// Tasks sharing `timers_create_cancel`'s timers.
const CANCEL_TASKS: usize = 8;
/// Timers created and cancelled per `timers_create_cancel` iteration.
const CANCEL_TIMERS: usize = 100_000;
/// Timers per task poll in `timers_create_cancel` (under the coop budget).
const CHUNK: usize = 100;
/// Sleeps (one per task) per `timers_fire` iteration.
const FIRE_TIMERS: usize = 10_000;

/// Worker counts used when `WEFT_BENCH_WORKERS` is unset or unusable.
const DEFAULT_WORKERS: &[usize] = &[2, 4];

/// The runtime operations the workloads use.
trait Rt: Sized + 'static {
    /// The error a join handle yields.
    type JoinError: Debug;
    /// The runtime's join handle.
    type JoinHandle<T: Send + 'static>: Future<Output = Result<T, Self::JoinError>> + Send + 'static;
    /// The runtime's sleep future.
    type Sleep: Future<Output = ()> + Send + 'static;

    /// Runs `future` to completion on the calling (benchmark) thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Spawns onto the current runtime, from a task or from `block_on`.
    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// A sleep on the current runtime.
    fn sleep(duration: Duration) -> Self::Sleep;
}

struct Weft(weft::Runtime);

impl Weft {
    /// `timer_shards`: `None` for the default (one wheel per worker).
    fn build(workers: usize, timer_shards: Option<usize>) -> Weft {
        let mut builder = weft::Runtime::builder();
        builder.worker_threads(workers);
        if let Some(n) = timer_shards {
            builder.timer_shards(n);
        }
        let rt = builder
            .build()
            .unwrap_or_else(|e| panic!("cannot build a weft runtime with {workers} workers: {e}"));
        Weft(rt)
    }
}

impl Rt for Weft {
    type JoinError = weft::JoinError;
    type JoinHandle<T: Send + 'static> = weft::JoinHandle<T>;
    type Sleep = weft::time::Sleep;

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        weft::spawn(future)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        weft::time::sleep(duration)
    }
}

struct Tokio(tokio::runtime::Runtime);

impl Tokio {
    fn build(workers: usize) -> Tokio {
        Tokio(support::tokio_runtime(workers, support::TokioDrivers::Time))
    }
}

impl Rt for Tokio {
    type JoinError = tokio::task::JoinError;
    type JoinHandle<T: Send + 'static> = tokio::task::JoinHandle<T>;
    type Sleep = tokio::time::Sleep;

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(future)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        tokio::time::sleep(duration)
    }
}

fn timers_create_cancel<R: Rt>(rt: &R) {
    rt.block_on(async {
        let handles: Vec<_> = (0..CANCEL_TASKS)
            .map(|_| {
                let mut left = CANCEL_TIMERS / CANCEL_TASKS;
                R::spawn(poll_fn(move |cx| {
                    // At most `CHUNK` timers per task poll, below both
                    // runtimes' cooperative budget (128): a budget-exhausted
                    // tokio `Sleep` returns Pending without registering, so
                    // larger chunks would let tokio skip most of the work.
                    for _ in 0..CHUNK.min(left) {
                        let sleep = pin!(R::sleep(Duration::from_secs(60)));
                        // Registers the timer; the drop at the end of the
                        // iteration cancels it.
                        assert!(sleep.poll(cx).is_pending(), "a 60 s sleep completed");
                    }
                    left -= CHUNK.min(left);
                    if left == 0 {
                        return Poll::Ready(());
                    }
                    // Yield: back of the queue, with a fresh budget.
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }))
            })
            .collect();
        for handle in handles {
            handle.await.expect("timers_create_cancel: task failed");
        }
    });
}

fn timers_fire<R: Rt>(rt: &R) {
    rt.block_on(async {
        let handles: Vec<_> =
            (0..FIRE_TIMERS).map(|i| R::spawn(R::sleep(Duration::from_millis(1 + (i % 5) as u64)))).collect();
        for handle in handles {
            handle.await.expect("timers_fire: task failed");
        }
    });
}

/// The runtimes of one worker count, built before any measurement.
struct Runtimes {
    workers: usize,
    weft: Weft,
    weft_global_wheel: Weft,
    tokio: Tokio,
}

fn bench_workload(
    c: &mut Criterion,
    all: &[Runtimes],
    name: &str,
    workload_weft: fn(&Weft),
    workload_tokio: fn(&Tokio),
) {
    let mut group = support::flat_group(c, name);
    group.sample_size(10).warm_up_time(Duration::from_millis(500));
    for rts in all {
        let w = rts.workers;
        group.bench_function(BenchmarkId::new("weft", w), |b| b.iter(|| workload_weft(&rts.weft)));
        group.bench_function(BenchmarkId::new("weft_global_wheel", w), |b| {
            b.iter(|| workload_weft(&rts.weft_global_wheel))
        });
        group.bench_function(BenchmarkId::new("tokio", w), |b| b.iter(|| workload_tokio(&rts.tokio)));
    }
    group.finish();
}

fn timers(c: &mut Criterion) {
    let all: Vec<Runtimes> = support::worker_counts(DEFAULT_WORKERS)
        .into_iter()
        .map(|workers| Runtimes {
            workers,
            weft: Weft::build(workers, None),
            weft_global_wheel: Weft::build(workers, Some(1)),
            tokio: Tokio::build(workers),
        })
        .collect();
    bench_workload(
        c,
        &all,
        "timers_create_cancel",
        timers_create_cancel::<Weft>,
        timers_create_cancel::<Tokio>,
    );
    bench_workload(c, &all, "timers_fire", timers_fire::<Weft>, timers_fire::<Tokio>);
}

criterion_group!(benches, timers);
criterion_main!(benches);
