//! What weft sees of the machine and what it decides: the CPUs this
//! process may use (affinity mask ∩ cgroup cpuset), the cgroup CPU quota,
//! the NUMA nodes, the worker count under both rounding rules, and where
//! workers would be pinned under each policy.
//!
//! ```text
//! cargo run --release --example topology
//! cargo run --release --example topology -- tests/fixtures/numa_4node 0-15
//! ```
//!
//! With a fixture root and an affinity list, it reads that tree instead of
//! the running system (pinning is then planned, not applied).

use weft::topology::{CpuSet, Pinning, Rounding};
use weft::Builder;

fn builder(fixture: &Option<(String, CpuSet)>) -> Builder {
    let mut b = Builder::new();
    b.quota_refresh(None);
    if let Some((root, affinity)) = fixture {
        b.topology_fixture(root, affinity.clone());
    }
    b
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fixture = match args.as_slice() {
        [] => None,
        [root, list] => match CpuSet::parse(list) {
            Ok(set) => Some((root.clone(), set)),
            Err(e) => {
                eprintln!("topology: {e}");
                std::process::exit(2);
            }
        },
        _ => {
            eprintln!("usage: topology [FIXTURE_ROOT AFFINITY_LIST]");
            std::process::exit(2);
        }
    };
    let rt = match builder(&fixture).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("topology: cannot build a runtime: {e}");
            std::process::exit(1);
        }
    };
    let topo = rt.topology();
    println!("allowed CPUs : {} ({} CPUs)", topo.allowed_cpus(), topo.allowed_cpus().len());
    match topo.quota() {
        Some(q) => {
            println!("CPU quota    : {:.3} CPUs ({:?}, from {})", q.cpus, q.version, q.cgroup.display())
        }
        None => println!("CPU quota    : none"),
    }
    println!("NUMA nodes   : {}", topo.nodes().len());
    for node in topo.nodes() {
        println!("  node{}: cpus {} distances {:?}", node.id, node.cpus, node.distances);
    }
    let up = topo
        .quota()
        .map_or(topo.allowed_cpus().len(), |q| Rounding::Up.apply(q.cpus).min(topo.allowed_cpus().len()));
    let down = topo
        .quota()
        .map_or(topo.allowed_cpus().len(), |q| Rounding::Down.apply(q.cpus).min(topo.allowed_cpus().len()));
    println!(
        "workers      : {} (source {:?}, {:?}); round up -> {up}, round down -> {down}; {} threads",
        topo.num_workers(),
        topo.count_source(),
        topo.rounding(),
        topo.worker_threads()
    );
    for pinning in [Pinning::Spread, Pinning::Compact] {
        let name = format!("{pinning:?}");
        match builder(&fixture).pin_workers(pinning).build() {
            Ok(rt) => {
                let plan: Vec<String> = rt
                    .topology()
                    .placement()
                    .iter()
                    .map(|p| match (p.cpu, p.node) {
                        (Some(cpu), Some(node)) => format!("w{}->cpu{cpu}/n{node}", p.worker),
                        (Some(cpu), None) => format!("w{}->cpu{cpu}", p.worker),
                        _ => format!("w{}->any", p.worker),
                    })
                    .collect();
                println!("pinning {name:<8}: {}", plan.join(" "));
            }
            Err(e) => println!("pinning {name:<8}: {e}"),
        }
    }
    println!("one line     : {topo}");
}
