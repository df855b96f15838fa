//! Without the `topology` feature the runtime reads nothing from /proc or
//! /sys: `std::thread::available_parallelism()` workers, fixed at build
//! time, on one NUMA node, unpinned, with no quota, and
//! `Runtime::topology()` reports exactly that. Runs in
//! `cargo test --no-default-features` (CI's "features" step).

#![cfg(not(feature = "topology"))]

use weft::topology::{CountSource, Pinning};

#[test]
fn the_default_runtime_runs_available_parallelism_workers_on_one_node() {
    if std::env::var_os("WEFT_WORKER_THREADS").is_some() {
        eprintln!("WEFT_WORKER_THREADS is set: it decides the count, nothing to check here");
        return;
    }
    let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let rt = weft::Runtime::new().unwrap();
    let topo = rt.topology();
    assert_eq!(topo.count_source(), CountSource::Detected);
    assert_eq!(topo.num_workers(), n, "{topo}");
    assert_eq!(topo.worker_threads(), n, "{topo}");
    assert_eq!(topo.allowed_cpus().len(), n, "{topo}");
    assert_eq!(topo.nodes().len(), 1, "{topo}");
    assert_eq!(topo.nodes()[0].cpus.len(), n, "{topo}");
    assert!(topo.quota().is_none(), "{topo}");
    assert_eq!(topo.pinning(), &Pinning::None);
    assert!(topo.placement().iter().all(|p| p.cpu.is_none()), "{topo}");
    assert_eq!(rt.metrics().active_workers(), n);
    assert_eq!(rt.block_on(rt.spawn(async { 6 * 7 })).unwrap(), 42);
}

#[test]
fn worker_threads_still_fixes_the_count() {
    let rt = weft::Runtime::builder().worker_threads(3).build().unwrap();
    assert_eq!(rt.topology().num_workers(), 3);
    assert_eq!(rt.topology().count_source(), CountSource::Builder);
    assert_eq!(rt.topology().nodes().len(), 1);
}
