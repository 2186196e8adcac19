//! Pictures of a topology: a neutral [`Graph`] built from the model, and
//! renderers for Mermaid and Graphviz DOT. Pure: `cli/graph.rs` runs `dot`
//! for SVG.

mod build;
mod dot;
mod mermaid;

pub use build::{Edge, EdgeKind, Graph, Node, NodeKind, build};
pub use dot::to_dot;
pub use mermaid::to_mermaid;
