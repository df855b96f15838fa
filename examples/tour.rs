//! A tour of weft: start a runtime, spawn a storm of tasks that spawn, yield,
//! wake each other and join, then print what the runtime did and a task
//! dump of what is still alive.
//!
//! Run with `cargo run --release --example tour`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::net::{TcpListener, TcpStream};

fn main() {
    let rt = weft::Runtime::new().expect("start the runtime");
    println!("weft tour: runtime with {} worker threads", rt.metrics().num_workers());
    println!("   machine: {}", rt.topology());

    // 1. A storm: 100,000 tasks spawned from outside the runtime.
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..100_000u64)
        .map(|i| {
            let done = done.clone();
            rt.spawn(async move {
                done.fetch_add(1, Ordering::Relaxed);
                i
            })
        })
        .collect();
    let sum = rt.block_on(async move {
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("task failed");
        }
        sum
    });
    assert_eq!(sum, (0..100_000u64).sum::<u64>());
    println!("1. 100,000 remote spawns joined in {:?} (sum {sum})", start.elapsed());

    // 2. Tasks spawning tasks, with yields in between: a fan-out tree.
    let start = Instant::now();
    let leaves = rt.block_on(async {
        let roots: Vec<_> = (0..100)
            .map(|_| {
                weft::spawn(async {
                    let kids: Vec<_> = (0..100)
                        .map(|_| {
                            weft::spawn(async {
                                weft::task::yield_now().await;
                                1u64
                            })
                        })
                        .collect();
                    let mut n = 0;
                    for k in kids {
                        n += k.await.unwrap();
                    }
                    n
                })
            })
            .collect();
        let mut n = 0;
        for r in roots {
            n += r.await.unwrap();
        }
        n
    });
    println!("2. fan-out tree of {leaves} leaf tasks (with yields) in {:?}", start.elapsed());

    // 3. A panicking task does not take its worker down. (The default panic
    // hook would print a backtrace for this expected panic; print one line.)
    std::panic::set_hook(Box::new(|info| eprintln!("   (task panicked: {info})")));
    let err = rt.block_on(async {
        weft::spawn(async { panic!("boom (expected: the tour shows panic capture)") }).await
    });
    match err {
        Err(e) if e.is_panic() => println!("3. a panicking task became a JoinError: {e}"),
        other => panic!("expected a panic JoinError, got {other:?}"),
    }

    // 4. Abort: a task that would wait forever is cancelled.
    let aborted = rt.block_on(async {
        let h = weft::spawn(std::future::pending::<()>());
        h.abort();
        h.await
    });
    println!("4. aborted a pending task: cancelled = {}", aborted.unwrap_err().is_cancelled());

    // 5. Timers: sleeps across many tasks, a timeout, an interval.
    let start = Instant::now();
    let (slept, timed_out, ticks) = rt.block_on(async {
        let sleepers: Vec<_> = (0..1000u64)
            .map(|i| weft::spawn(async move { weft::time::sleep(Duration::from_millis(1 + i % 20)).await }))
            .collect();
        for s in sleepers {
            s.await.unwrap();
        }
        let slept = start.elapsed();
        let timed_out =
            weft::time::timeout(Duration::from_millis(5), std::future::pending::<()>()).await.is_err();
        let mut interval = weft::time::interval(Duration::from_millis(2));
        let t0 = Instant::now();
        for _ in 0..5 {
            interval.tick().await;
        }
        (slept, timed_out, t0.elapsed())
    });
    println!(
        "5. 1,000 sleeps of 1-20 ms done in {slept:?}; a 5 ms timeout fired: {timed_out}; 5 ticks of a 2 ms interval took {ticks:?}"
    );

    // 6. The netpoller: an echo server (one task per connection) driven by
    // 32 client tasks, all on the same runtime, over loopback.
    let start = Instant::now();
    let bytes = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        weft::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { continue };
                weft::spawn(async move {
                    let mut buf = [0u8; 4096];
                    loop {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if stream.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        });
        let clients: Vec<_> = (0..32)
            .map(|i| {
                weft::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.expect("connect");
                    s.set_nodelay(true).expect("nodelay");
                    let msg = [i as u8; 512];
                    let mut back = [0u8; 512];
                    for _ in 0..200 {
                        s.write_all(&msg).await.expect("write");
                        s.read_exact(&mut back).await.expect("read");
                        assert_eq!(back, msg);
                    }
                    200 * msg.len()
                })
            })
            .collect();
        let mut total = 0;
        for c in clients {
            total += c.await.unwrap();
        }
        total
    });
    println!(
        "6. echo server: 32 connections x 200 round trips of 512 bytes ({} KiB each way) in {:?}",
        bytes / 1024,
        start.elapsed()
    );

    let m = rt.metrics();
    println!("\nwhat the runtime did:\n{m}");
    println!(
        "total polls {}, tasks stolen {}, tasks still alive {} (the echo server's accept loop)",
        m.total_polls(),
        m.total_steals(),
        m.num_alive_tasks()
    );
    // Sampled histograms (one poll, one notification in 32): bucket bounds,
    // so each figure is an upper bound within a factor of two.
    let q = |h: &weft::metrics::PollHistogram, q: f64| match h.quantile(q) {
        Some(d) if d == Duration::MAX => "> 1.05s".to_string(),
        Some(d) => format!("<= {d:?}"),
        None => "n/a".to_string(),
    };
    let (polls, latency) = (m.poll_histogram(), m.schedule_latency_histogram());
    println!(
        "poll duration: p50 {}, p99 {} ({} sampled); schedule latency (runnable to polled): p50 {}, p99 {}, p99.9 {} ({} sampled)",
        q(&polls, 0.5),
        q(&polls, 0.99),
        polls.total_count(),
        q(&latency, 0.5),
        q(&latency, 0.99),
        q(&latency, 0.999),
        latency.total_count()
    );

    // 7. A task dump: every live task with its name, spawn site, state,
    // age and polls, grouped like Go's goroutine dump. Three named
    // sessions parked on a long timer, a task that finished but whose
    // JoinHandle was never awaited, and the echo server's accept loop.
    let _sessions: Vec<_> = (0..3)
        .map(|_| {
            weft::task::Builder::new()
                .name("session")
                .spawn_on(async { weft::time::sleep(Duration::from_secs(3600)).await }, rt.handle())
                .expect("a valid name")
        })
        .collect();
    let unjoined =
        weft::task::Builder::new().name("report").spawn_on(async { 42 }, rt.handle()).expect("name");
    while !unjoined.is_finished() {
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("\n7. {}", rt.dump());
}
