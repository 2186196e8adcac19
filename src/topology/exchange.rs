use serde::Serialize;

use super::{Arguments, ExchangeType, Origin};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exchange {
    /// The map key in [`Topology`](super::Topology); not repeated in output.
    #[serde(skip)]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ExchangeType,
    pub durable: bool,
    pub auto_delete: bool,
    pub internal: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternate_exchange: Option<String>,
    #[serde(skip_serializing_if = "Arguments::is_empty")]
    pub arguments: Arguments,
    #[serde(skip_serializing_if = "is_plain")]
    pub origin: Origin,
}

pub(crate) fn is_plain(origin: &Origin) -> bool {
    origin.generated_by.is_none()
}
