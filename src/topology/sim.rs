//! A deterministic model of work stealing on the 4-node fixture, counting
//! cross-node steals with a flat victim order and with the node-aware one.
//! Both orders come from `victim_tiers`, the function the scheduler uses.
//!
//! The model, its limits and the figures: docs/design/topology-sim.md.
//! Run: `cargo test --lib topology::sim -- --nocapture`.

use std::collections::VecDeque;

// `REMOTE_STEAL_AFTER`: consecutive rounds in which an idle worker finds
// nothing on its own node before it also tries remote nodes, the rule the
// scheduler follows. The remote attempt happens in the round of the R-th
// failure.
use super::placement::{plan, victim_tiers, REMOTE_STEAL_AFTER};
use super::{CpuSet, Detected, Pinning};
/// Most tasks one steal takes (crossbeam's batch limit).
const STEAL_LIMIT: usize = 32;
/// Chance, in percent, of each of a task's two child slots being used.
const SPAWN_PERCENT: u64 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    /// Every other worker once, from a random start (Go, tokio).
    Flat,
    /// Own node first; remote tiers in order after repeated failures.
    NodeAware,
}

/// Bursts of root tasks, `every` rounds apart, on a random worker or
/// always on worker 0 (`hot`).
#[derive(Clone, Copy)]
struct Workload {
    name: &'static str,
    hot: bool,
    bursts: u64,
    every: u64,
    roots: usize,
    depth: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Stats {
    tasks: u64,
    steals: u64,
    cross_steals: u64,
    cross_tasks: u64,
    /// Sum over tasks moved across nodes of the distance they moved.
    cross_distance: u64,
    rounds: u64,
}

/// xorshift64.
struct Rng(u64);

impl Rng {
    /// Never zero (xorshift's fixed point).
    fn new(seed: u64) -> Rng {
        Rng(mix(seed) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// splitmix64's finalizer.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A task; its seed decides its children, so both policies run the same
/// task trees whatever order they run them in.
#[derive(Clone, Copy)]
struct Task {
    depth: u32,
    seed: u64,
}

impl Task {
    fn children(self) -> impl Iterator<Item = Task> {
        (1..=2u64).filter_map(move |slot| {
            let seed = mix(self.seed ^ slot);
            (self.depth > 0 && seed % 100 < SPAWN_PERCENT).then(|| Task { depth: self.depth - 1, seed })
        })
    }

    fn tree_size(self) -> u64 {
        1 + self.children().map(Task::tree_size).sum::<u64>()
    }
}

/// The 4-node fixture tree, tests/fixtures/numa_4node, read by the real
/// readers (`detect`): 16 CPUs, node k = CPUs 2k, 2k+1, 2k+8, 2k+9, SMT
/// siblings (c, c+8), distances 10/16/32.
fn four_nodes() -> Detected {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/numa_4node");
    let detected = super::detect(&super::Sources { root, affinity: Some(CpuSet::from_iter(0..16)) });
    assert!(detected.problems.is_empty(), "fixture problems: {:?}", detected.problems);
    assert_eq!(detected.nodes.len(), 4);
    detected
}

/// `(round, worker, roots)` for every burst; drawn from their own RNG so
/// both policies see the same arrivals.
fn arrivals(w: Workload, workers: usize, seed: u64) -> Vec<(u64, usize, Vec<Task>)> {
    let mut rng = Rng::new(seed);
    (0..w.bursts)
        .map(|b| {
            let target = if w.hot { 0 } else { rng.below(workers) };
            let roots = (0..w.roots).map(|_| Task { depth: w.depth, seed: rng.next() }).collect();
            (b * w.every, target, roots)
        })
        .collect()
}

/// The first non-empty queue in `tier`, from a random start.
fn pick(tier: &[usize], queues: &[VecDeque<Task>], rng: &mut Rng) -> Option<usize> {
    let start = rng.below(tier.len());
    (0..tier.len()).map(|i| tier[(start + i) % tier.len()]).find(|&v| !queues[v].is_empty())
}

fn simulate(w: Workload, policy: Policy, seed: u64) -> Stats {
    let detected = four_nodes();
    let placement = plan(&Pinning::Spread, &detected, 16).expect("the fixture allows 16 CPUs");
    let tiers = victim_tiers(&placement, &detected.nodes);
    let node: Vec<usize> = placement.iter().map(|p| p.node.expect("Spread pins to a node")).collect();
    let n = placement.len();
    let arrivals = arrivals(w, n, seed);
    let mut rng = Rng::new(!seed);
    let mut queues = vec![VecDeque::new(); n];
    let mut failures = vec![0u32; n];
    let mut stats = Stats::default();
    let mut next = 0;
    while next < arrivals.len() || queues.iter().any(|q| !q.is_empty()) {
        while next < arrivals.len() && arrivals[next].0 == stats.rounds {
            let (_, target, roots) = &arrivals[next];
            queues[*target].extend(roots.iter().copied());
            next += 1;
        }
        let start = rng.below(n);
        for me in (0..n).map(|i| (start + i) % n) {
            if queues[me].is_empty() {
                let mine = &tiers[me];
                let victim = match policy {
                    Policy::Flat => {
                        let mut all: Vec<usize> = mine.concat();
                        all.sort_unstable();
                        pick(&all, &queues, &mut rng)
                    }
                    Policy::NodeAware => {
                        let local = mine.first().filter(|t| node[t[0]] == node[me]);
                        let remote = &mine[usize::from(local.is_some())..];
                        local.and_then(|t| pick(t, &queues, &mut rng)).or_else(|| {
                            failures[me] += 1;
                            if failures[me] < REMOTE_STEAL_AFTER {
                                return None;
                            }
                            remote.iter().find_map(|t| pick(t, &queues, &mut rng))
                        })
                    }
                };
                let Some(victim) = victim else { continue };
                let take = queues[victim].len().div_ceil(2).min(STEAL_LIMIT);
                let stolen: Vec<Task> = queues[victim].drain(..take).collect();
                queues[me].extend(stolen);
                stats.steals += 1;
                if node[victim] != node[me] {
                    stats.cross_steals += 1;
                    stats.cross_tasks += take as u64;
                    stats.cross_distance +=
                        take as u64 * u64::from(detected.nodes[node[me]].distances[node[victim]]);
                }
            }
            failures[me] = 0;
            let task = queues[me].pop_front().expect("the queue has a task");
            stats.tasks += 1;
            queues[me].extend(task.children());
        }
        stats.rounds += 1;
    }
    stats
}

/// Steady arrivals at about 65% load (a tree averages 21 tasks), scattered
/// or all on worker 0; and one fork-join burst of ~2,000 tasks on worker 0,
/// where `rounds` is the makespan.
const WORKLOADS: [Workload; 3] = [
    Workload { name: "scattered", hot: false, bursts: 100, every: 8, roots: 4, depth: 8 },
    Workload { name: "hot worker", hot: true, bursts: 100, every: 8, roots: 4, depth: 8 },
    Workload { name: "one burst", hot: true, bursts: 1, every: 1, roots: 64, depth: 10 },
];
const SEEDS: [u64; 3] = [1, 2, 3];

#[test]
fn node_aware_stealing_crosses_nodes_less_than_flat() {
    let mut table = String::from(
        "| workload | seed | policy | tasks | steals | cross-node steals | tasks moved across | distance-weighted | rounds |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for w in WORKLOADS {
        for seed in SEEDS {
            let expected: u64 = arrivals(w, 16, seed).iter().flat_map(|a| &a.2).map(|t| t.tree_size()).sum();
            let flat = simulate(w, Policy::Flat, seed);
            let aware = simulate(w, Policy::NodeAware, seed);
            for (policy, s) in [(Policy::Flat, &flat), (Policy::NodeAware, &aware)] {
                table += &format!(
                    "| {} | {seed} | {policy:?} | {} | {} | {} | {} | {} | {} |\n",
                    w.name, s.tasks, s.steals, s.cross_steals, s.cross_tasks, s.cross_distance, s.rounds
                );
                // Every task runs exactly once.
                assert_eq!(s.tasks, expected, "{} seed {seed} {policy:?}", w.name);
            }
            assert!(aware.cross_steals < flat.cross_steals, "{} seed {seed}: {aware:?} vs {flat:?}", w.name);
            assert!(aware.cross_tasks < flat.cross_tasks, "{} seed {seed}: {aware:?} vs {flat:?}", w.name);
        }
    }
    // One print: the other test's output cannot cut the table.
    print!("{table}");
}

#[test]
fn simulation_is_deterministic() {
    let w = WORKLOADS[0];
    assert_eq!(simulate(w, Policy::NodeAware, 7), simulate(w, Policy::NodeAware, 7));
    assert_eq!(simulate(w, Policy::Flat, 7), simulate(w, Policy::Flat, 7));
}
