//! Sync-primitive benchmarks: the same workloads with `weft::sync` on a weft
//! runtime and `tokio::sync` on a tokio multi-thread runtime, side by side
//! in one criterion group per workload, with the same worker count.
//!
//! Benchmark ids are `<workload>/<runtime>/<workers>`, e.g.
//! `mutex_contended/weft/4` beside `mutex_contended/tokio/4`;
//! `benches/compare.py` turns criterion's estimates into a weft/tokio table.
//!
//! Workloads (one source, expanded once per runtime by the `workloads!`
//! macro, so both sides run identical code against their own crate's
//! `spawn` and `sync` types):
//! - `notify_100_waiters`: [`WAITERS`] tasks each register on a `Notify`
//!   (`enable`), then report through a semaphore; `block_on` waits for all
//!   of them, calls `notify_waiters` and awaits every task.
//! - `semaphore_contended`: [`SEM_TASKS`] tasks share a semaphore of
//!   [`SEM_PERMITS`] permits; each acquires and releases it
//!   [`SEM_ITERS`] times.
//! - `mutex_contended`: [`MUTEX_TASKS`] tasks each lock, increment and
//!   unlock a shared counter [`MUTEX_ITERS`] times; the final count is
//!   checked.
//!
//! Worker counts: 2, 4 and 8 by default; set `WEFT_BENCH_WORKERS` to a
//! comma-separated list to choose others. Criterion settings:
//! `support::flat_group` (20 samples, 1 s warm-up, 2 s measurement, flat
//! sampling).
//!
//! Run: `cargo bench --bench sync` (all), `cargo bench --bench sync --
//! mutex_contended` (one workload), `cargo bench --bench sync -- --test`
//! (each benchmark once, as a smoke test).

mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use support::{bench_pair, worker_counts, Runtimes, TokioDrivers};

/// Tasks waiting in `notify_100_waiters`.
const WAITERS: usize = 100;
/// Tasks in `semaphore_contended`.
const SEM_TASKS: usize = 6;
/// Permits in `semaphore_contended`.
const SEM_PERMITS: usize = 5;
/// Acquire/release rounds per task in `semaphore_contended`.
const SEM_ITERS: usize = 1_000;
/// Tasks in `mutex_contended`.
const MUTEX_TASKS: usize = 10;
/// Lock/increment/unlock rounds per task in `mutex_contended`.
const MUTEX_ITERS: usize = 1_000;

/// Worker counts used when `WEFT_BENCH_WORKERS` is unset or unusable.
const DEFAULT_WORKERS: &[usize] = &[2, 4, 8];

/// The three workloads for one runtime crate (`weft` or `tokio`): both
/// have `$krate::spawn` and `$krate::sync::{Notify, Semaphore, Mutex}`
/// with the same method names.
macro_rules! workloads {
    ($module:ident, $krate:ident) => {
        mod $module {
            use super::*;
            use std::sync::Arc;

            pub(crate) async fn notify_100_waiters() {
                let notify = Arc::new($krate::sync::Notify::new());
                let registered = Arc::new($krate::sync::Semaphore::new(0));
                let tasks: Vec<_> = (0..WAITERS)
                    .map(|_| {
                        let (notify, registered) = (notify.clone(), registered.clone());
                        $krate::spawn(async move {
                            let mut notified = std::pin::pin!(notify.notified());
                            notified.as_mut().enable();
                            registered.add_permits(1);
                            notified.await;
                        })
                    })
                    .collect();
                registered.acquire_many(WAITERS as u32).await.expect("semaphore closed").forget();
                notify.notify_waiters();
                for t in tasks {
                    t.await.expect("notify_100_waiters: task failed");
                }
            }

            pub(crate) async fn semaphore_contended() {
                let sem = Arc::new($krate::sync::Semaphore::new(SEM_PERMITS));
                let tasks: Vec<_> = (0..SEM_TASKS)
                    .map(|_| {
                        let sem = sem.clone();
                        $krate::spawn(async move {
                            for _ in 0..SEM_ITERS {
                                drop(sem.acquire().await.expect("semaphore closed"));
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("semaphore_contended: task failed");
                }
            }

            pub(crate) async fn mutex_contended() {
                let counter = Arc::new($krate::sync::Mutex::new(0usize));
                let tasks: Vec<_> = (0..MUTEX_TASKS)
                    .map(|_| {
                        let counter = counter.clone();
                        $krate::spawn(async move {
                            for _ in 0..MUTEX_ITERS {
                                *counter.lock().await += 1;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("mutex_contended: task failed");
                }
                assert_eq!(*counter.lock().await, MUTEX_TASKS * MUTEX_ITERS);
            }
        }
    };
}

workloads!(on_weft, weft);
workloads!(on_tokio, tokio);

fn sync(c: &mut Criterion) {
    let runtimes = Runtimes::build(&worker_counts(DEFAULT_WORKERS), TokioDrivers::None);
    bench_pair(c, &runtimes, "notify_100_waiters", on_weft::notify_100_waiters, on_tokio::notify_100_waiters);
    bench_pair(
        c,
        &runtimes,
        "semaphore_contended",
        on_weft::semaphore_contended,
        on_tokio::semaphore_contended,
    );
    bench_pair(c, &runtimes, "mutex_contended", on_weft::mutex_contended, on_tokio::mutex_contended);
}

criterion_group!(benches, sync);
criterion_main!(benches);
