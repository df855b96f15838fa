//! Channel benchmarks: weft's `sync` channels on a weft runtime beside
//! tokio's `sync` channels on a tokio runtime with the same worker count,
//! one criterion group per workload. A third line runs weft's channels on
//! the tokio runtime, to separate the channel's cost from the scheduler's.
//!
//! Benchmark ids are `<workload>/<variant>/<workers>`, e.g.
//! `mpsc_bounded_5x1000/weft/2` beside `mpsc_bounded_5x1000/tokio/2` and
//! `mpsc_bounded_5x1000/weft-chan-on-tokio/2`. `benches/compare.py` reads
//! the weft and tokio lines.
//!
//! Workloads (identical code for every variant, written once in the
//! `workloads!` macro against the channel paths it is given):
//! - `mpsc_bounded_5x1000`: [`PRODUCERS`] producer tasks each send
//!   [`MESSAGES`] `u64`s into one bounded channel of capacity
//!   [`CAPACITY`]; the `block_on` future receives all of them.
//! - `mpsc_bounded_contended_8x5000_cap128`: the same with
//!   [`CONTENDED_PRODUCERS`] producers of [`CONTENDED_MESSAGES`] each, so
//!   the channel stays full and most sends wait for a slot.
//! - `mpsc_unbounded_5x1000`: the same on an unbounded channel.
//! - `oneshot_1000_round_trips`: a server task receives [`ROUND_TRIPS`]
//!   requests, one after another, each carrying a oneshot reply sender,
//!   over an unbounded mpsc; the client (the `block_on` future) awaits
//!   each reply before sending the next request. Every round trip wakes
//!   the `block_on` thread through the OS (a futex wake on both
//!   runtimes), which dominates.
//! - `oneshot_1000_round_trips_in_task`: the same with the client in a
//!   spawned task, so both ends run on workers and the figure is the
//!   channels' and the scheduler's.
//!
//! - `mpmc_4x4`: [`MPMC_SIDES`] producer tasks each send
//!   [`MPMC_MESSAGES`] `u64`s into one bounded MPMC channel of capacity
//!   [`CAPACITY`], [`MPMC_SIDES`] consumer tasks share them; the
//!   `block_on` future waits for the consumers. Lines: `weft`
//!   (`weft::sync::mpmc` on weft), `async-channel-on-weft` (the same
//!   scheduler, so the channels are compared alone), `tokio`
//!   (`async-channel` on tokio, what a tokio user reaches for: tokio has
//!   no MPMC channel) and `weft-chan-on-tokio`.
//! - `mpmc_rendezvous_4x4`: the same with capacity 0 (every send meets
//!   a receiver). `async-channel` has no zero capacity, so its lines use
//!   capacity 1, the nearest it has.
//!
//! Worker counts: 2, 4 and 8 by default; set `WEFT_BENCH_WORKERS` to a
//! comma-separated list (e.g. `WEFT_BENCH_WORKERS=2`) to choose others.
//! Each runtime is built once, before any measurement.
//!
//! Criterion settings: `support::flat_group` (20 samples, 1 s warm-up,
//! 2 s measurement, flat sampling).
//!
//! Run: `cargo bench --bench channels` (all), `cargo bench --bench
//! channels -- mpsc_bounded` (one workload), `cargo bench --bench channels
//! -- --test` (each once, as a smoke test).

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use support::{flat_group, worker_counts, Runtimes, TokioDrivers};

/// Producer tasks in the mpsc workloads.
const PRODUCERS: u64 = 5;
/// Messages per producer.
const MESSAGES: u64 = 1_000;
/// Producer tasks in `mpsc_bounded_contended_8x5000_cap128`.
const CONTENDED_PRODUCERS: u64 = 8;
/// Messages per producer in `mpsc_bounded_contended_8x5000_cap128`.
const CONTENDED_MESSAGES: u64 = 5_000;
/// Capacity of the bounded channel.
const CAPACITY: usize = 128;
/// Sequential request/reply round trips in `oneshot_1000_round_trips`.
const ROUND_TRIPS: u64 = 1_000;

/// Producer tasks and consumer tasks in the mpmc workloads.
const MPMC_SIDES: u64 = 4;
/// Messages per mpmc producer.
const MPMC_MESSAGES: u64 = 2_500;

/// Worker counts used when `WEFT_BENCH_WORKERS` is unset or unusable.
const DEFAULT_WORKERS: &[usize] = &[2, 4, 8];

/// The three workloads for one (runtime, channel library) pair: `$rt` is
/// the runtime type (with `block_on`), `$spawn` its spawn function,
/// `$mpsc` and `$oneshot` the channel modules.
macro_rules! workloads {
    ($name:ident, $rt:ty, $spawn:path, $mpsc:path, $oneshot:path) => {
        mod $name {
            use $mpsc as mpsc;
            use $oneshot as oneshot;

            pub fn mpsc_bounded(rt: &$rt) {
                mpsc_bounded_shape(rt, super::PRODUCERS, super::MESSAGES);
            }

            pub fn mpsc_bounded_contended(rt: &$rt) {
                mpsc_bounded_shape(rt, super::CONTENDED_PRODUCERS, super::CONTENDED_MESSAGES);
            }

            fn mpsc_bounded_shape(rt: &$rt, producers: u64, messages: u64) {
                rt.block_on(async {
                    let (tx, mut rx) = mpsc::channel::<u64>(super::CAPACITY);
                    for p in 0..producers {
                        let tx = tx.clone();
                        drop($spawn(async move {
                            for i in 0..messages {
                                tx.send(p * messages + i).await.expect("receiver alive");
                            }
                        }));
                    }
                    drop(tx);
                    let mut n = 0;
                    while let Some(v) = rx.recv().await {
                        std::hint::black_box(v);
                        n += 1;
                    }
                    assert_eq!(n, producers * messages);
                });
            }

            pub fn mpsc_unbounded(rt: &$rt) {
                rt.block_on(async {
                    let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
                    for p in 0..super::PRODUCERS {
                        let tx = tx.clone();
                        drop($spawn(async move {
                            for i in 0..super::MESSAGES {
                                tx.send(p * super::MESSAGES + i).expect("receiver alive");
                            }
                        }));
                    }
                    drop(tx);
                    let mut n = 0;
                    while let Some(v) = rx.recv().await {
                        std::hint::black_box(v);
                        n += 1;
                    }
                    assert_eq!(n, super::PRODUCERS * super::MESSAGES);
                });
            }

            pub fn oneshot_round_trips(rt: &$rt) {
                rt.block_on(async {
                    let (req_tx, mut req_rx) = mpsc::unbounded_channel::<(u64, oneshot::Sender<u64>)>();
                    let server = $spawn(async move {
                        while let Some((x, reply)) = req_rx.recv().await {
                            let _ = reply.send(x + 1);
                        }
                    });
                    for i in 0..super::ROUND_TRIPS {
                        let (tx, rx) = oneshot::channel();
                        req_tx.send((i, tx)).expect("server alive");
                        assert_eq!(rx.await.expect("server replied"), i + 1);
                    }
                    drop(req_tx);
                    server.await.expect("server task");
                });
            }

            pub fn oneshot_round_trips_in_task(rt: &$rt) {
                rt.block_on(async {
                    let (req_tx, mut req_rx) = mpsc::unbounded_channel::<(u64, oneshot::Sender<u64>)>();
                    let server = $spawn(async move {
                        while let Some((x, reply)) = req_rx.recv().await {
                            let _ = reply.send(x + 1);
                        }
                    });
                    let client = $spawn(async move {
                        for i in 0..super::ROUND_TRIPS {
                            let (tx, rx) = oneshot::channel();
                            req_tx.send((i, tx)).expect("server alive");
                            assert_eq!(rx.await.expect("server replied"), i + 1);
                        }
                    });
                    client.await.expect("client task");
                    server.await.expect("server task");
                });
            }
        }
    };
}

workloads!(weft_on_weft, weft::Runtime, weft::spawn, weft::sync::mpsc, weft::sync::oneshot);
workloads!(tokio_on_tokio, tokio::runtime::Runtime, tokio::spawn, tokio::sync::mpsc, tokio::sync::oneshot);
workloads!(weft_on_tokio, tokio::runtime::Runtime, tokio::spawn, weft::sync::mpsc, weft::sync::oneshot);

/// The same calls over `weft::sync::mpmc` and `async-channel`.
mod mpmc_weft {
    pub type Tx = weft::sync::mpmc::Sender<u64>;
    pub type Rx = weft::sync::mpmc::Receiver<u64>;
    pub fn channel(cap: usize) -> (Tx, Rx) {
        weft::sync::mpmc::channel(cap)
    }
    pub async fn send(tx: &Tx, v: u64) {
        tx.send(v).await.expect("receivers alive");
    }
    pub async fn recv(rx: &Rx) -> Option<u64> {
        rx.recv().await
    }
}

mod mpmc_async_channel {
    pub type Tx = async_channel::Sender<u64>;
    pub type Rx = async_channel::Receiver<u64>;
    pub fn channel(cap: usize) -> (Tx, Rx) {
        // No zero capacity in async-channel: its nearest is 1.
        async_channel::bounded(cap.max(1))
    }
    pub async fn send(tx: &Tx, v: u64) {
        tx.send(v).await.expect("receivers alive");
    }
    pub async fn recv(rx: &Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}

/// The mpmc fan-out for one (runtime, channel) pair.
macro_rules! mpmc_workload {
    ($name:ident, $rt:ty, $spawn:path, $chan:path) => {
        mod $name {
            use $chan as chan;

            pub fn fan_out(rt: &$rt, cap: usize) {
                rt.block_on(async {
                    let (tx, rx) = chan::channel(cap);
                    for p in 0..super::MPMC_SIDES {
                        let tx = tx.clone();
                        drop($spawn(async move {
                            for i in 0..super::MPMC_MESSAGES {
                                chan::send(&tx, p * super::MPMC_MESSAGES + i).await;
                            }
                        }));
                    }
                    drop(tx);
                    let consumers: Vec<_> = (0..super::MPMC_SIDES)
                        .map(|_| {
                            let rx = rx.clone();
                            $spawn(async move {
                                let mut n = 0u64;
                                while let Some(v) = chan::recv(&rx).await {
                                    std::hint::black_box(v);
                                    n += 1;
                                }
                                n
                            })
                        })
                        .collect();
                    drop(rx);
                    let mut n = 0;
                    for c in consumers {
                        n += c.await.expect("consumer task");
                    }
                    assert_eq!(n, super::MPMC_SIDES * super::MPMC_MESSAGES);
                });
            }
        }
    };
}

mpmc_workload!(mpmc_weft_on_weft, weft::Runtime, weft::spawn, super::mpmc_weft);
mpmc_workload!(mpmc_ac_on_weft, weft::Runtime, weft::spawn, super::mpmc_async_channel);
mpmc_workload!(mpmc_ac_on_tokio, tokio::runtime::Runtime, tokio::spawn, super::mpmc_async_channel);
mpmc_workload!(mpmc_weft_on_tokio, tokio::runtime::Runtime, tokio::spawn, super::mpmc_weft);

/// The four lines of one mpmc workload with capacity `cap`.
fn bench_mpmc(c: &mut Criterion, runtimes: &Runtimes, name: &str, cap: usize) {
    let mut group = flat_group(c, name);
    for (workers, weft_rt, tokio_rt) in &runtimes.pairs {
        group.bench_function(BenchmarkId::new("weft", workers), |b| {
            b.iter(|| mpmc_weft_on_weft::fan_out(weft_rt, cap))
        });
        group.bench_function(BenchmarkId::new("async-channel-on-weft", workers), |b| {
            b.iter(|| mpmc_ac_on_weft::fan_out(weft_rt, cap))
        });
        group.bench_function(BenchmarkId::new("tokio", workers), |b| {
            b.iter(|| mpmc_ac_on_tokio::fan_out(tokio_rt, cap))
        });
        group.bench_function(BenchmarkId::new("weft-chan-on-tokio", workers), |b| {
            b.iter(|| mpmc_weft_on_tokio::fan_out(tokio_rt, cap))
        });
    }
    group.finish();
}

/// The three variants of one workload.
struct Variants {
    weft: fn(&weft::Runtime),
    tokio: fn(&tokio::runtime::Runtime),
    weft_on_tokio: fn(&tokio::runtime::Runtime),
}

fn bench_workload(c: &mut Criterion, runtimes: &Runtimes, name: &str, v: Variants) {
    let mut group = flat_group(c, name);
    for (workers, weft_rt, tokio_rt) in &runtimes.pairs {
        group.bench_function(BenchmarkId::new("weft", workers), |b| b.iter(|| (v.weft)(weft_rt)));
        group.bench_function(BenchmarkId::new("tokio", workers), |b| b.iter(|| (v.tokio)(tokio_rt)));
        group.bench_function(BenchmarkId::new("weft-chan-on-tokio", workers), |b| {
            b.iter(|| (v.weft_on_tokio)(tokio_rt))
        });
    }
    group.finish();
}

fn channels(c: &mut Criterion) {
    let runtimes = Runtimes::build(&worker_counts(DEFAULT_WORKERS), TokioDrivers::None);
    bench_workload(
        c,
        &runtimes,
        "mpsc_bounded_5x1000",
        Variants {
            weft: weft_on_weft::mpsc_bounded,
            tokio: tokio_on_tokio::mpsc_bounded,
            weft_on_tokio: weft_on_tokio::mpsc_bounded,
        },
    );
    bench_workload(
        c,
        &runtimes,
        "mpsc_bounded_contended_8x5000_cap128",
        Variants {
            weft: weft_on_weft::mpsc_bounded_contended,
            tokio: tokio_on_tokio::mpsc_bounded_contended,
            weft_on_tokio: weft_on_tokio::mpsc_bounded_contended,
        },
    );
    bench_workload(
        c,
        &runtimes,
        "mpsc_unbounded_5x1000",
        Variants {
            weft: weft_on_weft::mpsc_unbounded,
            tokio: tokio_on_tokio::mpsc_unbounded,
            weft_on_tokio: weft_on_tokio::mpsc_unbounded,
        },
    );
    bench_workload(
        c,
        &runtimes,
        "oneshot_1000_round_trips",
        Variants {
            weft: weft_on_weft::oneshot_round_trips,
            tokio: tokio_on_tokio::oneshot_round_trips,
            weft_on_tokio: weft_on_tokio::oneshot_round_trips,
        },
    );
    bench_workload(
        c,
        &runtimes,
        "oneshot_1000_round_trips_in_task",
        Variants {
            weft: weft_on_weft::oneshot_round_trips_in_task,
            tokio: tokio_on_tokio::oneshot_round_trips_in_task,
            weft_on_tokio: weft_on_tokio::oneshot_round_trips_in_task,
        },
    );
}

fn mpmc(c: &mut Criterion) {
    let runtimes = Runtimes::build(&worker_counts(DEFAULT_WORKERS), TokioDrivers::None);
    bench_mpmc(c, &runtimes, "mpmc_4x4", CAPACITY);
    bench_mpmc(c, &runtimes, "mpmc_rendezvous_4x4", 0);
}

criterion_group!(benches, channels, mpmc);
criterion_main!(benches);
