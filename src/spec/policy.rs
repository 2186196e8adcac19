use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Spanned;
use crate::vocabulary::ApplyTo;

/// A policy: arguments applied by the broker to every matching object.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Regular expression matched against object names.
    pub pattern: Spanned<String>,
    /// Which objects the policy applies to (default all, as in RabbitMQ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_to: Option<Spanned<ApplyTo>>,
    /// Highest priority wins when several policies match (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Spanned<i64>>,
    /// Policy keys as RabbitMQ names them (`max-length`, `message-ttl`, ...).
    pub definition: Spanned<BTreeMap<Spanned<String>, serde_json::Value>>,
}
