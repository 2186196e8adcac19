//! The loops of a directed graph of named things (queues that dead-letter
//! into each other, services that trigger each other), found once for the
//! checks that look for them.

use std::collections::{HashMap, HashSet};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

#[derive(Default)]
pub struct Cycles<'a> {
    graph: DiGraph<&'a str, ()>,
    index: HashMap<&'a str, NodeIndex>,
    /// `update_edge` would scan a node's edges for a duplicate: with every
    /// node reaching every other that made the checks cubic.
    edges: HashSet<(NodeIndex, NodeIndex)>,
}

impl<'a> Cycles<'a> {
    pub fn new(nodes: impl IntoIterator<Item = &'a str>) -> Cycles<'a> {
        let mut cycles = Cycles::default();
        for name in nodes {
            let node = cycles.graph.add_node(name);
            cycles.index.insert(name, node);
        }
        cycles
    }

    /// An edge from `from` to `to`, once however often it is given; names
    /// that are not nodes are passed over.
    pub fn edge(&mut self, from: &str, to: &str) {
        let (Some(&a), Some(&b)) = (self.index.get(from), self.index.get(to)) else {
            return;
        };
        if self.edges.insert((a, b)) {
            self.graph.add_edge(a, b, ());
        }
    }

    /// Each loop: a strongly connected component of more than one node, or
    /// one node with an edge to itself, in the order Tarjan's algorithm
    /// finds its nodes.
    pub fn loops(&self) -> Vec<Vec<&'a str>> {
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
