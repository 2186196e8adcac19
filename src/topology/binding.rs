use serde::Serialize;

use super::exchange::is_plain;
use super::{Arguments, Origin};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DestinationType {
    Queue,
    Exchange,
}

/// A binding from an exchange to a queue or to another exchange.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Binding {
    pub source: String,
    pub destination: String,
    pub destination_type: DestinationType,
    pub routing_key: String,
    #[serde(skip_serializing_if = "Arguments::is_empty")]
    pub arguments: Arguments,
    #[serde(skip_serializing_if = "is_plain")]
    pub origin: Origin,
}
