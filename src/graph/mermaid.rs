//! Mermaid flowchart.

use std::fmt::Write;

use super::{EdgeKind, Graph, NodeKind};

/// A `flowchart LR`: exchanges as hexagons, queues as cylinders, services
/// as stadiums; dotted edges for dead letters, retries and alternates.
pub fn to_mermaid(g: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for n in &g.nodes {
        let label = format!(
            "{}<br/><small>{}</small>",
            escape(&n.name),
            escape(&n.detail)
        );
        let _ = match n.kind {
            NodeKind::Exchange => writeln!(out, "  {}{{{{\"{label}\"}}}}", n.id),
            NodeKind::Queue => writeln!(out, "  {}[(\"{label}\")]", n.id),
            NodeKind::Service => writeln!(out, "  {}([\"{label}\"])", n.id),
        };
    }
    for e in &g.edges {
        let arrow = match e.kind {
            EdgeKind::Binding | EdgeKind::Consumes | EdgeKind::Emits => "-->",
            EdgeKind::Alternate | EdgeKind::DeadLetter | EdgeKind::Retry => "-.->",
        };
        let _ = if e.label.is_empty() {
            writeln!(out, "  {} {arrow} {}", e.from, e.to)
        } else {
            writeln!(
                out,
                "  {} {arrow}|\"{}\"| {}",
                e.from,
                escape(&e.label),
                e.to
            )
        };
    }
    out.push_str("  classDef exchange fill:#fde8c8,stroke:#c77700\n");
    out.push_str("  classDef queue fill:#dbeafe,stroke:#1d4ed8\n");
    out.push_str("  classDef service fill:#dcfce7,stroke:#15803d\n");
    for (kind, class) in [
        (NodeKind::Exchange, "exchange"),
        (NodeKind::Queue, "queue"),
        (NodeKind::Service, "service"),
    ] {
        let ids: Vec<&str> = g
            .nodes
            .iter()
            .filter(|n| n.kind == kind)
            .map(|n| n.id.as_str())
            .collect();
        if !ids.is_empty() {
            let _ = writeln!(out, "  class {} {class}", ids.join(","));
        }
    }
    out
}

/// Mermaid labels are quoted; quotes and angle brackets become entities.
fn escape(text: &str) -> String {
    text.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}
