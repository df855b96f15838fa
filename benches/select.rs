//! `select!` in a loop: weft's `weft::select!` on a weft runtime beside
//! `tokio::select!` on a tokio multi-thread runtime, with the same worker
//! count, in one criterion group per workload.
//!
//! Benchmark ids are `<workload>/<runtime>/<workers>`, e.g.
//! `select_two_channels/weft/2` beside `select_two_channels/tokio/2`;
//! `benches/compare.py` turns criterion's estimates into a weft/tokio table.
//!
//! Workloads (one source, expanded once per runtime by the `workloads!`
//! macro, so both sides run identical code against their own crate's
//! `spawn`, `select!` and `sync::mpsc`):
//! - `select_two_channels`: two producer tasks each send [`MESSAGES`]
//!   numbers into a bounded channel of [`CAPACITY`]; a consumer task loops
//!   over a `select!` of both receives (a branch is disabled once its
//!   channel is closed, `else` ends the loop) and checks the sum.
//! - `select_ready_loop`: one task runs [`ITERATIONS`] `select!`s of an
//!   always-ready future against a receive that never completes: the cost
//!   of the macro itself (branch order, budget check, the losing branch's
//!   poll and drop).
//!
//! Worker counts: 2 and 4 by default; set `WEFT_BENCH_WORKERS` to a
//! comma-separated list to choose others. Criterion settings:
//! `support::flat_group` (20 samples, 1 s warm-up, 2 s measurement, flat
//! sampling).
//!
//! Run: `cargo bench --bench select` (all), `cargo bench --bench select --
//! select_two_channels` (one workload), `cargo bench --bench select --
//! --test` (each benchmark once, as a smoke test).

mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use support::{bench_pair, worker_counts, Runtimes, TokioDrivers};

/// Messages each producer sends in `select_two_channels`.
const MESSAGES: u64 = 10_000;
/// Capacity of each channel in `select_two_channels`.
const CAPACITY: usize = 64;
/// `select!`s in `select_ready_loop`.
const ITERATIONS: u64 = 100_000;

/// Worker counts used when `WEFT_BENCH_WORKERS` is unset or unusable.
const DEFAULT_WORKERS: &[usize] = &[2, 4];

/// The workloads for one runtime crate (`weft` or `tokio`): both have
/// `$krate::spawn`, `$krate::select!` and `$krate::sync::mpsc` with the
/// same names and semantics.
macro_rules! workloads {
    ($module:ident, $krate:ident) => {
        mod $module {
            use super::*;

            pub(crate) async fn select_two_channels() {
                let (tx1, mut rx1) = $krate::sync::mpsc::channel::<u64>(CAPACITY);
                let (tx2, mut rx2) = $krate::sync::mpsc::channel::<u64>(CAPACITY);
                for tx in [tx1, tx2] {
                    $krate::spawn(async move {
                        for i in 0..MESSAGES {
                            tx.send(i).await.expect("receiver alive");
                        }
                    });
                }
                let consumer = $krate::spawn(async move {
                    let mut sum = 0u64;
                    loop {
                        $krate::select! {
                            Some(v) = rx1.recv() => sum += v,
                            Some(v) = rx2.recv() => sum += v,
                            else => break,
                        }
                    }
                    sum
                });
                let sum = consumer.await.expect("select_two_channels: consumer failed");
                assert_eq!(sum, MESSAGES * (MESSAGES - 1));
            }

            pub(crate) async fn select_ready_loop() {
                let task = $krate::spawn(async {
                    let (_tx, mut never) = $krate::sync::mpsc::channel::<u64>(1);
                    let mut sum = 0u64;
                    for i in 0..ITERATIONS {
                        $krate::select! {
                            v = std::future::ready(i) => sum += v,
                            Some(v) = never.recv() => sum += v,
                        }
                    }
                    sum
                });
                let sum = task.await.expect("select_ready_loop: task failed");
                assert_eq!(sum, ITERATIONS * (ITERATIONS - 1) / 2);
            }
        }
    };
}

workloads!(on_weft, weft);
workloads!(on_tokio, tokio);

fn select(c: &mut Criterion) {
    let runtimes = Runtimes::build(&worker_counts(DEFAULT_WORKERS), TokioDrivers::None);
    bench_pair(
        c,
        &runtimes,
        "select_two_channels",
        on_weft::select_two_channels,
        on_tokio::select_two_channels,
    );
    bench_pair(c, &runtimes, "select_ready_loop", on_weft::select_ready_loop, on_tokio::select_ready_loop);
}

criterion_group!(benches, select);
criterion_main!(benches);
