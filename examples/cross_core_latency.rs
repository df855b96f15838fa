//! A machine check for benchmark runs, not a weft feature: measures the
//! round trip of one cache line between two threads (one atomic counter
//! bounced back and forth, both sides spinning), a few times a second.
//!
//! On a virtual machine the round trip can change in phases of one to
//! several seconds (the host placing the two vCPUs farther apart), and
//! cross-thread workloads (`spawn_many_local`: every stolen task is freed
//! on another core) slow down with it, on any runtime. Run this before
//! and after a benchmark to know which phase it ran in; the figures seen
//! on the benchmark machine are in docs/benchmarks.md.
//!
//! Run: `cargo run --release --example cross_core_latency [SECONDS]`
//! (default 10). Prints one figure per 200 ms sample, then the share of
//! samples above 200 ns. Needs two CPUs to mean anything: on one, both
//! threads take turns and the figure is the scheduler's time slice.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Round trips per sample.
const TRIPS: u64 = 20_000;
/// The reflector thread stops when it reads this.
const STOP: u64 = u64::MAX;

fn main() {
    let secs = match std::env::args().nth(1) {
        None => 10,
        Some(arg) => match arg.parse::<u64>() {
            Ok(s) if s > 0 => s,
            _ => {
                eprintln!("usage: cross_core_latency [SECONDS > 0]; got {arg:?}");
                std::process::exit(2);
            }
        },
    };
    let counter = Arc::new(AtomicU64::new(0));
    let reflector = {
        let counter = counter.clone();
        std::thread::spawn(move || loop {
            // Acquire/Release: each side publishes its increment to the
            // other; the counter is the only shared data.
            let v = counter.load(Ordering::Acquire);
            if v == STOP {
                return;
            }
            if v % 2 == 1 {
                counter.store(v + 1, Ordering::Release);
            }
            std::hint::spin_loop();
        })
    };
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(secs) {
        let t = Instant::now();
        for _ in 0..TRIPS {
            let v = counter.load(Ordering::Acquire);
            counter.store(v + 1, Ordering::Release);
            while counter.load(Ordering::Acquire) != v + 2 {
                std::hint::spin_loop();
            }
        }
        let ns = t.elapsed().as_nanos() as f64 / TRIPS as f64;
        print!("{ns:.0} ");
        samples.push(ns);
        std::thread::sleep(Duration::from_millis(200));
    }
    counter.store(STOP, Ordering::Release);
    let _ = reflector.join();
    let slow = samples.iter().filter(|&&ns| ns > 200.0).count();
    println!();
    println!(
        "{} samples of {TRIPS} round trips; {slow} above 200 ns ({:.0} %)",
        samples.len(),
        100.0 * slow as f64 / samples.len().max(1) as f64
    );
}
