//! Counts cross-node steals of the real scheduler on a simulated NUMA
//! machine: the 4-node fixture tree (tests/fixtures/numa_4node, 16 CPUs),
//! 16 workers placed by `Pinning::Spread` (planned, not applied: this
//! machine has one node), once with node-local stealing and once with it
//! turned off. The workload is a fork-join tree spawned from worker 0's
//! side, repeated, so idle workers on every node must steal.
//!
//! ```text
//! cargo run --release --example numa_steals
//! ```
//!
//! The figures are recorded in docs/design/topology.md. With only a few
//! real cores the 16 threads are oversubscribed, so the counts vary from
//! run to run; compare the two rows of one run.

use std::path::Path;
use std::time::Instant;
use weft::topology::{CpuSet, Pinning};

fn tree(depth: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            // A little work per leaf.
            let mut x = 0u64;
            for i in 0..200u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            return std::hint::black_box(x) & 1;
        }
        let a = weft::spawn(tree(depth - 1));
        let b = weft::spawn(tree(depth - 1));
        a.await.unwrap_or(0) + b.await.unwrap_or(0) + 1
    })
}

fn run(numa_aware: bool) -> (u64, u64, u64, std::time::Duration) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/numa_4node");
    let rt = weft::Runtime::builder()
        .topology_fixture(root, CpuSet::parse("0-15").expect("list"))
        .worker_threads(16)
        .pin_workers(Pinning::Spread)
        .numa_aware_stealing(numa_aware)
        .build()
        .expect("runtime");
    let start = Instant::now();
    let mut nodes = 0;
    for _ in 0..100 {
        nodes += rt.block_on(async { weft::spawn(tree(12)).await.expect("tree") });
    }
    let took = start.elapsed();
    let m = rt.metrics();
    let ops: u64 = m.workers().iter().map(|w| w.steal_operations()).sum();
    let remote: u64 = m.workers().iter().map(|w| w.remote_node_steals()).sum();
    (nodes, ops, remote, took)
}

fn main() {
    println!(
        "{:<22} {:>10} {:>12} {:>12} {:>8} {:>10}",
        "stealing", "tasks", "steal ops", "cross-node", "share", "time"
    );
    for (name, aware) in [("flat (random victim)", false), ("node-local first", true)] {
        let (tasks, ops, remote, took) = run(aware);
        let share = if ops == 0 { 0.0 } else { 100.0 * remote as f64 / ops as f64 };
        println!("{name:<22} {tasks:>10} {ops:>12} {remote:>12} {share:>7.1}% {took:>10.1?}");
    }
}
