//! Cycles of a directed graph, for the diagnostics that name them. Each is a
//! path along real edges, so that `a → b → c → a` is a chain a reader can
//! follow; the components come from petgraph's Tarjan.

use std::collections::HashSet;
use std::hash::Hash;

use petgraph::visit::{IntoNeighbors, IntoNodeIdentifiers, NodeIndexable};

/// One cycle per strongly connected component that has one (a self-loop
/// included), as the nodes along it in edge order. The walk starts at the
/// component's smallest node and follows, at each node, its first neighbor
/// inside the component, so the result is as deterministic as the graph.
pub fn cycles<G>(graph: G) -> Vec<Vec<G::NodeId>>
where
    G: IntoNeighbors + IntoNodeIdentifiers + NodeIndexable,
    G::NodeId: Ord + Hash,
{
    let mut found: Vec<Vec<G::NodeId>> = cyclic_components(graph).iter().filter_map(|c| walk(graph, c)).collect();
    found.sort();
    found
}

/// The strongly connected components that hold a cycle: more than one node, or one with a self-loop.
pub fn cyclic_components<G>(graph: G) -> Vec<Vec<G::NodeId>>
where
    G: IntoNeighbors + IntoNodeIdentifiers + NodeIndexable,
{
    let mut components = petgraph::algo::tarjan_scc(graph);
    components.retain(|c| c.len() > 1 || graph.neighbors(c[0]).any(|n| n == c[0]));
    components
}

fn walk<G>(graph: G, component: &[G::NodeId]) -> Option<Vec<G::NodeId>>
where
    G: IntoNeighbors,
    G::NodeId: Ord + Hash,
{
    let members: HashSet<G::NodeId> = component.iter().copied().collect();
    let mut path = vec![*component.iter().min()?];
    loop {
        let current = *path.last()?;
        // Inside a component with a cycle every node has a successor in it.
        let next = graph.neighbors(current).find(|n| members.contains(n))?;
        if let Some(start) = path.iter().position(|&n| n == next) {
            return Some(path.split_off(start));
        }
        path.push(next);
    }
}

#[cfg(test)]
mod tests {
    use petgraph::graphmap::DiGraphMap;

    use super::cycles;

    #[test]
    fn each_cycle_is_a_path_along_edges() {
        // 0 → 2 → 1 → 0 (sorted members would read 0 → 1 → 2, which is no path), 3 → 3, 4 → 0.
        let graph: DiGraphMap<u32, (), std::hash::RandomState> = DiGraphMap::from_edges([(0, 2), (2, 1), (1, 0), (3, 3), (4, 0)]);
        assert_eq!(cycles(&graph), vec![vec![0, 2, 1], vec![3]]);
        let acyclic: DiGraphMap<u32, (), std::hash::RandomState> = DiGraphMap::from_edges([(0, 1), (1, 2), (0, 2)]);
        assert!(cycles(&acyclic).is_empty());
    }
}
