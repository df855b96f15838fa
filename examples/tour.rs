//! A tour of weft: start a runtime, spawn a storm of tasks that spawn, yield,
//! wake each other and join, then print what the runtime did.
//!
//! Run with `cargo run --release --example tour`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let rt = weft::Runtime::new().expect("start the runtime");
    println!("weft tour: runtime with {} worker threads", rt.metrics().num_workers());

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

    let m = rt.metrics();
    println!("\nwhat the runtime did:\n{m}");
    println!(
        "total polls {}, tasks stolen {}, tasks still alive {}",
        m.total_polls(),
        m.total_steals(),
        m.num_alive_tasks()
    );
}
