//! Tests against the real broker, each in a vhost of its own.

mod apply;
mod coexist;
mod differential;
mod library;
mod plan;
mod policies;
mod round_trip;
mod routing_differential;
mod status;
mod upgrade;
mod versions;
mod vhost;
