use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Spanned;
use crate::vocabulary::HeadersMatch;

/// A binding. Inside a queue block it binds that queue; at the top level it
/// names its destination with `queue:` or `to_exchange:`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingSpec {
    /// Source exchange.
    pub exchange: Spanned<String>,
    /// Destination queue (top-level bindings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Spanned<String>>,
    /// Destination exchange (top-level bindings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_exchange: Option<Spanned<String>>,
    /// Binding key (routing key pattern for topic exchanges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Spanned<String>>,
    /// Several binding keys: one binding each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<Spanned<String>>,
    /// Headers to match, for headers exchanges.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<Spanned<String>, serde_json::Value>,
    /// How `headers` match (`x-match`, default all).
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub match_: Option<Spanned<HeadersMatch>>,
    /// Raw binding arguments.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub arguments: BTreeMap<Spanned<String>, serde_json::Value>,
}
