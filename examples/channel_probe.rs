//! A profiling aid for benchmark work, not a weft feature: runs
//! `benches/channels.rs`'s `mpsc_bounded_5x1000` workload (5 producer tasks
//! x 1,000 messages into a 128-slot channel, the `block_on` future
//! receiving) many times on one runtime, weft's or tokio's, and prints the
//! time per iteration; for weft, also each worker's polls, steals, parks
//! and injector pulls per iteration. One process per runtime, so `perf
//! stat` and `perf sched record` see only that runtime's threads.
//!
//! Run: `chrt -f 50 cargo run --release --example channel_probe -- weft 2 1000`
//! (`weft|tokio`, worker count, iterations; docs/benchmarks.md,
//! "Task communication"). Under `perf sched record -- <binary> ...`, then
//! `perf sched timehist -s`, it shows how often each thread sleeps.

use std::process::ExitCode;
use std::time::Instant;

const PRODUCERS: u64 = 5;
const MESSAGES: u64 = 1_000;
const CAPACITY: usize = 128;
/// Iterations run before the timed ones.
const WARM_UP: usize = 50;

macro_rules! mpsc_bounded {
    ($rt:expr, $spawn:path, $mpsc:path) => {{
        use $mpsc as mpsc;
        $rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<u64>(CAPACITY);
            for p in 0..PRODUCERS {
                let tx = tx.clone();
                drop($spawn(async move {
                    for i in 0..MESSAGES {
                        tx.send(p * MESSAGES + i).await.expect("the receiver outlives the producers");
                    }
                }));
            }
            drop(tx);
            let mut n = 0;
            while let Some(v) = rx.recv().await {
                std::hint::black_box(v);
                n += 1;
            }
            assert_eq!(n, PRODUCERS * MESSAGES, "every message arrives once");
        })
    }};
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [which, workers, iterations] => match (workers.parse::<usize>(), iterations.parse::<usize>()) {
            (Ok(w), Ok(i)) if w > 0 && i > 0 && (which == "weft" || which == "tokio") => {
                Some((which.clone(), w, i))
            }
            _ => None,
        },
        _ => None,
    };
    let Some((which, workers, iterations)) = parsed else {
        eprintln!("usage: channel_probe weft|tokio WORKERS ITERATIONS (both above 0)");
        return ExitCode::from(2);
    };
    if which == "weft" {
        let rt = match weft::Runtime::builder().worker_threads(workers).build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("cannot build a weft runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        for _ in 0..WARM_UP {
            mpsc_bounded!(rt, weft::spawn, weft::sync::mpsc);
        }
        let before = rt.handle().metrics();
        let start = Instant::now();
        for _ in 0..iterations {
            mpsc_bounded!(rt, weft::spawn, weft::sync::mpsc);
        }
        let per_iter = start.elapsed().as_secs_f64() * 1e3 / iterations as f64;
        let after = rt.handle().metrics();
        println!("weft, {workers} workers: {per_iter:.3} ms per iteration");
        let n = iterations as f64;
        for i in 0..after.num_workers() {
            let (a, b) = (before.worker(i), after.worker(i));
            println!(
                "  worker {i}: per iteration {:.1} polls, {:.1} tasks stolen, {:.1} parks, {:.1} injector pulls",
                (b.polls() - a.polls()) as f64 / n,
                (b.steals() - a.steals()) as f64 / n,
                (b.parks() - a.parks()) as f64 / n,
                (b.injector_pulls() - a.injector_pulls()) as f64 / n,
            );
        }
    } else {
        let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("cannot build a tokio runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        for _ in 0..WARM_UP {
            mpsc_bounded!(rt, tokio::spawn, tokio::sync::mpsc);
        }
        let start = Instant::now();
        for _ in 0..iterations {
            mpsc_bounded!(rt, tokio::spawn, tokio::sync::mpsc);
        }
        let per_iter = start.elapsed().as_secs_f64() * 1e3 / iterations as f64;
        println!("tokio, {workers} workers: {per_iter:.3} ms per iteration");
    }
    ExitCode::SUCCESS
}
