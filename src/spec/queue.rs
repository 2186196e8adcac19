use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BindingSpec, Duration, Spanned};
use crate::vocabulary::{DeadLetterStrategy, LeaderLocator, Overflow, QueueType, SettingsVia};

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
    /// Quorum queues only: how many nodes hold a replica when the queue
    /// is declared (`x-quorum-initial-group-size`); at most the cluster's
    /// size. Odd sizes make sense: 3 members survive one node lost, 5 two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_group_size: Option<Spanned<u64>>,
    /// Quorum queues and streams: where the leader is placed when the queue
    /// is declared (`x-queue-leader-locator`): `client-local`, the node the
    /// declaring client is connected to, or `balanced`, the node with the
    /// fewest leaders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_locator: Option<Spanned<LeaderLocator>>,
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
    /// `policy` gives the queue its optional settings through a policy warren
    /// manages instead of arguments, so that an application's plain
    /// declaration of it is accepted (default: the file's
    /// `defaults.settings`, else `arguments`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Spanned<SettingsVia>>,
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

/// A named setting as the broker writes it: the settings-table field, the
/// argument's value, and where the spec wrote it.
#[derive(Debug, PartialEq)]
pub struct NamedValue {
    pub field: &'static str,
    pub value: serde_json::Value,
    pub loc: super::spanned::Loc,
}

impl QueueSpec {
    /// The named settings this queue sets, other than its type, durability
    /// and auto-delete, in the broker's form. The settings table says which
    /// argument each field is; this is the one place that knows the
    /// struct's members. A `max_age` that is not whole seconds has no
    /// broker form and is left out (compile reports it).
    pub fn named_values(&self) -> Vec<NamedValue> {
        use serde_json::Value;
        let mut out = Vec::new();
        let mut put = |field: &'static str, value: Option<(Value, super::spanned::Loc)>| {
            if let Some((value, loc)) = value {
                out.push(NamedValue { field, value, loc });
            }
        };
        let count = |v: &Option<Spanned<u64>>| v.as_ref().map(|v| (Value::from(v.value), v.loc));
        let millis =
            |v: &Option<Spanned<Duration>>| v.as_ref().map(|v| (Value::from(v.millis), v.loc));
        put("max_length", count(&self.max_length));
        put("max_length_bytes", count(&self.max_length_bytes));
        put(
            "overflow",
            self.overflow
                .as_ref()
                .map(|o| (Value::from(o.as_str()), o.loc)),
        );
        put("message_ttl", millis(&self.message_ttl));
        put("expires", millis(&self.expires));
        if let Some(dl) = &self.dead_letter {
            let exchange = dl.exchange.as_ref();
            put(
                "dead_letter.exchange",
                Some((
                    Value::from(exchange.map_or("", |e| e.value.as_str())),
                    exchange.map_or(dl.loc, |e| e.loc),
                )),
            );
            put(
                "dead_letter.routing_key",
                dl.routing_key
                    .as_ref()
                    .map(|k| (Value::from(k.value.as_str()), k.loc)),
            );
        }
        put(
            "dead_letter_strategy",
            self.dead_letter_strategy
                .as_ref()
                .map(|s| (Value::from(s.as_str()), s.loc)),
        );
        put("delivery_limit", count(&self.delivery_limit));
        put("initial_group_size", count(&self.initial_group_size));
        put(
            "leader_locator",
            self.leader_locator
                .as_ref()
                .map(|l| (Value::from(l.as_str()), l.loc)),
        );
        put(
            "max_priority",
            self.max_priority
                .as_ref()
                .map(|p| (Value::from(p.value), p.loc)),
        );
        put(
            "single_active_consumer",
            self.single_active_consumer
                .as_ref()
                .map(|s| (Value::from(s.value), s.loc)),
        );
        put(
            "max_age",
            self.max_age
                .as_ref()
                .and_then(|a| a.as_age().map(|age| (Value::from(age), a.loc))),
        );
        out
    }

    /// Sets the named field `field` from the broker's `value`; false when
    /// the value does not fit the field (it then stays a raw argument).
    pub fn set_named(&mut self, field: &str, value: &serde_json::Value) -> bool {
        let count = value.as_u64();
        let millis = count.map(Duration::from_millis);
        let word = value.as_str();
        match field {
            "max_length" => self.max_length = count.map(Spanned::bare),
            "max_length_bytes" => self.max_length_bytes = count.map(Spanned::bare),
            "overflow" => {
                self.overflow = serde_json::from_value(value.clone())
                    .ok()
                    .map(Spanned::bare)
            }
            "message_ttl" => self.message_ttl = millis.map(Spanned::bare),
            "expires" => self.expires = millis.map(Spanned::bare),
            "dead_letter.exchange" => {
                self.dead_letter = word.map(|e| {
                    Spanned::bare(DeadLetterSpec {
                        exchange: (!e.is_empty()).then(|| Spanned::bare(e.to_string())),
                        routing_key: None,
                    })
                });
            }
            // A routing key without an exchange is not a named setting.
            "dead_letter.routing_key" => match (&mut self.dead_letter, word) {
                (Some(dl), Some(key)) => {
                    dl.value.routing_key = Some(Spanned::bare(key.to_string()))
                }
                _ => return false,
            },
            "dead_letter_strategy" => {
                self.dead_letter_strategy = serde_json::from_value(value.clone())
                    .ok()
                    .map(Spanned::bare);
            }
            "delivery_limit" => self.delivery_limit = count.map(Spanned::bare),
            "initial_group_size" => self.initial_group_size = count.map(Spanned::bare),
            "leader_locator" => {
                self.leader_locator = serde_json::from_value(value.clone())
                    .ok()
                    .map(Spanned::bare);
            }
            "max_priority" => {
                self.max_priority = count.and_then(|p| u8::try_from(p).ok()).map(Spanned::bare);
            }
            "single_active_consumer" => {
                self.single_active_consumer = value.as_bool().map(Spanned::bare)
            }
            "max_age" => self.max_age = word.and_then(Duration::from_age).map(Spanned::bare),
            _ => return false,
        }
        self.named_values().iter().any(|n| n.field == field)
    }
}
