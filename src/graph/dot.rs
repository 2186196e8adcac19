//! Graphviz DOT.

use std::fmt::Write;

use super::{EdgeKind, Graph, NodeKind};

/// The graph in Graphviz DOT (`dot -Tsvg` draws it).
pub fn to_dot(g: &Graph) -> String {
    let mut out = String::from(
        "digraph topology {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    for n in &g.nodes {
        let (shape, color) = match n.kind {
            NodeKind::Exchange => ("hexagon", "#fde8c8"),
            NodeKind::Queue => ("cylinder", "#dbeafe"),
            NodeKind::Service => ("box, style=\"rounded,filled\"", "#dcfce7"),
        };
        let style = if n.kind == NodeKind::Service {
            ""
        } else {
            ", style=filled"
        };
        let _ = writeln!(
            out,
            "  {} [shape={shape}{style}, fillcolor=\"{color}\", label=\"{}\\n{}\"];",
            n.id,
            escape(&n.name),
            escape(&n.detail)
        );
    }
    for e in &g.edges {
        let style = match e.kind {
            EdgeKind::Binding | EdgeKind::Consumes | EdgeKind::Emits => "solid",
            EdgeKind::Alternate | EdgeKind::DeadLetter | EdgeKind::Retry => "dashed",
        };
        let _ = writeln!(
            out,
            "  {} -> {} [style={style}, label=\"{}\"];",
            e.from,
            e.to,
            escape(&e.label)
        );
    }
    out.push_str("}\n");
    out
}

/// DOT strings escape backslashes and quotes.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
