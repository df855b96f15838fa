//! The schedule-latency histogram (`WorkerMetrics::schedule_latency_histogram`):
//! the time from a task becoming runnable to its poll starting, for one
//! notification in 32 per queuing thread.
//!
//! Loops wait (with a hang guard that is not the verdict) until enough
//! samples are published; verdicts are lower bounds that follow from the
//! setup (one worker cannot poll a woken task while it is inside another
//! task's poll), never upper bounds on a shared machine.
#![cfg(feature = "sync")]

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::metrics::PollHistogram;

/// The first bucket whose bound exceeds 4.096 ms: latencies of 5 ms and more.
const FIVE_MS_BUCKET: usize = 13;

fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[track_caller]
fn hang_guard(start: Instant, what: &str) {
    assert!(start.elapsed() < Duration::from_secs(120), "timed out waiting for: {what}");
}

#[test]
fn tasks_woken_behind_a_5ms_poll_wait_at_least_5ms() {
    // No stall monitor: on a slow machine it could hand the queue to a
    // spare thread during the spin, which would poll the woken tasks early.
    let rt = weft::Runtime::builder().worker_threads(1).stall_threshold(None).build().unwrap();
    const WAITERS: usize = 8;
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    let mut waiters = Vec::new();
    for _ in 0..WAITERS {
        let (tx, mut rx) = weft::sync::mpsc::channel::<()>(1);
        senders.push(tx);
        waiters.push(rt.spawn(async move { while rx.recv().await.is_some() {} }));
    }
    let spinner = {
        let stop = stop.clone();
        rt.spawn(async move {
            while !stop.load(SeqCst) {
                // Wake every waiter from inside this poll: they are queued
                // on this (the only) worker, stamped now, and cannot start
                // before this poll ends, 5 ms (measured) later.
                for tx in &senders {
                    let _ = tx.try_send(());
                }
                spin(Duration::from_millis(5));
                weft::task::yield_now().await;
            }
        })
    };

    let start = Instant::now();
    let h = loop {
        let h = rt.metrics().schedule_latency_histogram();
        if h.total_count() >= 20 {
            break h;
        }
        hang_guard(start, "20 schedule-latency samples");
        std::thread::sleep(Duration::from_millis(10));
    };
    stop.store(true, SeqCst);
    rt.block_on(spinner).unwrap();
    for w in waiters {
        rt.block_on(w).unwrap();
    }

    let slow: u64 = h.counts()[FIVE_MS_BUCKET..].iter().sum();
    println!(
        "schedule latency: {} samples, {} of them >= 5 ms; p50 <= {:?}",
        h.total_count(),
        slow,
        h.quantile(0.5)
    );
    // Per round, 8 wakes come from inside the 5 ms poll and 1 (the
    // spinner's own requeue after its yield) does not; sampling one
    // notification in 32 visits those positions evenly (32 and 9 are
    // coprime), and the waiters' spawns add one early sample.
    assert!(slow * 2 >= h.total_count(), "at least half the samples are >= 5 ms: {h:?}");
}

#[test]
fn an_idle_runtime_records_samples() {
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    let (tx, mut rx) = weft::sync::mpsc::channel::<std::sync::mpsc::Sender<()>>(1);
    let echo = rt.spawn(async move {
        while let Some(reply) = rx.recv().await {
            let _ = reply.send(());
        }
    });
    let start = Instant::now();
    let h: PollHistogram = loop {
        // One wake from outside (this thread) at a time, the worker idle
        // between them.
        for _ in 0..64 {
            let (reply, done) = std::sync::mpsc::channel();
            tx.try_send(reply).unwrap();
            done.recv().unwrap();
        }
        let h = rt.metrics().schedule_latency_histogram();
        if h.total_count() > 0 {
            break h;
        }
        hang_guard(start, "a schedule-latency sample");
    };
    println!(
        "idle runtime: {} samples, p50 <= {:?}, p99 <= {:?}, mean {:?}",
        h.total_count(),
        h.quantile(0.5),
        h.quantile(0.99),
        h.sum() / u32::try_from(h.total_count()).unwrap_or(u32::MAX)
    );
    let per_worker: u64 =
        rt.metrics().workers().iter().map(|w| w.schedule_latency_histogram().total_count()).sum();
    assert!(per_worker >= h.total_count(), "the merged histogram is the workers' sum");
    drop(tx);
    rt.block_on(echo).unwrap();
}
