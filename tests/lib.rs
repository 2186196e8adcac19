//! Integration tests, linked as one binary.

mod broken;
mod cli;
mod proptests;
mod schema;
mod support;
mod topologies;
