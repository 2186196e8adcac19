//! W323 service-event-loop: services that trigger each other in a cycle.

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

use super::{Context, list};
use crate::diagnostic::{Diagnostic, codes};
use crate::routing::Headers;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let t = cx.topology;
    let mut graph = DiGraph::<&str, ()>::new();
    let nodes: std::collections::HashMap<&str, _> = t
        .services
        .keys()
        .map(|name| (name.as_str(), graph.add_node(name.as_str())))
        .collect();
    // Which services consume each queue, so that an emit's edges cost the
    // queues it reaches, not every service.
    let mut consumers: std::collections::HashMap<&str, Vec<&str>> = Default::default();
    for target in t.services.values() {
        if let Some(q) = &target.queue {
            consumers.entry(q).or_default().push(&target.name);
        }
    }
    let none = Headers::new();
    // `update_edge` scans a node's edges for a duplicate: with every service
    // reaching every queue (`keys: ["#"]`) that made the check cubic.
    let mut edges = std::collections::HashSet::new();
    for s in t.services.values() {
        for e in &s.emits {
            let Ok(route) = cx.router.reach(&e.exchange, &e.key, &none) else {
                continue;
            };
            for queue in &route.queues {
                for target in consumers.get(*queue).into_iter().flatten() {
                    let edge = (nodes[s.name.as_str()], nodes[target]);
                    if edges.insert(edge) {
                        graph.add_edge(edge.0, edge.1, ());
                    }
                }
            }
        }
    }
    for component in tarjan_scc(&graph) {
        let looped = component.len() > 1 || graph.contains_edge(component[0], component[0]);
        if !looped {
            continue;
        }
        let mut names: Vec<&str> = component.iter().map(|&n| graph[n]).collect();
        names.sort_unstable();
        let mut diagnostic = Diagnostic::new(
            &codes::SERVICE_EVENT_LOOP,
            if names.len() == 1 {
                format!("service {:?} consumes an event it emits itself", names[0])
            } else {
                format!("services {} trigger each other in a loop", list(&names))
            },
        )
        .help("one event can circle forever: narrow a consumer's keys, or emit a distinct key at the end of the chain");
        for name in &names {
            diagnostic = diagnostic.label(t.services[*name].origin.span, "in the loop");
        }
        out.push(diagnostic);
    }
}
