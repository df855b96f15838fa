//! File-system benchmarks: reading a small (4 KiB) and a large (16 MiB)
//! file with `weft::fs` on a weft runtime and `tokio::fs` on a tokio
//! multi-thread runtime, side by side in one criterion group per workload.
//! Both run the read on their runtime's blocking pool, so the figures
//! compare the hand-off to the pool and back (small file) and the copy
//! path (large file); the page cache serves the data in both.
//!
//! Workloads:
//! - `fs_read_4k`, `fs_read_16m`: `fs::read(path)` (one blocking call).
//! - `fs_file_read_16m`: `File::open` then `file.read_to_end(&mut v)`,
//!   as a user writes it: on weft that is the inherent `read_to_end` (one
//!   pool hop, std's `read_to_end` there), on tokio `AsyncReadExt`'s.
//!
//! Benchmark ids are `<workload>/<runtime>/<workers>`; 2 workers (the
//! pool does the work). `benches/compare.py` turns the estimates into a
//! weft/tokio table.
//!
//! Run: `cargo bench --bench fs`, or `cargo bench --bench fs -- --test`
//! (each benchmark once, as a smoke test).

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::path::PathBuf;
use support::{flat_group as group, tokio_runtime, weft_runtime, TokioDrivers};

const WORKERS: usize = 2;
const SMALL: usize = 4 * 1024;
const LARGE: usize = 16 * 1024 * 1024;

/// The two input files, in a fresh directory removed on drop.
struct Files {
    dir: PathBuf,
    small: PathBuf,
    large: PathBuf,
}

impl Files {
    fn create() -> Files {
        let dir = std::env::temp_dir().join(format!("weft-bench-fs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the bench directory");
        let small = dir.join("small");
        let large = dir.join("large");
        std::fs::write(&small, vec![1u8; SMALL]).expect("write the 4 KiB file");
        std::fs::write(&large, vec![2u8; LARGE]).expect("write the 16 MiB file");
        Files { dir, small, large }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fs(c: &mut Criterion) {
    let files = Files::create();
    let weft_rt = weft_runtime(WORKERS);
    let tokio_rt = tokio_runtime(WORKERS, TokioDrivers::None);

    for (name, path, len) in [("fs_read_4k", &files.small, SMALL), ("fs_read_16m", &files.large, LARGE)] {
        let mut g = group(c, name);
        g.bench_function(BenchmarkId::new("weft", WORKERS), |b| {
            b.iter(|| {
                let data = weft_rt.block_on(weft::fs::read(path)).expect("weft read");
                assert_eq!(data.len(), len);
            })
        });
        g.bench_function(BenchmarkId::new("tokio", WORKERS), |b| {
            b.iter(|| {
                let data = tokio_rt.block_on(tokio::fs::read(path)).expect("tokio read");
                assert_eq!(data.len(), len);
            })
        });
        g.finish();
    }

    let mut g = group(c, "fs_file_read_16m");
    g.bench_function(BenchmarkId::new("weft", WORKERS), |b| {
        b.iter(|| {
            weft_rt.block_on(async {
                // `File::read_to_end` is inherent (one pool hop), so no
                // extension trait is needed; with `futures::AsyncReadExt`
                // in scope the same call resolves to it too.
                let mut f = weft::fs::File::open(&files.large).await.expect("weft open");
                let mut data = Vec::with_capacity(LARGE);
                f.read_to_end(&mut data).await.expect("weft read_to_end");
                assert_eq!(data.len(), LARGE);
            })
        })
    });
    g.bench_function(BenchmarkId::new("tokio", WORKERS), |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                use tokio::io::AsyncReadExt;
                let mut f = tokio::fs::File::open(&files.large).await.expect("tokio open");
                let mut data = Vec::with_capacity(LARGE);
                f.read_to_end(&mut data).await.expect("tokio read_to_end");
                assert_eq!(data.len(), LARGE);
            })
        })
    });
    g.finish();
}

criterion_group!(benches, fs);
criterion_main!(benches);
