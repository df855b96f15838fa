//! The pinning plan and the NUMA-aware victim order. (stub: helper fills in)

use super::{Detected, Pinning, WorkerPlacement};

/// Where each of `threads` workers goes under `pinning`. Errors name the
/// offending input (a CPU in `Pinning::Cpus` that is not allowed, an empty
/// list).
pub(crate) fn plan(
    pinning: &Pinning,
    _detected: &Detected,
    threads: usize,
) -> Result<Vec<WorkerPlacement>, String> {
    match pinning {
        Pinning::None => {
            Ok((0..threads).map(|worker| WorkerPlacement { worker, cpu: None, node: None }).collect())
        }
        _ => Err("pinning is not implemented yet".to_string()),
    }
}

/// For each worker, the other workers it steals from, in tiers: tier 0 is
/// its own node, then one tier per other node in increasing distance.
/// Unpinned workers (no node) get one tier with every other worker.
pub(crate) fn victim_tiers(
    placement: &[WorkerPlacement],
    _nodes: &[super::NumaNode],
) -> Vec<Vec<Vec<usize>>> {
    let n = placement.len();
    (0..n).map(|w| vec![(0..n).filter(|&v| v != w).collect()]).collect()
}
