//! What weft tells you about a misbehaving program, the way Go's
//! `/debug/pprof/goroutine?debug=2` and a Prometheus scrape would.
//!
//! The program has three faults a service team meets in real life:
//! - a leak: every "request" spawns a `conn-watchdog` task that waits for a
//!   cancellation nobody ever sends, so the tasks pile up;
//! - forgotten results: `audit` tasks finish, but their `JoinHandle`s are
//!   kept in a Vec and never awaited (complete but unjoined);
//! - a stall: a `legacy-client` task calls a blocking function (here
//!   `std::thread::sleep`) inside async code and holds its worker for 80 ms.
//!
//! It then prints the task dump (grouped by spawn site and state, oldest
//! first), the dump filtered to tasks not polled for 100 ms (the leak
//! detector), the stall the monitor recorded, and the Prometheus text.
//!
//! Run: `cargo run --release --example observability`
//! (set `RUST_LOG`-style output aside: the stall is also reported through
//! the `log` crate; this example installs a tiny stderr logger for it).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use weft::task::{Builder, TaskState};

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

    let leaked = dump.not_polled_for(Duration::from_millis(100)).with_state(TaskState::Idle);
    println!("===== leak suspects: idle and not polled for 100 ms =====");
    println!("{} tasks; the oldest group:\n{}", leaked.len(), leaked);

    let unjoined = dump.with_state(TaskState::Complete);
    println!("===== finished but never joined: {} tasks =====\n", unjoined.len());

    println!("===== stalls recorded by the monitor =====");
    for stall in rt.handle().recent_stalls() {
        println!("{stall}");
    }

    println!("\n===== Prometheus text (GET /metrics) =====");
    print!("{}", rt.metrics().to_prometheus());

    drop(audits);
}
