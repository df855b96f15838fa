//! NUMA nodes, distances and SMT siblings from /sys.
//!
//! - `/sys/devices/system/node/node<N>/cpulist`: the node's CPUs.
//! - `/sys/devices/system/node/node<N>/distance`: one number per node, in
//!   ascending node-id order (10 = local).
//! - `/sys/devices/system/cpu/cpu<N>/topology/thread_siblings_list` (or its
//!   newer name `core_cpus_list`): the CPUs sharing `cpu<N>`'s core.
//!
//! A machine without /sys/devices/system/node is one node; a CPU without
//! topology files is its own core. Anything unreadable is a problem and a
//! safe default, never a panic.

use super::mountinfo::{excerpt, read_text};
use super::{CpuSet, NumaNode, Sources};
use std::io;

/// Distance to the node itself, and to another node when unknown (the
/// kernel's LOCAL_DISTANCE and REMOTE_DISTANCE).
const LOCAL_DISTANCE: u32 = 10;
const REMOTE_DISTANCE: u32 = 20;

/// NUMA nodes restricted to `allowed`; one node with every allowed CPU if
/// the machine has no node directory.
///
/// Only nodes holding an allowed CPU are returned, sorted by id, and each
/// node's `distances` follow that order. Allowed CPUs that no node lists
/// go to the first node (with a problem).
pub(crate) fn read_nodes(src: &Sources, allowed: &CpuSet, problems: &mut Vec<String>) -> Vec<NumaNode> {
    let node_dir = src.path("/sys/devices/system/node");
    let ids = match node_ids(&node_dir) {
        Ok(ids) => ids,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            problems.push(format!("cannot list {} ({e}); assuming one NUMA node", node_dir.display()));
            Vec::new()
        }
    };
    if ids.is_empty() {
        return one_node(allowed);
    }

    // Every node (also memory-only ones): the distance rows count them all.
    let cpus: Vec<CpuSet> = ids
        .iter()
        .map(|id| {
            let path = node_dir.join(format!("node{id}/cpulist"));
            match read_text(&path) {
                Ok(Some(text)) => CpuSet::parse(&text).unwrap_or_else(|e| {
                    problems.push(format!("{}: {e}; treating the node as CPU-less", path.display()));
                    CpuSet::new()
                }),
                Ok(None) => {
                    problems.push(format!("{} is missing; treating the node as CPU-less", path.display()));
                    CpuSet::new()
                }
                Err(e) => {
                    problems
                        .push(format!("cannot read {} ({e}); treating the node as CPU-less", path.display()));
                    CpuSet::new()
                }
            }
        })
        .collect();
    let rows: Vec<Vec<u32>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let path = node_dir.join(format!("node{id}/distance"));
            distance_row(read_text(&path), ids.len()).unwrap_or_else(|why| {
                problems.push(format!(
                    "{}: {why}; assuming {LOCAL_DISTANCE} to itself and {REMOTE_DISTANCE} to the others",
                    path.display()
                ));
                (0..ids.len()).map(|j| if i == j { LOCAL_DISTANCE } else { REMOTE_DISTANCE }).collect()
            })
        })
        .collect();

    let unplaced: CpuSet = allowed.iter().filter(|&cpu| !cpus.iter().any(|set| set.contains(cpu))).collect();
    let kept: Vec<usize> = (0..ids.len()).filter(|&i| !cpus[i].intersection(allowed).is_empty()).collect();
    if !unplaced.is_empty() {
        problems.push(format!(
            "allowed CPUs {unplaced} are on no NUMA node in {}; counting them on the first node",
            node_dir.display()
        ));
    }
    if kept.is_empty() {
        return one_node(allowed);
    }
    let mut nodes: Vec<NumaNode> = kept
        .iter()
        .map(|&i| NumaNode {
            id: ids[i],
            cpus: cpus[i].intersection(allowed),
            distances: kept.iter().map(|&j| rows[i][j]).collect(),
        })
        .collect();
    if let Some(first) = nodes.first_mut() {
        first.cpus = first.cpus.iter().chain(unplaced.iter()).collect();
    }
    nodes
}

/// The single-node fallback.
fn one_node(allowed: &CpuSet) -> Vec<NumaNode> {
    vec![NumaNode { id: 0, cpus: allowed.clone(), distances: vec![LOCAL_DISTANCE] }]
}

/// The `N` of every `node<N>` entry in `dir`, ascending.
fn node_ids(dir: &std::path::Path) -> io::Result<Vec<usize>> {
    let mut ids: Vec<usize> = std::fs::read_dir(dir)?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            let digits = name.to_str()?.strip_prefix("node")?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok()
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// One `distance` file: exactly `nodes` numbers, or why not.
pub(super) fn distance_row(read: io::Result<Option<String>>, nodes: usize) -> Result<Vec<u32>, String> {
    let text = match read {
        Ok(Some(text)) => text,
        Ok(None) => return Err("missing".to_string()),
        Err(e) => return Err(format!("unreadable ({e})")),
    };
    let row: Option<Vec<u32>> = text.split_ascii_whitespace().map(|d| d.parse().ok()).collect();
    match row {
        Some(row) if row.len() == nodes => Ok(row),
        Some(row) => Err(format!("{} distances for {nodes} nodes in {:?}", row.len(), excerpt(&text))),
        None => Err(format!("malformed content {:?}", excerpt(&text))),
    }
}

/// For every allowed CPU, `(cpu, core)` where core is the lowest CPU among
/// its SMT siblings.
pub(crate) fn read_cores(src: &Sources, allowed: &CpuSet, problems: &mut Vec<String>) -> Vec<(usize, usize)> {
    let cpu_dir = src.path("/sys/devices/system/cpu");
    if !cpu_dir.is_dir() {
        return allowed.iter().map(|c| (c, c)).collect();
    }
    let mut missing = Vec::new();
    let mut found_any = false;
    let cores = allowed
        .iter()
        .map(|cpu| {
            for file in ["thread_siblings_list", "core_cpus_list"] {
                let path = cpu_dir.join(format!("cpu{cpu}/topology/{file}"));
                match read_text(&path) {
                    Ok(None) => continue,
                    Ok(Some(text)) => {
                        found_any = true;
                        return match CpuSet::parse(&text) {
                            // The CPU itself counts even if the list omits it.
                            Ok(siblings) => (cpu, siblings.iter().next().map_or(cpu, |low| low.min(cpu))),
                            Err(e) => {
                                problems.push(format!(
                                    "{}: {e}; treating CPU {cpu} as its own core",
                                    path.display()
                                ));
                                (cpu, cpu)
                            }
                        };
                    }
                    Err(e) => {
                        problems.push(format!(
                            "cannot read {} ({e}); treating CPU {cpu} as its own core",
                            path.display()
                        ));
                        return (cpu, cpu);
                    }
                }
            }
            missing.push(cpu);
            (cpu, cpu)
        })
        .collect();
    // No topology files at all (some containers and VMs) is not worth a
    // note; some present and some not is.
    if found_any && !missing.is_empty() {
        let missing: CpuSet = missing.into_iter().collect();
        problems.push(format!(
            "no thread_siblings_list or core_cpus_list for CPUs {missing} under {}; treating each as its own core",
            cpu_dir.display()
        ));
    }
    cores
}

#[cfg(all(test, not(loom)))]
#[path = "numa_tests.rs"]
mod tests;
