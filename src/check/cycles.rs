//! The loops of a directed graph of named things (queues that dead-letter
//! into each other, services that trigger each other), found once for the
//! checks that look for them.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// Nodes are named by `N`: a name, or anything else that tells nodes
/// apart (the service-loop check adds a node per group of queues, so that
/// thousands of services bound by one pattern cost one edge each).
pub struct Cycles<N> {
    graph: DiGraph<N, ()>,
    index: HashMap<N, NodeIndex>,
    /// `update_edge` would scan a node's edges for a duplicate: with every
    /// node reaching every other that made the checks cubic.
    edges: HashSet<(NodeIndex, NodeIndex)>,
}

impl<N: Copy + Eq + Hash> Cycles<N> {
    pub fn new(nodes: impl IntoIterator<Item = N>) -> Cycles<N> {
        let mut cycles = Cycles {
            graph: DiGraph::new(),
            index: HashMap::new(),
            edges: HashSet::new(),
        };
        for name in nodes {
            cycles.node(name);
        }
        cycles
    }

    pub fn contains(&self, name: N) -> bool {
        self.index.contains_key(&name)
    }

    /// Adds a node (once).
    pub fn node(&mut self, name: N) {
        if !self.index.contains_key(&name) {
            let node = self.graph.add_node(name);
            self.index.insert(name, node);
        }
    }

    /// An edge from `from` to `to`, once however often it is given; names
    /// that are not nodes are passed over.
    pub fn edge(&mut self, from: N, to: N) {
        let (Some(&a), Some(&b)) = (self.index.get(&from), self.index.get(&to)) else {
            return;
        };
        if self.edges.insert((a, b)) {
            self.graph.add_edge(a, b, ());
        }
    }

    /// Each loop: a strongly connected component of more than one node, or
    /// one node with an edge to itself, in the order Tarjan's algorithm
    /// finds its nodes.
    pub fn loops(&self) -> Vec<Vec<N>> {
        tarjan_scc(&self.graph)
            .into_iter()
            .filter(|c| c.len() > 1 || self.graph.contains_edge(c[0], c[0]))
            .map(|c| c.iter().map(|&n| self.graph[n]).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_are_components_that_cycle_or_nodes_that_reach_themselves() {
        let mut c = Cycles::new(["a", "b", "c", "d", "e"]);
        for (from, to) in [
            ("b", "a"),
            ("a", "b"),
            ("a", "b"),
            ("b", "c"),
            ("d", "d"),
            ("e", "x"),
        ] {
            c.edge(from, to);
        }
        let mut loops = c.loops();
        for l in &mut loops {
            l.sort_unstable();
        }
        loops.sort();
        assert_eq!(loops, [vec!["a", "b"], vec!["d"]]);
    }
}
