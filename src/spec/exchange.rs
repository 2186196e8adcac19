use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Spanned;
use crate::vocabulary::{ExchangeType, SettingsVia};

/// An exchange.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSpec {
    /// How the exchange routes: `direct` (key equals binding key), `fanout`
    /// (every binding), `topic` (key matches a `*`/`#` pattern), `headers`
    /// (header values), or a plugin type such as `x-consistent-hash`.
    #[serde(rename = "type")]
    pub kind: Spanned<ExchangeType>,
    /// Survives a broker restart (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durable: Option<bool>,
    /// Deleted when its last binding goes (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_delete: Option<bool>,
    /// Only other exchanges may publish to it (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<bool>,
    /// Where messages this exchange cannot route go, instead of being dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_exchange: Option<Spanned<String>>,
    /// `policy` gives the exchange its alternate exchange through a policy
    /// warren manages instead of an argument, so that an application's
    /// plain declaration of it is accepted (default: the file's
    /// `defaults.settings`, else `arguments`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Spanned<SettingsVia>>,
    /// Raw exchange arguments, for plugin types (e.g. x-delayed-type).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub arguments: BTreeMap<Spanned<String>, serde_json::Value>,
}
