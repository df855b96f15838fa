//! What weft tells you about a misbehaving program, the way Go's
//! `/debug/pprof/goroutine?debug=2` and a Prometheus scrape would.
//!
//! The program has four faults a service team meets in real life:
//! - a leak: every "request" spawns a `conn-watchdog` task that waits for a
//!   cancellation nobody ever sends, so the tasks pile up (no waker of
//!   theirs exists anywhere: weft proves them leaked);
//! - a stuck consumer: a `stuck-consumer` task waits on a channel whose
//!   sender is alive but never used (not a leak: someone could still send;
//!   the dump says what it waits for, where, and for how long);
//! - forgotten results: `audit` tasks finish, but their `JoinHandle`s are
//!   kept in a Vec and never awaited (complete but unjoined);
//! - a stall: a `legacy-client` task calls a blocking function (here
//!   `std::thread::sleep`) inside async code and holds its worker for 80 ms.
//!
//! It then prints the task dump (grouped like Go's goroutine dump: wait
//! reason and its duration, await site, spawn site), the leak report, the
//! tasks waiting on a channel receive, the stall the monitor recorded with
//! the stalled worker's stack, the schedule-latency and poll-time
//! percentiles, and the Prometheus text, and writes the flight recorder's
//! trace (open it in https://ui.perfetto.dev).
//!
//! Run: `cargo run --release --example observability [-- --trace PATH]`
//! (the trace goes to `weft-observability-trace.json` in the temporary
//! directory unless a path is given)
//! (set `RUST_LOG`-style output aside: the stall is also reported through
//! the `log` crate; this example installs a tiny stderr logger for it).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use weft::task::{Builder, TaskState, WaitKind};

/// A logger that prints weft's warnings to stderr.
struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Info
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!("[log {}] {}", r.level(), r.args());
        }
    }
    fn flush(&self) {}
}

/// A cancellation signal that nobody ever fires (the bug).
struct NeverCancelled;

impl Future for NeverCancelled {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

fn main() {
    let trace_path = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => std::env::temp_dir().join("weft-observability-trace.json"),
        [flag, path] if flag == "--trace" => path.into(),
        _ => {
            eprintln!("usage: observability [--trace PATH]");
            std::process::exit(2);
        }
    };
    let _ = log::set_logger(&Stderr).map(|()| log::set_max_level(log::LevelFilter::Info));
    let rt = weft::Runtime::builder().worker_threads(2).build().expect("runtime");
    let served = Arc::new(AtomicUsize::new(0));

    // 40 "requests": each handled in a task that also leaks a watchdog.
    let mut audits = Vec::new();
    for i in 0..40 {
        let served = served.clone();
        Builder::new()
            .name("request")
            .spawn_on(
                async move {
                    let _watchdog = Builder::new().name("conn-watchdog").spawn(NeverCancelled).expect("name");
                    weft::time::sleep(Duration::from_millis(1 + i % 5)).await;
                    served.fetch_add(1, Ordering::Relaxed);
                },
                rt.handle(),
            )
            .expect("name");
        // The audit results are kept "for later" and never looked at.
        audits.push(Builder::new().name("audit").spawn_on(async move { i * 2 }, rt.handle()).expect("name"));
    }

    // The stuck consumer: its sender lives (in `_orders`) but nobody sends.
    let (_orders, mut orders_rx) = weft::sync::mpsc::channel::<u32>(16);
    Builder::new()
        .name("stuck-consumer")
        .spawn_on(
            async move {
                while let Some(order) = orders_rx.recv().await {
                    println!("order {order}");
                }
            },
            rt.handle(),
        )
        .expect("name");

    // Ordinary traffic, so the schedule-latency histogram (one wake in 32
    // is sampled) has something to show: 200 tasks yielding 20 times.
    rt.block_on(async {
        let mut set = weft::task::JoinSet::new();
        for _ in 0..200 {
            set.spawn(async {
                for _ in 0..20 {
                    weft::task::yield_now().await;
                }
            });
        }
        while set.join_next().await.is_some() {}
    });

    // The stall: a blocking call in async code.
    let legacy = Builder::new()
        .name("legacy-client")
        .spawn_on(
            async {
                std::thread::sleep(Duration::from_millis(80));
                "response from the legacy client"
            },
            rt.handle(),
        )
        .expect("name");
    rt.block_on(legacy).expect("legacy task");

    // The same call done right: on the blocking pool.
    let fixed = rt
        .block_on(rt.spawn(async {
            weft::task::spawn_blocking(|| {
                std::thread::sleep(Duration::from_millis(30));
                "response through spawn_blocking"
            })
            .await
            .expect("blocking task")
        }))
        .expect("task");
    println!("{fixed}");

    // Let the requests finish and time pass, so the leak looks like one.
    while served.load(Ordering::Relaxed) < 40 {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(150));

    let dump = rt.dump();
    println!("\n===== task dump =====\n{dump}");

    // Proven leaks: idle, and no waker of theirs exists anywhere.
    let leaked = dump.leaked();
    println!("===== leaked: no waker exists, they can never run again ({} tasks) =====", leaked.len());
    println!("{leaked}");
    println!("(weft_leaked_tasks = {})\n", rt.metrics().leaked_tasks());

    // Waiting on a channel for a long time: not provably leaked (the
    // sender lives), but the dump says what, where and how long.
    let stuck = dump.waiting_on(WaitKind::MpscRecv).not_polled_for(Duration::from_millis(100));
    println!("===== waiting on an mpsc receive, not polled for 100 ms ({} tasks) =====", stuck.len());
    println!("{stuck}");

    let unjoined = dump.with_state(TaskState::Complete);
    println!("===== finished but never joined: {} tasks =====\n", unjoined.len());

    println!("===== stalls recorded by the monitor =====");
    for stall in rt.handle().recent_stalls() {
        println!("{stall}");
        match stall.backtrace() {
            Some(stack) => {
                println!("  stalled worker's stack, innermost first:");
                for frame in stack.frames().iter().take(8) {
                    println!("    {}", frame.name().unwrap_or("<no symbol>"));
                }
            }
            None => println!("  (no stack: feature `stall-stacks` off, or the thread did not answer)"),
        }
    }

    let metrics = rt.metrics();
    println!("\n===== schedule latency (wake or spawn to poll start, sampled) and poll time =====");
    let (latency, polls) = (metrics.schedule_latency_histogram(), metrics.poll_histogram());
    for (what, h) in [("schedule latency", &latency), ("poll time", &polls)] {
        let q = |p: f64| h.quantile(p).map_or("-".to_string(), |d| format!("{d:?}"));
        println!("{what}: {} samples, p50 {}, p90 {}, p99 {}", h.total_count(), q(0.5), q(0.9), q(0.99));
    }

    // What every worker did in the last moments, for ui.perfetto.dev.
    let trace = rt.trace();
    match trace.write_to_file(&trace_path) {
        Ok(()) => println!(
            "\n===== flight recorder: {} events written to {} (open in https://ui.perfetto.dev) =====",
            trace.len(),
            trace_path.display()
        ),
        Err(e) => eprintln!("cannot write the trace to {}: {e}", trace_path.display()),
    }
    println!("the monitor kept {} trace(s) taken at stalls", rt.handle().recent_stall_traces().len());

    println!("\n===== Prometheus text (GET /metrics) =====");
    print!("{}", metrics.to_prometheus());

    drop(audits);
}
