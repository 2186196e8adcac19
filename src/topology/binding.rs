use serde::Serialize;

use super::exchange::is_plain;
use super::{Arguments, Origin};

/// What a binding delivers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DestinationType {
    /// A queue.
    Queue,
    /// Another exchange (an exchange-to-exchange binding).
    Exchange,
}

/// A binding from an exchange to a queue or to another exchange.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Binding {
    /// The exchange the binding starts at.
    pub source: String,
    /// The queue or exchange it delivers to.
    pub destination: String,
    /// Whether `destination` is a queue or an exchange.
    pub destination_type: DestinationType,
    /// The key it matches (a pattern on a topic exchange); fanout and
    /// headers exchanges ignore it.
    pub routing_key: String,
    /// Binding arguments, in canonical form: on a headers exchange, the
    /// headers it matches and `x-match`.
    #[serde(skip_serializing_if = "Arguments::is_empty")]
    pub arguments: Arguments,
    /// Where in the spec it was declared.
    #[serde(skip_serializing_if = "is_plain")]
    pub origin: Origin,
}
