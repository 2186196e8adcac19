//! W323 service-event-loop: services that trigger each other in a cycle.

use super::cycles::Cycles;
use super::{Context, list};
use crate::diagnostic::{Diagnostic, codes};
use crate::routing::Headers;

/// A node of the graph: a service, or a group of queues that one emit
/// reaches together ([`crate::routing::QueueGroup`]). Through the groups,
/// n services that each consume everything make 2n edges, not n².
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Node<'a> {
    Service(&'a str),
    Group((usize, usize)),
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let t = cx.topology;
    let mut graph = Cycles::new(t.services.keys().map(|s| Node::Service(s.as_str())));
    // Which services consume each queue, so that a group's edges cost the
    // queues it holds, once.
    let mut consumers: std::collections::HashMap<&str, Vec<&str>> = Default::default();
    for target in t.services.values() {
        if let Some(q) = &target.queue {
            consumers.entry(q).or_default().push(&target.name);
        }
    }
    let none = Headers::new();
    for s in t.services.values() {
        for e in &s.emits {
            let Ok(groups) = cx.router.reach_groups(&e.exchange, &e.key, &none) else {
                continue;
            };
            for group in groups {
                let node = Node::Group(group.id());
                if !graph.contains(node) {
                    graph.node(node);
                    for queue in group.queues() {
                        for target in consumers.get(queue).into_iter().flatten() {
                            graph.edge(node, Node::Service(target));
                        }
                    }
                }
                graph.edge(Node::Service(&s.name), node);
            }
        }
    }
    for found in graph.loops() {
        let mut names: Vec<&str> = found
            .into_iter()
            .filter_map(|n| match n {
                Node::Service(name) => Some(name),
                Node::Group(_) => None,
            })
            .collect();
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
