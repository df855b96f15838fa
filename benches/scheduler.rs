//! Scheduler benchmarks: the same workloads on weft and on tokio's
//! multi-thread runtime, side by side in one criterion group per workload.
//!
//! Benchmark ids are `<workload>/<runtime>/<workers>`, e.g.
//! `spawn_many_local/weft/2` beside `spawn_many_local/tokio/2`.
//! `benches/compare.py` turns criterion's estimates into a weft/tokio table.
//!
//! Workloads (identical code on both runtimes, written once against the
//! [`Rt`] trait and monomorphised for each, so neither side pays for dynamic
//! dispatch the other does not):
//! - `spawn_many_local`: one task spawns [`SPAWN_COUNT`] tasks; each ticks a
//!   countdown, the last one signals completion through a oneshot.
//! - `spawn_many_remote_idle`: [`SPAWN_COUNT`] `Runtime::spawn` calls from the
//!   benchmark thread (outside the runtime, which is idle), then `block_on`
//!   awaits every handle.
//! - `yield_many`: [`YIELD_TASKS`] tasks, each yielding [`YIELDS_PER_TASK`]
//!   times; `block_on` awaits every handle.
//! - `ping_pong`: [`PING_COUNT`] tasks spawned from `block_on`; each spawns a
//!   partner and the two exchange a ping and a pong over two oneshots; the
//!   pinger then ticks a countdown as in `spawn_many_local`.
//! - `chained_spawn`: a chain of [`CHAIN_LENGTH`] tasks, each spawning the
//!   next; the last one signals completion through a oneshot.
//!
//! Synchronisation uses only primitives that do not depend on either runtime:
//! `std` atomics and mutexes and `tokio::sync::oneshot` (which works on any
//! executor).
//!
//! Worker counts: 2 and 4 by default; set `WEFT_BENCH_WORKERS` to a
//! comma-separated list (e.g. `WEFT_BENCH_WORKERS=2,4,8`) to choose others.
//! Each (runtime, worker count) pair is built once, before any measurement,
//! and kept for the whole run; idle workers of both runtimes park.
//!
//! Criterion settings, kept modest so a default run (5 workloads x 2
//! runtimes x 2 worker counts = 20 benchmarks) finishes in a few minutes on a
//! 2-core machine:
//! - `sample_size(20)`: 20 samples per benchmark.
//! - `warm_up_time(1 s)`, `measurement_time(2 s)`.
//! - `SamplingMode::Flat`: every sample runs the same number of iterations.
//!   One iteration takes milliseconds, so criterion's default linear mode
//!   (1 + 2 + ... + 20 iterations) would overrun the measurement time.
//!
//! Run: `cargo bench --bench scheduler` (all), `cargo bench --bench scheduler
//! -- ping_pong` (one workload), `cargo bench --bench scheduler -- --test`
//! (each benchmark once, as a smoke test).

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Tasks spawned by `spawn_many_local` and `spawn_many_remote_idle`.
const SPAWN_COUNT: usize = 10_000;
/// Tasks in `yield_many`.
const YIELD_TASKS: usize = 200;
/// `yield_now` calls per task in `yield_many`.
const YIELDS_PER_TASK: usize = 1_000;
/// Ping-pong pairs in `ping_pong`.
const PING_COUNT: usize = 1_000;
/// Tasks in the `chained_spawn` chain.
const CHAIN_LENGTH: usize = 1_000;

/// Worker counts used when `WEFT_BENCH_WORKERS` is unset or unusable.
const DEFAULT_WORKERS: &[usize] = &[2, 4];

/// The runtime operations the workloads use, implemented by weft and tokio.
trait Rt: Sized + 'static {
    /// The name in benchmark ids.
    const NAME: &'static str;
    /// The error a join handle yields.
    type JoinError: Debug;
    /// The runtime's join handle.
    type JoinHandle<T: Send + 'static>: Future<Output = Result<T, Self::JoinError>> + Send + 'static;

    /// A multi-thread runtime with `workers` worker threads.
    fn build(workers: usize) -> Self;

    /// Runs `future` to completion on the calling (benchmark) thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Spawns from outside the runtime (the benchmark thread).
    fn spawn_remote<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns onto the current runtime, from a task or from `block_on`.
    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Yields once to the scheduler.
    fn yield_now() -> impl Future<Output = ()> + Send;
}

struct Weft(weft::Runtime);

impl Rt for Weft {
    const NAME: &'static str = "weft";
    type JoinError = weft::JoinError;
    type JoinHandle<T: Send + 'static> = weft::JoinHandle<T>;

    fn build(workers: usize) -> Self {
        Weft(support::weft_runtime(workers))
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn_remote<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(future)
    }

    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        weft::spawn(future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        weft::task::yield_now()
    }
}

struct Tokio(tokio::runtime::Runtime);

impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    type JoinError = tokio::task::JoinError;
    type JoinHandle<T: Send + 'static> = tokio::task::JoinHandle<T>;

    fn build(workers: usize) -> Self {
        Tokio(support::tokio_runtime(workers, support::TokioDrivers::None))
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawn_remote<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(future)
    }

    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

/// Counts tasks down; the task that brings the count to zero sends on a
/// oneshot that `block_on` awaits.
struct Countdown {
    remaining: AtomicUsize,
    done: Mutex<Option<oneshot::Sender<()>>>,
}

impl Countdown {
    fn new(count: usize) -> (Arc<Countdown>, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let countdown = Countdown { remaining: AtomicUsize::new(count), done: Mutex::new(Some(tx)) };
        (Arc::new(countdown), rx)
    }

    fn tick(&self) {
        // Relaxed is enough: only the count itself matters here (the RMW
        // guarantees exactly one task sees 1), and the oneshot's send/receive
        // is what orders completion with the waiting `block_on`.
        if self.remaining.fetch_sub(1, Ordering::Relaxed) == 1 {
            let tx = self.done.lock().unwrap().take().expect("countdown finished twice");
            tx.send(()).expect("block_on stopped waiting for the countdown");
        }
    }
}

fn spawn_many_local<R: Rt>(rt: &R) {
    rt.block_on(async {
        let (countdown, done) = Countdown::new(SPAWN_COUNT);
        // The spawner is itself a task, so the 10,000 spawns take the
        // worker-local path, not the remote (injector) one.
        drop(R::spawn(async move {
            for _ in 0..SPAWN_COUNT {
                let countdown = countdown.clone();
                drop(R::spawn(async move { countdown.tick() }));
            }
        }));
        done.await.expect("spawn_many_local: countdown sender dropped");
    });
}

fn spawn_many_remote_idle<R: Rt>(rt: &R) {
    let handles: Vec<_> = (0..SPAWN_COUNT).map(|_| rt.spawn_remote(async {})).collect();
    rt.block_on(async {
        for handle in handles {
            handle.await.expect("spawn_many_remote_idle: task failed");
        }
    });
}

fn yield_many<R: Rt>(rt: &R) {
    rt.block_on(async {
        let handles: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                R::spawn(async {
                    for _ in 0..YIELDS_PER_TASK {
                        R::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("yield_many: task failed");
        }
    });
}

fn ping_pong<R: Rt>(rt: &R) {
    rt.block_on(async {
        let (countdown, done) = Countdown::new(PING_COUNT);
        for _ in 0..PING_COUNT {
            let countdown = countdown.clone();
            drop(R::spawn(async move {
                let (ping_tx, ping_rx) = oneshot::channel::<()>();
                let (pong_tx, pong_rx) = oneshot::channel::<()>();
                drop(R::spawn(async move {
                    ping_rx.await.expect("ping_pong: ping sender dropped");
                    pong_tx.send(()).expect("ping_pong: pong receiver dropped");
                }));
                ping_tx.send(()).expect("ping_pong: ping receiver dropped");
                pong_rx.await.expect("ping_pong: pong sender dropped");
                countdown.tick();
            }));
        }
        done.await.expect("ping_pong: countdown sender dropped");
    });
}

/// One link of `chained_spawn`: runs inside a task; spawns the next link
/// while `left > 0`, else signals completion.
fn chain_link<R: Rt>(done: oneshot::Sender<()>, left: usize) {
    if left == 0 {
        done.send(()).expect("chained_spawn: receiver dropped");
    } else {
        drop(R::spawn(async move { chain_link::<R>(done, left - 1) }));
    }
}

fn chained_spawn<R: Rt>(rt: &R) {
    rt.block_on(async {
        let (tx, rx) = oneshot::channel();
        // The first task plus CHAIN_LENGTH - 1 links: CHAIN_LENGTH tasks.
        drop(R::spawn(async move { chain_link::<R>(tx, CHAIN_LENGTH - 1) }));
        rx.await.expect("chained_spawn: chain dropped its sender");
    });
}

/// One runtime of each kind per worker count, built before any measurement.
struct Runtimes {
    pairs: Vec<(usize, Weft, Tokio)>,
}

impl Runtimes {
    fn build(counts: &[usize]) -> Runtimes {
        Runtimes { pairs: counts.iter().map(|&n| (n, Weft::build(n), Tokio::build(n))).collect() }
    }
}

fn bench_workload(
    c: &mut Criterion,
    runtimes: &Runtimes,
    name: &str,
    workload_weft: fn(&Weft),
    workload_tokio: fn(&Tokio),
) {
    let mut group = support::flat_group(c, name);
    for (workers, weft_rt, tokio_rt) in &runtimes.pairs {
        group.bench_function(BenchmarkId::new(Weft::NAME, workers), |b| b.iter(|| workload_weft(weft_rt)));
        group.bench_function(BenchmarkId::new(Tokio::NAME, workers), |b| b.iter(|| workload_tokio(tokio_rt)));
    }
    group.finish();
}

fn scheduler(c: &mut Criterion) {
    let runtimes = Runtimes::build(&support::worker_counts(DEFAULT_WORKERS));
    bench_workload(c, &runtimes, "spawn_many_local", spawn_many_local::<Weft>, spawn_many_local::<Tokio>);
    bench_workload(
        c,
        &runtimes,
        "spawn_many_remote_idle",
        spawn_many_remote_idle::<Weft>,
        spawn_many_remote_idle::<Tokio>,
    );
    bench_workload(c, &runtimes, "yield_many", yield_many::<Weft>, yield_many::<Tokio>);
    bench_workload(c, &runtimes, "ping_pong", ping_pong::<Weft>, ping_pong::<Tokio>);
    bench_workload(c, &runtimes, "chained_spawn", chained_spawn::<Weft>, chained_spawn::<Tokio>);
}

criterion_group!(benches, scheduler);
criterion_main!(benches);
