//! The order in which a plan's changes run, from a dependency graph
//! (petgraph): what a change needs is declared before it, what it names is
//! removed after it.
//!
//! Creates, updates and replaces run first, in the order RabbitMQ needs:
//! the vhost, users, their permissions, policies (so queues are born with
//! them), exchanges (an alternate exchange before the exchange that names
//! it), topic permissions (RabbitMQ 4.3 refuses one for an exchange that
//! does not exist), queues, bindings. Deletes follow in the reverse order,
//! bindings first, so that nothing stops being routed before its
//! replacement exists.
//! Changes in one layer do not depend on each other and may run at once.

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};

use super::{Action, Change, Object, ObjectKind};

/// Where a change stands in the sequence; a change waits for every change
/// of a lower rank.
fn rank(change: &Change) -> u8 {
    use ObjectKind::*;
    let declare = match change.kind {
        Vhost => 0,
        User => 1,
        Permissions => 2,
        Policy => 3,
        Exchange => 4,
        TopicPermissions => 5,
        Queue => 6,
        Binding => 7,
    };
    match change.action {
        Action::Delete => 15 - declare,
        _ => declare,
    }
}

/// The changes in layers: each layer's changes depend only on earlier
/// layers. Indices into `changes`.
pub fn layers(changes: &[Change]) -> Vec<Vec<usize>> {
    let mut graph: DiGraph<Option<usize>, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..changes.len())
        .map(|i| graph.add_node(Some(i)))
        .collect();
    // One barrier per rank keeps the edges linear in the number of changes.
    let mut ranks: Vec<u8> = changes.iter().map(rank).collect();
    ranks.sort_unstable();
    ranks.dedup();
    let barriers: Vec<(u8, NodeIndex)> = ranks.iter().map(|&r| (r, graph.add_node(None))).collect();
    let barrier_of = |r: u8| barriers.iter().position(|(b, _)| *b == r);
    for (i, change) in changes.iter().enumerate() {
        let at = barrier_of(rank(change)).unwrap_or_default();
        graph.add_edge(nodes[i], barriers[at].1, ());
        if at > 0 {
            graph.add_edge(barriers[at - 1].1, nodes[i], ());
        }
    }
    alternate_exchanges_first(&mut graph, changes, &nodes);
    let order = toposort(&graph, None).unwrap_or_default();
    let mut depth = vec![0usize; graph.node_count()];
    for &n in &order {
        let d = depth[n.index()] + usize::from(graph[n].is_some());
        for next in graph.neighbors(n) {
            depth[next.index()] = depth[next.index()].max(d);
        }
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let d = depth[n.index()];
        if out.len() <= d {
            out.resize(d + 1, Vec::new());
        }
        out[d].push(i);
    }
    out.retain(|layer| !layer.is_empty());
    for layer in &mut out {
        layer.sort_by(|&a, &b| {
            (rank(&changes[a]), &changes[a].name).cmp(&(rank(&changes[b]), &changes[b].name))
        });
    }
    out
}

/// An exchange declared with an alternate exchange that is declared in the
/// same plan waits for it. RabbitMQ accepts a name that does not exist yet,
/// so a cycle of alternate exchanges is left unordered.
fn alternate_exchanges_first(
    graph: &mut DiGraph<Option<usize>, ()>,
    changes: &[Change],
    nodes: &[NodeIndex],
) {
    let declared = |name: &str| {
        changes.iter().position(|c| {
            c.kind == ObjectKind::Exchange && c.action != Action::Delete && c.name == name
        })
    };
    let mut added = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        if c.action == Action::Delete {
            continue;
        }
        if let Some(Object::Exchange(x)) = &c.desired
            && let Some(ae) = x.alternate_exchange.as_deref()
            && let Some(j) = declared(ae).filter(|&j| j != i)
        {
            added.push(graph.add_edge(nodes[j], nodes[i], ()));
        }
    }
    if petgraph::algo::is_cyclic_directed(&*graph) {
        for edge in added.into_iter().rev() {
            graph.remove_edge(edge);
        }
    }
}

/// Puts the changes of `plan` in the order they run.
pub fn sort(changes: &mut Vec<Change>) {
    let order: Vec<usize> = layers(changes).into_iter().flatten().collect();
    let mut taken: Vec<Option<Change>> = std::mem::take(changes).into_iter().map(Some).collect();
    changes.extend(order.into_iter().filter_map(|i| taken[i].take()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Key;
    use crate::topology::{Exchange, ExchangeType, Origin};

    fn change(action: Action, kind: ObjectKind, name: &str) -> Change {
        Change::new(action, kind, name, Key::Named(kind, name.into()))
    }

    fn exchange(name: &str, ae: Option<&str>) -> Change {
        let mut x = Exchange::new(name, ExchangeType::Fanout, Origin::default());
        x.alternate_exchange = ae.map(String::from);
        let mut c = change(Action::Create, ObjectKind::Exchange, name);
        c.desired = Some(Object::Exchange(x));
        c
    }

    fn names(changes: &[Change], layers: &[Vec<usize>]) -> Vec<Vec<String>> {
        layers
            .iter()
            .map(|l| l.iter().map(|&i| changes[i].name.clone()).collect())
            .collect()
    }

    #[test]
    fn declares_in_dependency_order_and_deletes_in_reverse() {
        let changes = vec![
            change(Action::Delete, ObjectKind::Queue, "old.q"),
            change(Action::Create, ObjectKind::Binding, "b"),
            change(Action::Delete, ObjectKind::Binding, "old.b"),
            change(Action::Replace, ObjectKind::Queue, "q"),
            exchange("x", Some("spill")),
            exchange("spill", None),
            change(Action::Update, ObjectKind::Policy, "p"),
            change(Action::Create, ObjectKind::User, "u"),
            change(Action::Create, ObjectKind::Permissions, "u"),
            change(Action::Create, ObjectKind::TopicPermissions, "u on x"),
            change(Action::Create, ObjectKind::Vhost, "v"),
            change(Action::Delete, ObjectKind::Exchange, "old.x"),
            change(Action::Delete, ObjectKind::TopicPermissions, "u on old.x"),
        ];
        let layers = layers(&changes);
        assert_eq!(
            names(&changes, &layers),
            [
                vec!["v"],
                vec!["u"],
                vec!["u"],
                vec!["p"],
                vec!["spill"],
                vec!["x"],
                vec!["u on x"],
                vec!["q"],
                vec!["b"],
                vec!["old.b"],
                vec!["old.q"],
                vec!["u on old.x"],
                vec!["old.x"],
            ]
        );
    }

    #[test]
    fn independent_changes_share_a_layer_and_alternate_exchange_cycles_do_not_block() {
        let changes = vec![
            exchange("a", Some("b")),
            exchange("b", Some("a")),
            change(Action::Create, ObjectKind::Queue, "q1"),
            change(Action::Create, ObjectKind::Queue, "q2"),
        ];
        let layers = layers(&changes);
        assert_eq!(names(&changes, &layers), [vec!["a", "b"], vec!["q1", "q2"]]);
        let mut sorted = changes.clone();
        sort(&mut sorted);
        let order: Vec<&str> = sorted.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(order, ["a", "b", "q1", "q2"]);
    }
}
