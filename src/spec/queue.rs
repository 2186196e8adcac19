use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BindingSpec, Duration, Spanned};
use crate::vocabulary::{DeadLetterStrategy, Overflow, QueueType};

/// A queue: its settings as named fields, and the bindings that feed it.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// classic, quorum or stream (default from `defaults.queue_type`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Spanned<QueueType>>,
    /// Survives a broker restart (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durable: Option<Spanned<bool>>,
    /// Deleted when its last consumer goes (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_delete: Option<Spanned<bool>>,
    /// Maximum number of ready messages (`x-max-length`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<Spanned<u64>>,
    /// Maximum total body size of ready messages (`x-max-length-bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length_bytes: Option<Spanned<u64>>,
    /// What happens when the queue is full (`x-overflow`, default drop-head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow: Option<Spanned<Overflow>>,
    /// How long a message may wait (`x-message-ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ttl: Option<Spanned<Duration>>,
    /// Delete the queue after this long unused (`x-expires`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Spanned<Duration>>,
    /// Where rejected, expired and overflowing messages go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<Spanned<DeadLetterSpec>>,
    /// Quorum queues only (`x-dead-letter-strategy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_strategy: Option<Spanned<DeadLetterStrategy>>,
    /// Quorum queues only: deliveries before a message is dropped or
    /// dead-lettered (`x-delivery-limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_limit: Option<Spanned<u64>>,
    /// Classic queues only: highest priority (`x-max-priority`, 0 to 255;
    /// 0 turns priorities off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_priority: Option<Spanned<u8>>,
    /// One consumer at a time (`x-single-active-consumer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_active_consumer: Option<Spanned<bool>>,
    /// Streams only: retention by age (`x-max-age`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<Spanned<Duration>>,
    /// Raw `x-` arguments, for what has no named field. A named field and
    /// the same argument here is an error.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub arguments: BTreeMap<Spanned<String>, serde_json::Value>,
    /// Consumed by something outside this spec: no "nobody consumes" warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<bool>,
    /// What feeds the queue: each binding names a source exchange and the
    /// keys (or headers) it selects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<BindingSpec>,
}

/// Dead-letter target: an exchange (default: the default exchange) and an
/// optional routing key (default: the message's own).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterSpec {
    /// Exchange dead letters are published to (default: the default
    /// exchange, which delivers to the queue named by the routing key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Spanned<String>>,
    /// Routing key of dead letters (default: the message's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<Spanned<String>>,
}
