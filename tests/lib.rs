//! Integration tests, linked as one binary.

/// Ends a broker test early when no broker answers; fails it instead under
/// `WARREN_REQUIRE_BROKER=1` (see `support::broker::available`).
macro_rules! needs_broker {
    () => {
        if !crate::support::broker::available() {
            return;
        }
    };
}

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
