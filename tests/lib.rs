//! Integration tests, linked as one binary.

mod broken;
mod broker;
mod cli;
mod cluster;
mod definitions;
mod docs;
mod ecommerce;
mod fuzz;
mod graph;
mod hostile;
mod normal_form;
mod policies;
mod proptests;
mod schema;
mod support;
mod topologies;
mod worker;
