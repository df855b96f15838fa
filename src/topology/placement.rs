//! The pinning plan and the NUMA-aware victim order.
//!
//! `plan` turns a [`Pinning`] policy and the detected machine into one
//! [`WorkerPlacement`] per worker thread; `victim_tiers` turns a placement
//! into the order in which each worker visits the others when it steals.
//!
//! Orders:
//! - Within a node: the first CPU of every physical core, then the second
//!   SMT sibling of every core, and so on (cores by their lowest CPU). Two
//!   busy workers on one core share its execution units, so siblings come
//!   last.
//! - `Spread`: round-robin over the nodes by index, skipping nodes whose
//!   CPUs are used up. So the first `k` workers cover as many nodes as
//!   they can, for every `k`: the runtime deactivates the highest-numbered
//!   workers when the CPU quota drops, and the ones left stay spread.
//! - `Compact`: node after node, starting at node 0, then the nearest
//!   remaining node to the previous one (ties: lower index).
//! - Allowed CPUs that no node lists (a partial /sys) form one group after
//!   the nodes, with `node: None`.
//!
//! Distances come from `NumaNode::distances`; a missing entry between two
//! different nodes counts as 20, the kernel's default remote distance.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Detected, NumaNode, Pinning, WorkerPlacement};

/// A worker pinned to a NUMA node steals from workers on other nodes (the
/// later tiers of `victim_tiers`) only after this many consecutive searches
/// found nothing on its own node: one empty pass is often a race with a
/// neighbour that just took the work, and a cross-node steal moves the
/// task's memory traffic to a remote node for the rest of its life
/// (docs/design/topology.md). Part of the NUMA policy, so it lives here,
/// below both the scheduler and the stealing simulation (`sim.rs`).
pub(crate) const REMOTE_STEAL_AFTER: u32 = 2;

/// The kernel's `LOCAL_DISTANCE`.
const LOCAL_DISTANCE: u32 = 10;
/// The kernel's `REMOTE_DISTANCE`, assumed when a distance is missing.
const DEFAULT_REMOTE_DISTANCE: u32 = 20;

/// Where each of `threads` workers goes under `pinning`. Errors name the
/// offending input (a CPU in `Pinning::Cpus` that is not allowed, an empty
/// list).
pub(crate) fn plan(
    pinning: &Pinning,
    detected: &Detected,
    threads: usize,
) -> Result<Vec<WorkerPlacement>, String> {
    let order: Vec<(usize, Option<usize>)> = match pinning {
        Pinning::None => {
            return Ok((0..threads).map(|worker| WorkerPlacement { worker, cpu: None, node: None }).collect())
        }
        Pinning::Cpus(list) => {
            if list.is_empty() {
                return Err("Pinning::Cpus: empty CPU list".to_string());
            }
            if let Some(&cpu) = list.iter().find(|&&cpu| !detected.allowed.contains(cpu)) {
                return Err(format!(
                    "Pinning::Cpus: CPU {cpu} is not allowed for this process (allowed: {})",
                    detected.allowed
                ));
            }
            let groups = groups(detected);
            let node_of = |cpu| groups.iter().find(|g| g.cpus.contains(&cpu)).and_then(|g| g.node);
            list.iter().map(|&cpu| (cpu, node_of(cpu))).collect()
        }
        Pinning::Spread => spread_order(&groups(detected)),
        Pinning::Compact => compact_order(groups(detected), &detected.nodes),
    };
    if threads == 0 {
        return Ok(Vec::new());
    }
    if order.is_empty() {
        return Err(format!("Pinning::{pinning:?}: no allowed CPU to pin to"));
    }
    Ok((0..threads)
        .map(|worker| {
            let (cpu, node) = order[worker % order.len()];
            WorkerPlacement { worker, cpu: Some(cpu), node }
        })
        .collect())
}

/// For each worker, the other workers it steals from, in tiers: tier 0 is
/// its own node, then one tier per other node in increasing distance
/// (ties: lower node index). Empty tiers are left out. If any worker is
/// unpinned (no node), every worker gets one tier with every other worker:
/// node-aware stealing needs the whole placement.
///
/// `placement[i]` is worker `i`; `nodes` gives the distances.
pub(crate) fn victim_tiers(placement: &[WorkerPlacement], nodes: &[NumaNode]) -> Vec<Vec<Vec<usize>>> {
    let n = placement.len();
    let all_pinned = placement.iter().all(|p| p.node.is_some());
    let others = |w: usize| (0..n).filter(move |&v| v != w);
    (0..n)
        .map(|w| {
            let Some(home) = placement[w].node.filter(|_| all_pinned) else {
                let flat: Vec<usize> = others(w).collect();
                return if flat.is_empty() { Vec::new() } else { vec![flat] };
            };
            let mut remote: Vec<usize> = placement
                .iter()
                .filter_map(|p| p.node)
                .filter(|&node| node != home)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            remote.sort_by_key(|&node| distance(nodes, home, node));
            // One tier per distinct distance: nodes equally far away share a
            // tier, so the random start spreads steals over all of them
            // instead of favouring the lowest-numbered one.
            let mut tiers: Vec<Vec<usize>> =
                vec![others(w).filter(|&v| placement[v].node == Some(home)).collect()];
            let mut last = None;
            for node in remote {
                let d = distance(nodes, home, node);
                if last != Some(d) {
                    tiers.push(Vec::new());
                    last = Some(d);
                }
                let tier = tiers.last_mut().expect("pushed above");
                tier.extend(others(w).filter(|&v| placement[v].node == Some(node)));
            }
            tiers.retain(|tier| !tier.is_empty());
            tiers
        })
        .collect()
}

/// Distance from node index `from` to node index `to`.
fn distance(nodes: &[NumaNode], from: usize, to: usize) -> u32 {
    if from == to {
        return LOCAL_DISTANCE;
    }
    nodes.get(from).and_then(|n| n.distances.get(to)).copied().unwrap_or(DEFAULT_REMOTE_DISTANCE)
}

/// The allowed CPUs of one node (index into `Detected::nodes`, or `None`
/// for CPUs no node lists), physical cores first.
struct Group {
    node: Option<usize>,
    cpus: Vec<usize>,
}

/// One group per node (possibly empty), then the unlisted allowed CPUs. A
/// CPU listed by two nodes belongs to the first.
fn groups(detected: &Detected) -> Vec<Group> {
    let core_of: HashMap<usize, usize> = detected.core_of.iter().copied().collect();
    let mut seen = BTreeSet::new();
    let mut groups: Vec<Group> = detected
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let cpus: Vec<usize> =
                node.cpus.iter().filter(|&c| detected.allowed.contains(c) && seen.insert(c)).collect();
            Group { node: Some(i), cpus: cores_first(&cpus, &core_of) }
        })
        .collect();
    let unlisted: Vec<usize> = detected.allowed.iter().filter(|c| !seen.contains(c)).collect();
    if !unlisted.is_empty() {
        groups.push(Group { node: None, cpus: cores_first(&unlisted, &core_of) });
    }
    groups
}

/// `cpus` ordered by (rank among the allowed siblings of its core, core).
/// A CPU missing from `core_of` is its own core.
fn cores_first(cpus: &[usize], core_of: &HashMap<usize, usize>) -> Vec<usize> {
    let mut by_core: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &cpu in cpus {
        by_core.entry(core_of.get(&cpu).copied().unwrap_or(cpu)).or_default().push(cpu);
    }
    let mut keyed: Vec<(usize, usize, usize)> = Vec::with_capacity(cpus.len());
    for (core, mut siblings) in by_core {
        siblings.sort_unstable();
        keyed.extend(siblings.into_iter().enumerate().map(|(rank, cpu)| (rank, core, cpu)));
    }
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, cpu)| cpu).collect()
}

/// The i-th CPU of every group in turn, then the (i+1)-th, ...
fn spread_order(groups: &[Group]) -> Vec<(usize, Option<usize>)> {
    let longest = groups.iter().map(|g| g.cpus.len()).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| groups.iter().filter_map(move |g| g.cpus.get(i).map(|&cpu| (cpu, g.node))))
        .collect()
}

/// Whole groups, the first non-empty one first, then always the nearest
/// remaining one; unlisted CPUs last.
fn compact_order(groups: Vec<Group>, nodes: &[NumaNode]) -> Vec<(usize, Option<usize>)> {
    let mut rest: Vec<Group> = groups.into_iter().filter(|g| !g.cpus.is_empty()).collect();
    let mut order = Vec::new();
    let mut prev: Option<usize> = None;
    while !rest.is_empty() {
        // `min_by_key` keeps the first of equal keys: `rest` is in index order.
        let next = match prev {
            None => 0,
            Some(p) => {
                let dist = |g: &Group| g.node.map_or(u32::MAX, |node| distance(nodes, p, node));
                (0..rest.len()).min_by_key(|&i| dist(&rest[i])).unwrap_or(0)
            }
        };
        let group = rest.remove(next);
        order.extend(group.cpus.iter().map(|&cpu| (cpu, group.node)));
        prev = group.node;
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::CpuSet;

    /// `nodes` nodes of 4 CPUs (node k = 4k..4k+3), SMT siblings (4k, 4k+2)
    /// and (4k+1, 4k+3).
    fn fixture(distances: &[&[u32]]) -> Detected {
        let n = distances.len();
        let nodes = (0..n)
            .map(|k| NumaNode {
                id: k,
                cpus: CpuSet::from_iter(4 * k..4 * k + 4),
                distances: distances[k].to_vec(),
            })
            .collect();
        let core_of = (0..4 * n).map(|c| (c, c - c % 4 + c % 2)).collect();
        Detected { allowed: CpuSet::from_iter(0..4 * n), nodes, core_of, ..Detected::default() }
    }

    fn two_nodes() -> Detected {
        fixture(&[&[10, 21], &[21, 10]])
    }

    fn four_nodes() -> Detected {
        fixture(&[&[10, 16, 32, 32], &[16, 10, 32, 32], &[32, 32, 10, 16], &[32, 32, 16, 10]])
    }

    /// (cpus, nodes) of a plan, checking worker indices on the way.
    fn run(pinning: Pinning, detected: &Detected, threads: usize) -> (Vec<usize>, Vec<usize>) {
        let plan = plan(&pinning, detected, threads).unwrap();
        assert_eq!(plan.len(), threads);
        assert!(plan.iter().enumerate().all(|(i, p)| p.worker == i));
        (plan.iter().map(|p| p.cpu.unwrap()).collect(), plan.iter().map(|p| p.node.unwrap()).collect())
    }

    fn pinned(nodes: &[usize]) -> Vec<WorkerPlacement> {
        nodes
            .iter()
            .enumerate()
            .map(|(worker, &node)| WorkerPlacement { worker, cpu: Some(worker), node: Some(node) })
            .collect()
    }

    #[test]
    fn none_leaves_every_worker_unpinned() {
        let plan = plan(&Pinning::None, &two_nodes(), 3).unwrap();
        assert!(plan.iter().enumerate().all(|(i, p)| p.worker == i && p.cpu.is_none() && p.node.is_none()));
        assert_eq!(plan.len(), 3);
    }

    #[test]
    fn zero_threads_is_an_empty_plan() {
        for p in [Pinning::None, Pinning::Spread, Pinning::Compact, Pinning::Cpus(vec![1])] {
            assert_eq!(plan(&p, &two_nodes(), 0), Ok(Vec::new()));
        }
    }

    #[test]
    fn spread_on_two_nodes() {
        let d = two_nodes();
        assert_eq!(run(Pinning::Spread, &d, 1), (vec![0], vec![0]));
        assert_eq!(run(Pinning::Spread, &d, 2), (vec![0, 4], vec![0, 1]));
        assert_eq!(run(Pinning::Spread, &d, 4), (vec![0, 4, 1, 5], vec![0, 1, 0, 1]));
        assert_eq!(run(Pinning::Spread, &d, 8), (vec![0, 4, 1, 5, 2, 6, 3, 7], vec![0, 1, 0, 1, 0, 1, 0, 1]));
    }

    #[test]
    fn spread_on_four_nodes() {
        let d = four_nodes();
        let all = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
        for threads in [1, 2, 4, 8, 16] {
            let nodes: Vec<usize> = (0..threads).map(|w| w % 4).collect();
            assert_eq!(run(Pinning::Spread, &d, threads), (all[..threads].to_vec(), nodes));
        }
    }

    #[test]
    fn spread_wraps_around_when_threads_exceed_cpus() {
        let (cpus, nodes) = run(Pinning::Spread, &two_nodes(), 10);
        assert_eq!(cpus, [0, 4, 1, 5, 2, 6, 3, 7, 0, 4]);
        assert_eq!(nodes, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn spread_prefixes_cover_as_many_nodes_as_possible() {
        // Uneven nodes: 1, 3 and 2 allowed CPUs.
        let mut uneven = four_nodes();
        uneven.allowed = CpuSet::parse("0,4-6,8-9").unwrap();
        for d in [two_nodes(), four_nodes(), uneven] {
            let populated: Vec<usize> =
                d.nodes.iter().map(|n| n.cpus.intersection(&d.allowed).len()).collect();
            let (_, nodes) = run(Pinning::Spread, &d, d.allowed.len());
            for k in 1..=nodes.len() {
                let covered: BTreeSet<usize> = nodes[..k].iter().copied().collect();
                // Every populated node has a CPU, so k workers can cover
                // min(k, populated nodes) nodes.
                let best = populated.iter().filter(|&&c| c > 0).count().min(k);
                assert_eq!(covered.len(), best, "k={k} covered {covered:?}");
            }
        }
    }

    #[test]
    fn physical_cores_come_before_siblings_even_without_the_lowest_sibling() {
        let mut d = two_nodes();
        d.allowed = CpuSet::parse("1-3,5").unwrap();
        // Node 0: core 0 = {2}, core 1 = {1, 3}.
        assert_eq!(run(Pinning::Spread, &d, 4), (vec![2, 5, 1, 3], vec![0, 1, 0, 0]));
        assert_eq!(run(Pinning::Compact, &d, 4), (vec![2, 1, 3, 5], vec![0, 0, 0, 1]));
        // Adjacent siblings (0, 1), (2, 3).
        d = two_nodes();
        d.core_of = (0..8).map(|c| (c, c - c % 2)).collect();
        assert_eq!(run(Pinning::Compact, &d, 4).0, [0, 2, 1, 3]);
    }

    #[test]
    fn compact_on_two_nodes() {
        let d = two_nodes();
        assert_eq!(run(Pinning::Compact, &d, 1), (vec![0], vec![0]));
        assert_eq!(run(Pinning::Compact, &d, 2), (vec![0, 1], vec![0, 0]));
        assert_eq!(run(Pinning::Compact, &d, 4), (vec![0, 1, 2, 3], vec![0, 0, 0, 0]));
        assert_eq!(
            run(Pinning::Compact, &d, 8),
            (vec![0, 1, 2, 3, 4, 5, 6, 7], vec![0, 0, 0, 0, 1, 1, 1, 1])
        );
    }

    #[test]
    fn compact_on_four_nodes() {
        let d = four_nodes();
        for threads in [1, 2, 4, 8, 16] {
            let nodes: Vec<usize> = (0..threads).map(|w| w / 4).collect();
            assert_eq!(run(Pinning::Compact, &d, threads), ((0..threads).collect(), nodes));
        }
        // Wraps around.
        assert_eq!(run(Pinning::Compact, &d, 18).0[16..], [0, 1]);
    }

    #[test]
    fn compact_goes_to_the_nearest_node_next() {
        // Node 2 is nearer to node 0 than node 1; node 1 nearest to node 2.
        let d = fixture(&[&[10, 30, 20], &[30, 10, 20], &[20, 20, 10]]);
        let (_, nodes) = run(Pinning::Compact, &d, 12);
        assert_eq!(nodes, [0, 0, 0, 0, 2, 2, 2, 2, 1, 1, 1, 1]);
        // Missing distances count as 20: index order.
        let mut d = four_nodes();
        d.nodes.iter_mut().for_each(|n| n.distances.clear());
        assert_eq!(run(Pinning::Compact, &d, 16).0, (0..16).collect::<Vec<_>>());
    }

    #[test]
    fn cpus_on_two_and_four_nodes() {
        let d = two_nodes();
        let list = Pinning::Cpus(vec![3, 5]);
        assert_eq!(run(list.clone(), &d, 1), (vec![3], vec![0]));
        assert_eq!(run(list.clone(), &d, 2), (vec![3, 5], vec![0, 1]));
        assert_eq!(run(list.clone(), &d, 4), (vec![3, 5, 3, 5], vec![0, 1, 0, 1]));
        assert_eq!(run(list, &d, 8), (vec![3, 5, 3, 5, 3, 5, 3, 5], vec![0, 1, 0, 1, 0, 1, 0, 1]));
        let d = four_nodes();
        let list = Pinning::Cpus(vec![15, 0, 9]);
        for threads in [1, 2, 4, 8, 16] {
            let cpus: Vec<usize> = (0..threads).map(|w| [15, 0, 9][w % 3]).collect();
            let nodes: Vec<usize> = cpus.iter().map(|c| c / 4).collect();
            assert_eq!(run(list.clone(), &d, threads), (cpus, nodes));
        }
    }

    #[test]
    fn cpus_rejects_an_empty_list_and_disallowed_cpus() {
        let mut d = two_nodes();
        d.allowed = CpuSet::parse("0-3").unwrap();
        assert_eq!(plan(&Pinning::Cpus(vec![]), &d, 2), Err("Pinning::Cpus: empty CPU list".to_string()));
        assert_eq!(
            plan(&Pinning::Cpus(vec![1, 7]), &d, 2),
            Err("Pinning::Cpus: CPU 7 is not allowed for this process (allowed: 0-3)".to_string())
        );
    }

    #[test]
    fn cpus_without_a_node_are_placed_with_node_none() {
        let d = Detected { allowed: CpuSet::parse("0-1").unwrap(), ..Detected::default() };
        let plan = plan(&Pinning::Spread, &d, 3).unwrap();
        assert_eq!(
            plan.iter().map(|p| (p.cpu, p.node)).collect::<Vec<_>>(),
            [(Some(0), None), (Some(1), None), (Some(0), None)]
        );
        assert_eq!(victim_tiers(&plan, &d.nodes), [vec![vec![1, 2]], vec![vec![0, 2]], vec![vec![0, 1]]]);
    }

    #[test]
    fn spread_with_no_allowed_cpu_is_an_error() {
        let d = Detected::default();
        assert_eq!(
            plan(&Pinning::Spread, &d, 1),
            Err("Pinning::Spread: no allowed CPU to pin to".to_string())
        );
    }

    #[test]
    fn victim_tiers_on_two_nodes() {
        let d = two_nodes();
        let tiers = victim_tiers(&plan(&Pinning::Spread, &d, 8).unwrap(), &d.nodes);
        assert_eq!(tiers[0], [vec![2, 4, 6], vec![1, 3, 5, 7]]);
        assert_eq!(tiers[1], [vec![3, 5, 7], vec![0, 2, 4, 6]]);
        assert_eq!(tiers[6], [vec![0, 2, 4], vec![1, 3, 5, 7]]);
        let tiers = victim_tiers(&plan(&Pinning::Compact, &d, 8).unwrap(), &d.nodes);
        assert_eq!(tiers[5], [vec![4, 6, 7], vec![0, 1, 2, 3]]);
        // One worker per node: no tier 0.
        let tiers = victim_tiers(&plan(&Pinning::Spread, &d, 2).unwrap(), &d.nodes);
        assert_eq!(tiers, [vec![vec![1]], vec![vec![0]]]);
    }

    #[test]
    fn victim_tiers_on_four_nodes() {
        let d = four_nodes();
        let tiers = victim_tiers(&plan(&Pinning::Spread, &d, 16).unwrap(), &d.nodes);
        let on = |node: usize| vec![node, node + 4, node + 8, node + 12];
        let both = |a: usize, b: usize| [on(a), on(b)].concat();
        assert_eq!(tiers[0], [vec![4, 8, 12], on(1), both(2, 3)]);
        assert_eq!(tiers[1], [vec![5, 9, 13], on(0), both(2, 3)]);
        assert_eq!(tiers[2], [vec![6, 10, 14], on(3), both(0, 1)]);
        assert_eq!(tiers[15], [vec![3, 7, 11], on(2), both(0, 1)]);
        // Equal distances (32 to both far nodes) share one tier.
        let tiers = victim_tiers(&plan(&Pinning::Spread, &d, 4).unwrap(), &d.nodes);
        assert_eq!(
            tiers,
            [
                vec![vec![1], vec![2, 3]],
                vec![vec![0], vec![2, 3]],
                vec![vec![3], vec![0, 1]],
                vec![vec![2], vec![0, 1]],
            ]
        );
        let tiers = victim_tiers(&plan(&Pinning::Compact, &d, 8).unwrap(), &d.nodes);
        assert_eq!(tiers[0], [vec![1, 2, 3], vec![4, 5, 6, 7]]);
        let tiers = victim_tiers(&plan(&Pinning::Compact, &d, 2).unwrap(), &d.nodes);
        assert_eq!(tiers, [vec![vec![1]], vec![vec![0]]]);
    }

    #[test]
    fn victim_tiers_fall_back_to_one_flat_tier() {
        let d = four_nodes();
        let unpinned = plan(&Pinning::None, &d, 3).unwrap();
        assert_eq!(victim_tiers(&unpinned, &d.nodes), [vec![vec![1, 2]], vec![vec![0, 2]], vec![vec![0, 1]]]);
        // One unpinned worker flattens everyone's tiers.
        let mut mixed = pinned(&[0, 1, 1]);
        mixed[2].node = None;
        assert_eq!(victim_tiers(&mixed, &d.nodes), [vec![vec![1, 2]], vec![vec![0, 2]], vec![vec![0, 1]]]);
        // A single worker has no victims.
        assert_eq!(victim_tiers(&pinned(&[0]), &d.nodes), [Vec::<Vec<usize>>::new()]);
        assert!(victim_tiers(&[], &d.nodes).is_empty());
    }

    #[test]
    fn victim_tiers_treat_missing_distances_as_20() {
        // Node 0 lists no distances; node 1 says node 2 is at 15, node 0 at 30.
        let nodes: Vec<NumaNode> = [vec![], vec![30, 10, 15], vec![]]
            .into_iter()
            .enumerate()
            .map(|(id, distances)| NumaNode { id, cpus: CpuSet::new(), distances })
            .collect();
        let tiers = victim_tiers(&pinned(&[0, 1, 2, 0]), &nodes);
        // Node 0 has no distances: both others at the default 20, one tier.
        assert_eq!(tiers[0], [vec![3], vec![1, 2]]);
        assert_eq!(tiers[1], [vec![2], vec![0, 3]]);
        assert_eq!(tiers[2], [vec![0, 3, 1]]);
    }
}
