//! A profiling aid for benchmark work, not a weft feature: runs
//! `benches/channels.rs`'s `mpsc_bounded_5x1000` workload (5 producer tasks
//! x 1,000 messages into a 128-slot channel, the `block_on` future
//! receiving) many times on one runtime, weft's or tokio's, and prints the
//! time per iteration; for weft, also each worker's polls, steals, parks
//! and injector pulls per iteration. One process per runtime, so `perf
//! stat` and `perf sched record` see only that runtime's threads.
//!
//! With two more arguments, `PRODUCERS MESSAGES`, it runs that shape
//! instead (`... weft 2 100 8 5000` is `mpsc_bounded_contended_8x5000_cap128`).
//! On both runtimes it also counts, per message, the polls of the producer
//! tasks and of the consumer's `recv` futures (each poll after a task's
//! first follows a wake or a cooperative yield), which are counts, not
//! timings, so they mean the same on a busy machine.
//!
//! Run: `chrt -f 50 cargo run --release --example channel_probe -- weft 2 1000`
//! (`weft|tokio|weft-chan-on-tokio`, worker count, iterations; docs/benchmarks.md,
//! "Task communication"). Under `perf sched record -- <binary> ...`, then
//! `perf sched timehist -s`, it shows how often each thread sleeps.

use std::process::ExitCode;
use std::time::Instant;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};

const PRODUCERS: u64 = 5;
const MESSAGES: u64 = 1_000;

/// Polls of producer tasks and of the consumer's `recv` futures.
static PRODUCER_POLLS: AtomicU64 = AtomicU64::new(0);
static RECV_POLLS: AtomicU64 = AtomicU64::new(0);

/// Counts the polls of the future it wraps into `counter`.
struct Counted<'a, F> {
    counter: &'a AtomicU64,
    fut: F,
}

impl<F: Future + Unpin> Future for Counted<'_, F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Relaxed: a statistic read after the runtime is quiet.
        self.counter.fetch_add(1, Relaxed);
        Pin::new(&mut self.fut).poll(cx)
    }
}
const CAPACITY: usize = 128;
/// Iterations run before the timed ones.
const WARM_UP: usize = 50;

macro_rules! mpsc_bounded {
    ($rt:expr, $spawn:path, $mpsc:path, $producers:expr, $messages:expr) => {{
        use $mpsc as mpsc;
        let (producers, messages): (u64, u64) = ($producers, $messages);
        $rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<u64>(CAPACITY);
            for p in 0..producers {
                let tx = tx.clone();
                drop($spawn(Counted {
                    counter: &PRODUCER_POLLS,
                    fut: Box::pin(async move {
                        for i in 0..messages {
                            tx.send(p * messages + i).await.expect("the receiver outlives the producers");
                        }
                    }),
                }));
            }
            drop(tx);
            let mut n = 0;
            while let Some(v) = (Counted { counter: &RECV_POLLS, fut: Box::pin(rx.recv()) }).await {
                std::hint::black_box(v);
                n += 1;
            }
            assert_eq!(n, producers * messages, "every message arrives once");
        })
    }};
}

/// Prints the poll counters per message since they were reset.
fn print_polls(messages: u64) {
    let m = messages as f64;
    println!(
        "  per message: {:.3} producer-task polls, {:.3} recv polls",
        PRODUCER_POLLS.load(Relaxed) as f64 / m,
        RECV_POLLS.load(Relaxed) as f64 / m,
    );
}

fn reset_polls() {
    PRODUCER_POLLS.store(0, Relaxed);
    RECV_POLLS.store(0, Relaxed);
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [which, workers, iterations, rest @ ..] if rest.is_empty() || rest.len() == 2 => {
            let shape = match rest {
                [p, m] => match (p.parse::<u64>(), m.parse::<u64>()) {
                    (Ok(p), Ok(m)) if p > 0 && m > 0 => Some((p, m)),
                    _ => None,
                },
                _ => Some((PRODUCERS, MESSAGES)),
            };
            match (workers.parse::<usize>(), iterations.parse::<usize>(), shape) {
                (Ok(w), Ok(i), Some(shape))
                    if w > 0
                        && i > 0
                        && ["weft", "tokio", "weft-chan-on-tokio"].contains(&which.as_str()) =>
                {
                    Some((which.clone(), w, i, shape))
                }
                _ => None,
            }
        }
        _ => None,
    };
    let Some((which, workers, iterations, (producers, messages))) = parsed else {
        eprintln!("usage: channel_probe weft|tokio|weft-chan-on-tokio WORKERS ITERATIONS [PRODUCERS MESSAGES] (all above 0)");
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
            mpsc_bounded!(rt, weft::spawn, weft::sync::mpsc, producers, messages);
        }
        reset_polls();
        let before = rt.handle().metrics();
        let start = Instant::now();
        for _ in 0..iterations {
            mpsc_bounded!(rt, weft::spawn, weft::sync::mpsc, producers, messages);
        }
        let per_iter = start.elapsed().as_secs_f64() * 1e3 / iterations as f64;
        let after = rt.handle().metrics();
        println!("weft, {workers} workers: {per_iter:.3} ms per iteration");
        print_polls(iterations as u64 * producers * messages);
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
        let weft_chan = which == "weft-chan-on-tokio";
        for _ in 0..WARM_UP {
            if weft_chan {
                mpsc_bounded!(rt, tokio::spawn, weft::sync::mpsc, producers, messages);
            } else {
                mpsc_bounded!(rt, tokio::spawn, tokio::sync::mpsc, producers, messages);
            }
        }
        reset_polls();
        let start = Instant::now();
        for _ in 0..iterations {
            if weft_chan {
                mpsc_bounded!(rt, tokio::spawn, weft::sync::mpsc, producers, messages);
            } else {
                mpsc_bounded!(rt, tokio::spawn, tokio::sync::mpsc, producers, messages);
            }
        }
        let per_iter = start.elapsed().as_secs_f64() * 1e3 / iterations as f64;
        println!("{which}, {workers} workers: {per_iter:.3} ms per iteration");
        print_polls(iterations as u64 * producers * messages);
    }
    ExitCode::SUCCESS
}
