//! Process benchmarks: spawn and wait on weft and on tokio's multi-thread
//! runtime with the same worker count, side by side.
//!
//! Ids are `<workload>/<runtime>/<workers>`; `benches/compare.py` makes the
//! weft/tokio table.
//!
//! - `spawn_wait`: [`SEQ`] sequential spawns of `true`, each waited for
//!   (time per iteration / SEQ = one spawn + exit + reap).
//! - `spawn_wait_concurrent`: [`CONC`] children of `true` spawned at once
//!   from as many tasks, all waited for.
//! - `output`: one `sh -c 'echo hello'` with stdout and stderr captured.
//!
//! Most of each figure is the kernel's fork/exec and the child's own
//! start-up; the runtime's part is the pipes, the pidfd and the wake-up.
//! Run: `cargo bench --bench process`; smoke test: `cargo bench --bench
//! process -- --test`.

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;

const SEQ: usize = 10;
const CONC: usize = 16;
const WORKERS: usize = 2;

fn weft_rt() -> weft::Runtime {
    support::weft_runtime(WORKERS)
}

fn tokio_rt() -> tokio::runtime::Runtime {
    support::tokio_runtime(WORKERS, support::TokioDrivers::All)
}

fn spawn_wait(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_wait");
    g.measurement_time(Duration::from_secs(5));
    let rt = weft_rt();
    g.bench_function(BenchmarkId::new("weft", WORKERS), |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..SEQ {
                    let status = weft::process::Command::new("true").status().await.unwrap();
                    assert!(status.success());
                }
            })
        })
    });
    drop(rt);
    let rt = tokio_rt();
    g.bench_function(BenchmarkId::new("tokio", WORKERS), |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..SEQ {
                    let status = tokio::process::Command::new("true").status().await.unwrap();
                    assert!(status.success());
                }
            })
        })
    });
    g.finish();
}

fn spawn_wait_concurrent(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_wait_concurrent");
    g.measurement_time(Duration::from_secs(5));
    let rt = weft_rt();
    g.bench_function(BenchmarkId::new("weft", WORKERS), |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..CONC)
                    .map(|_| {
                        weft::spawn(async { weft::process::Command::new("true").status().await.unwrap() })
                    })
                    .collect();
                for t in tasks {
                    assert!(t.await.unwrap().success());
                }
            })
        })
    });
    drop(rt);
    let rt = tokio_rt();
    g.bench_function(BenchmarkId::new("tokio", WORKERS), |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..CONC)
                    .map(|_| {
                        tokio::spawn(async { tokio::process::Command::new("true").status().await.unwrap() })
                    })
                    .collect();
                for t in tasks {
                    assert!(t.await.unwrap().success());
                }
            })
        })
    });
    g.finish();
}

fn output(c: &mut Criterion) {
    let mut g = c.benchmark_group("output");
    g.measurement_time(Duration::from_secs(5));
    let rt = weft_rt();
    g.bench_function(BenchmarkId::new("weft", WORKERS), |b| {
        b.iter(|| {
            rt.block_on(async {
                let out =
                    weft::process::Command::new("sh").args(["-c", "echo hello"]).output().await.unwrap();
                assert_eq!(out.stdout, b"hello\n");
            })
        })
    });
    drop(rt);
    let rt = tokio_rt();
    g.bench_function(BenchmarkId::new("tokio", WORKERS), |b| {
        b.iter(|| {
            rt.block_on(async {
                let out =
                    tokio::process::Command::new("sh").args(["-c", "echo hello"]).output().await.unwrap();
                assert_eq!(out.stdout, b"hello\n");
            })
        })
    });
    g.finish();
}

criterion_group!(benches, spawn_wait, spawn_wait_concurrent, output);
criterion_main!(benches);
