//! The cooperative budget: a task that loops over an always-ready socket
//! must not starve other tasks on its worker (issue 3). Each test runs on a
//! single-worker runtime, so without the budget the looping task would
//! never give the worker back.

// Sockets against an interval: needs both features.
#![cfg(all(feature = "net", feature = "time"))]

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::net::{TcpListener, TcpStream};

/// The two tests each keep a core busy on purpose; run them one at a time
/// so neither measures the other's load.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn one_worker() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(1).build().expect("runtime")
}

/// Without the budget these tests would hang rather than fail (the hog
/// never gives the worker back): turn a hang into a failure. Not
/// synchronisation, a deadline far above the expected ~0.3 s.
fn watchdog(name: &'static str) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        eprintln!("{name}: still running after 30 s: the spinning task starved the interval");
        std::process::exit(101);
    });
}

/// Runs a 10 ms interval for `ticks` ticks next to `hog` (already spawned
/// and looping) and returns the largest gap between consecutive ticks.
async fn interval_gaps(ticks: usize) -> Duration {
    let mut interval = weft::time::interval(Duration::from_millis(10));
    interval.tick().await;
    let mut last = Instant::now();
    let mut worst = Duration::ZERO;
    for _ in 0..ticks {
        interval.tick().await;
        let now = Instant::now();
        worst = worst.max(now - last);
        last = now;
    }
    worst
}

#[test]
fn a_reader_spinning_on_eof_does_not_stop_an_interval() {
    let _serial = serial();
    watchdog("a_reader_spinning_on_eof_does_not_stop_an_interval");
    let rt = one_worker();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let worst = rt.block_on({
        let stop_hog = stop.clone();
        let reads = reads.clone();
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (mut server_side, _) = listener.accept().await.unwrap();
            // The peer closes its write side: every read returns Ok(0) at
            // once, forever (READ_CLOSED is sticky). A buggy reader that
            // does not stop on EOF spins here.
            client.shutdown(std::net::Shutdown::Write).unwrap();
            let hog = weft::spawn(async move {
                let mut buf = [0u8; 64];
                while !stop_hog.load(Ordering::Relaxed) {
                    let n = server_side.read(&mut buf).await.unwrap();
                    assert_eq!(n, 0);
                    reads.fetch_add(1, Ordering::Relaxed);
                }
                drop(client);
            });
            let gaps = weft::spawn(interval_gaps(20));
            let worst = gaps.await.unwrap();
            // Tell the hog to stop (it sees the flag at its next read).
            stop.store(true, Ordering::Relaxed);
            hog.await.unwrap();
            worst
        }
    });
    let reads = reads.load(Ordering::Relaxed);
    println!("worst gap between 10 ms ticks: {worst:?}; the spinning reader did {reads} reads");
    assert!(reads > 10_000, "the reader must really have been spinning ({reads} reads)");
    assert!(worst < Duration::from_millis(60), "interval starved: worst gap {worst:?}");
}

#[test]
fn a_reader_of_an_endless_stream_does_not_stop_an_interval() {
    let _serial = serial();
    watchdog("a_reader_of_an_endless_stream_does_not_stop_an_interval");
    let rt = one_worker();
    // A plain thread keeps the peer's socket buffer full; the task reads one
    // byte at a time, so the socket is always readable.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut s, _) = std_listener.accept().unwrap();
            let chunk = [1u8; 64 * 1024];
            while !done.load(Ordering::Relaxed) {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        })
    };
    let reads = Arc::new(AtomicU64::new(0));
    let worst = rt.block_on({
        let done = done.clone();
        let reads = reads.clone();
        async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let done_hog = done.clone();
            let hog = weft::spawn(async move {
                let mut byte = [0u8; 1];
                while !done_hog.load(Ordering::Relaxed) {
                    if stream.read(&mut byte).await.unwrap() == 0 {
                        break;
                    }
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            });
            let worst = weft::spawn(interval_gaps(20)).await.unwrap();
            done.store(true, Ordering::Relaxed);
            hog.await.unwrap();
            worst
        }
    });
    done.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let reads = reads.load(Ordering::Relaxed);
    println!("worst gap between 10 ms ticks: {worst:?}; the reader did {reads} one-byte reads");
    assert!(reads > 10_000, "the reader must really have been busy ({reads} reads)");
    assert!(worst < Duration::from_millis(60), "interval starved: worst gap {worst:?}");
}
