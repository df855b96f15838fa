//! NUMA nodes, distances and SMT siblings from /sys. (stub: helper fills in)

use super::{CpuSet, NumaNode, Sources};

/// NUMA nodes restricted to `allowed`; one node with every allowed CPU if
/// the machine has no node directory.
pub(crate) fn read_nodes(_src: &Sources, allowed: &CpuSet, _problems: &mut Vec<String>) -> Vec<NumaNode> {
    vec![NumaNode { id: 0, cpus: allowed.clone(), distances: vec![10] }]
}

/// For every allowed CPU, `(cpu, core)` where core is the lowest CPU among
/// its SMT siblings.
pub(crate) fn read_cores(
    _src: &Sources,
    allowed: &CpuSet,
    _problems: &mut Vec<String>,
) -> Vec<(usize, usize)> {
    allowed.iter().map(|c| (c, c)).collect()
}
