//! Integration tests, linked as one binary.

mod broken;
mod broker;
mod cli;
mod definitions;
mod docs;
mod graph;
mod proptests;
mod schema;
mod support;
mod topologies;
