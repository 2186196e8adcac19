use serde::Serialize;

use super::{ApplyTo, Arguments, Origin};

/// A policy, with its definition keys as RabbitMQ names them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Policy {
    /// The map key in [`Topology`](super::Topology); not repeated in output.
    #[serde(skip)]
    pub name: String,
    pub pattern: String,
    pub apply_to: ApplyTo,
    pub priority: i64,
    pub definition: Arguments,
    #[serde(skip)]
    pub origin: Origin,
}
