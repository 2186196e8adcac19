//! Topology to nodes and edges.

use std::collections::BTreeMap;

use crate::topology::{Consumer, DestinationType, Topology};

/// What a node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeKind {
    /// An exchange.
    Exchange,
    /// A queue.
    Queue,
    /// A service of the spec.
    Service,
}

/// An exchange, queue or service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Stable identifier safe in Mermaid and DOT (`x0`, `q3`, `s1`).
    pub id: String,
    /// What it stands for.
    pub kind: NodeKind,
    /// The object's name in the topology.
    pub name: String,
    /// Second line: exchange type, queue type, or handler kind.
    pub detail: String,
}

/// What an edge stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// A binding, labelled with its keys (or matched headers).
    Binding,
    /// Unroutable messages go to the alternate exchange.
    Alternate,
    /// Rejected, expired or overflowing messages.
    DeadLetter,
    /// A service reads the queue.
    Consumes,
    /// A service publishes these keys.
    Emits,
    /// A service republishes failed messages for a later attempt.
    Retry,
}

/// An arrow from one node to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The [`Node::id`] it starts at.
    pub from: String,
    /// The [`Node::id`] it ends at.
    pub to: String,
    /// What it stands for.
    pub kind: EdgeKind,
    /// The text drawn on it (binding keys, emitted keys, ...); empty for none.
    pub label: String,
}

/// The topology as nodes and edges, ready for a renderer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    /// Exchanges, then queues, then services.
    pub nodes: Vec<Node>,
    /// Bindings, alternate exchanges, dead-lettering, consuming, emitting and
    /// retries.
    pub edges: Vec<Edge>,
}

/// Builds the graph. Parallel bindings between the same two nodes merge
/// into one edge listing every key, which keeps large flows readable.
pub fn build(t: &Topology) -> Graph {
    let mut g = Graph::default();
    let mut ids: BTreeMap<(NodeKind, &str), String> = BTreeMap::new();
    for (i, x) in t.exchanges.values().enumerate() {
        let id = format!("x{i}");
        ids.insert((NodeKind::Exchange, &x.name), id.clone());
        let detail = if x.internal {
            format!("{} internal", x.kind)
        } else {
            x.kind.to_string()
        };
        g.nodes.push(Node {
            id,
            kind: NodeKind::Exchange,
            name: x.name.clone(),
            detail,
        });
    }
    for (i, q) in t.queues.values().enumerate() {
        let id = format!("q{i}");
        ids.insert((NodeKind::Queue, &q.name), id.clone());
        let mut detail = if q.per_instance {
            "one per instance, exclusive".to_string()
        } else {
            q.queue_type.to_string()
        };
        if let Some(ttl) = q.message_ttl() {
            detail.push_str(&format!(" ttl {}", crate::spec::Duration::from_millis(ttl)));
        }
        g.nodes.push(Node {
            id,
            kind: NodeKind::Queue,
            name: q.name.clone(),
            detail,
        });
    }
    for (i, s) in t.services.values().enumerate() {
        let id = format!("s{i}");
        ids.insert((NodeKind::Service, &s.name), id.clone());
        let detail = match &s.handler {
            Some(crate::topology::Handler::Exec(_)) => "service exec",
            Some(crate::topology::Handler::Stdio(_)) => "service stdio",
            Some(crate::topology::Handler::Http(_)) => "service http",
            None => "service",
        };
        g.nodes.push(Node {
            id,
            kind: NodeKind::Service,
            name: s.name.clone(),
            detail: detail.into(),
        });
    }
    let id = |kind: NodeKind, name: &str| ids.get(&(kind, name)).cloned();

    // Bindings, merged per (source, destination).
    let mut bindings: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for b in &t.bindings {
        let to_kind = match b.destination_type {
            DestinationType::Queue => NodeKind::Queue,
            DestinationType::Exchange => NodeKind::Exchange,
        };
        let (Some(from), Some(to)) = (
            id(NodeKind::Exchange, &b.source),
            id(to_kind, &b.destination),
        ) else {
            continue;
        };
        let label = if b.arguments.is_empty() {
            b.routing_key.clone()
        } else {
            b.arguments
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_string)
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        bindings.entry((from, to)).or_default().push(label);
    }
    for ((from, to), labels) in bindings {
        let labels: Vec<String> = labels.into_iter().filter(|l| !l.is_empty()).collect();
        g.edges.push(Edge {
            from,
            to,
            kind: EdgeKind::Binding,
            label: labels.join(", "),
        });
    }
    for x in t.exchanges.values() {
        if let (Some(from), Some(to)) = (
            id(NodeKind::Exchange, &x.name),
            x.alternate_exchange
                .as_deref()
                .and_then(|ae| id(NodeKind::Exchange, ae)),
        ) {
            g.edges.push(Edge {
                from,
                to,
                kind: EdgeKind::Alternate,
                label: "unrouted".into(),
            });
        }
    }
    for q in t.queues.values() {
        let Some(from) = id(NodeKind::Queue, &q.name) else {
            continue;
        };
        match (q.dead_letter_exchange(), q.dead_letter_routing_key()) {
            // Through the default exchange straight to a queue.
            (Some(""), Some(key)) => {
                if let Some(to) = id(NodeKind::Queue, key) {
                    let label = if q.consumer == Consumer::Expiry {
                        "after ttl"
                    } else {
                        "dead letter"
                    };
                    g.edges.push(Edge {
                        from,
                        to,
                        kind: EdgeKind::DeadLetter,
                        label: label.into(),
                    });
                }
            }
            (Some(dlx), key) if !dlx.is_empty() => {
                if let Some(to) = id(NodeKind::Exchange, dlx) {
                    let label =
                        key.map_or("dead letter".to_string(), |k| format!("dead letter {k}"));
                    g.edges.push(Edge {
                        from,
                        to,
                        kind: EdgeKind::DeadLetter,
                        label,
                    });
                }
            }
            _ => {}
        }
    }
    for s in t.services.values() {
        let Some(service) = id(NodeKind::Service, &s.name) else {
            continue;
        };
        if let Some(queue) = s.queue.as_deref().and_then(|q| id(NodeKind::Queue, q)) {
            g.edges.push(Edge {
                from: queue,
                to: service.clone(),
                kind: EdgeKind::Consumes,
                label: String::new(),
            });
        }
        // A delayed emit goes to its delay exchange; the graph's
        // dead-letter edge from the delay queue shows the rest.
        let mut emits: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for e in &s.emits {
            emits.entry(e.publish_exchange()).or_default().push(&e.key);
        }
        for (exchange, keys) in emits {
            if let Some(to) = id(NodeKind::Exchange, &exchange) {
                g.edges.push(Edge {
                    from: service.clone(),
                    to,
                    kind: EdgeKind::Emits,
                    label: keys.join(", "),
                });
            }
        }
        if let Some(retry) = &s.retry
            && let Some(to) = id(NodeKind::Exchange, &retry.exchange)
        {
            // A broker retry's redeliveries come from the service's own
            // queue; the edge to the retry exchange is the way to the DLQ.
            g.edges.push(Edge {
                from: service,
                to,
                kind: EdgeKind::Retry,
                label: match retry.broker {
                    Some(_) => format!("retry in queue {}", retry.waits()),
                    None => format!("retry {}", retry.waits()),
                },
            });
        }
    }
    g
}
