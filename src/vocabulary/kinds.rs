//! The small vocabularies RabbitMQ objects are made of: exchange types, queue
//! types, overflow behaviours. The spec reads them and the model stores them,
//! so they are defined once, here.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An exchange's type, which decides how it routes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExchangeType {
    /// Routes to bindings whose key equals the message's routing key.
    Direct,
    /// Routes to every binding, ignoring keys.
    Fanout,
    /// Routes to bindings whose pattern matches the routing key: `*` is one
    /// dot-separated word, `#` zero or more.
    Topic,
    /// Routes by message headers, as each binding's arguments select them.
    Headers,
    /// A plugin type such as `x-consistent-hash` or `x-delayed-message`:
    /// warren declares it but cannot predict its routing.
    Plugin(String),
}

/// A type name that is neither built in nor a plugin's (`x-...`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown exchange type {0:?}: expected direct, fanout, topic, headers, or a plugin type starting with \"x-\""
)]
pub struct UnknownExchangeType(pub String);

impl ExchangeType {
    /// # Errors
    /// The name is neither a built-in type nor a plugin's.
    pub fn parse(text: &str) -> Result<ExchangeType, UnknownExchangeType> {
        Ok(match text {
            "direct" => ExchangeType::Direct,
            "fanout" => ExchangeType::Fanout,
            "topic" => ExchangeType::Topic,
            "headers" => ExchangeType::Headers,
            other if other.starts_with("x-") && other.len() > 2 => {
                ExchangeType::Plugin(other.to_string())
            }
            other => return Err(UnknownExchangeType(other.to_string())),
        })
    }

    /// The name RabbitMQ gives the type (`topic`, `x-delayed-message`).
    pub fn as_str(&self) -> &str {
        match self {
            ExchangeType::Direct => "direct",
            ExchangeType::Fanout => "fanout",
            ExchangeType::Topic => "topic",
            ExchangeType::Headers => "headers",
            ExchangeType::Plugin(name) => name,
        }
    }
}

impl fmt::Display for ExchangeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ExchangeType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ExchangeType::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for ExchangeType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl JsonSchema for ExchangeType {
    fn schema_name() -> Cow<'static, str> {
        "ExchangeType".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "direct, fanout, topic, headers, or a plugin type such as `x-consistent-hash`",
            "anyOf": [
                {
                    "enum": ["direct", "fanout", "topic", "headers"],
                    "markdownEnumDescriptions": [
                        "Routes to bindings whose key equals the routing key.",
                        "Routes to every binding, ignoring keys.",
                        "Routes to bindings whose pattern matches the key: `*` is one word, `#` zero or more.",
                        "Routes by header values (`headers` and `match` on the binding)."
                    ]
                },
                {
                    "type": "string",
                    "pattern": "^x-.+",
                    "examples": ["x-consistent-hash", "x-delayed-message", "x-modulus-hash", "x-random"]
                }
            ],
            "errorMessage": "direct, fanout, topic, headers, or a plugin type starting with x-"
        })
    }
}

/// The type of a queue, fixed when it is declared.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum QueueType {
    /// A single-node queue: priorities, exclusive and auto-delete queues,
    /// no replication (RabbitMQ's default).
    #[default]
    Classic,
    /// A replicated queue (Raft) that survives node failures: the choice
    /// for data that must not be lost.
    Quorum,
    /// A replicated, append-only log that consumers read from any offset;
    /// messages stay until retention (`max_age`, `max_length_bytes`).
    Stream,
}

impl QueueType {
    /// The name RabbitMQ gives the type (`x-queue-type`).
    pub fn as_str(self) -> &'static str {
        match self {
            QueueType::Classic => "classic",
            QueueType::Quorum => "quorum",
            QueueType::Stream => "stream",
        }
    }

    /// Quorum queues and streams are replicated and must be durable.
    pub fn is_replicated(self) -> bool {
        !matches!(self, QueueType::Classic)
    }
}

impl fmt::Display for QueueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How warren gives an exchange or a queue its optional settings (TTL,
/// length limits, dead-lettering, alternate exchange, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SettingsVia {
    /// As `x-` arguments of the declaration (the default): an application
    /// that declares the object must send the same arguments, or RabbitMQ
    /// refuses it with PRECONDITION_FAILED.
    #[default]
    Arguments,
    /// Through policies warren generates and manages (`warren.settings.*`):
    /// the object is declared with only what a plain declaration sends, so
    /// applications that declare it themselves keep working.
    Policy,
}

/// How a service's retries wait out their delays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RetryVia {
    /// A TTL queue per delay, which dead-letters the message back (every
    /// release; any list of delays).
    #[default]
    Queues,
    /// The quorum queue's own delayed redelivery (RabbitMQ 4.3): no delay
    /// queues; the delay grows from `min` by `min` per failure, up to
    /// `max`.
    Broker,
}

/// What a queue does when it is full (`x-overflow`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Overflow {
    /// Drop (or dead-letter) the oldest messages to make room (default).
    DropHead,
    /// Refuse new messages; publishers with confirms get a nack.
    RejectPublish,
    /// Refuse new messages and dead-letter them (classic queues only).
    RejectPublishDlx,
}

impl Overflow {
    /// The value of `x-overflow`.
    pub fn as_str(self) -> &'static str {
        match self {
            Overflow::DropHead => "drop-head",
            Overflow::RejectPublish => "reject-publish",
            Overflow::RejectPublishDlx => "reject-publish-dlx",
        }
    }
}

/// How a quorum queue dead-letters (`x-dead-letter-strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeadLetterStrategy {
    /// Dead letters may be lost if their target is unavailable (default).
    AtMostOnce,
    /// The queue keeps a dead letter until its target confirms it; needs
    /// `overflow: reject-publish`.
    AtLeastOnce,
}

impl DeadLetterStrategy {
    /// The value of `x-dead-letter-strategy`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterStrategy::AtMostOnce => "at-most-once",
            DeadLetterStrategy::AtLeastOnce => "at-least-once",
        }
    }
}

/// Where a replicated queue's leader goes when it is declared
/// (`x-queue-leader-locator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LeaderLocator {
    /// The node the declaring client is connected to (the default).
    ClientLocal,
    /// The node that leads the fewest queues.
    Balanced,
}

impl LeaderLocator {
    /// The value of `x-queue-leader-locator`.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaderLocator::ClientLocal => "client-local",
            LeaderLocator::Balanced => "balanced",
        }
    }
}

/// What a policy applies to (`apply_to`; RabbitMQ calls it `apply-to`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplyTo {
    /// Every queue of any type.
    Queues,
    /// Classic queues only (RabbitMQ 3.12 and later).
    ClassicQueues,
    /// Quorum queues only (RabbitMQ 3.12 and later).
    QuorumQueues,
    /// Streams only (RabbitMQ 3.12 and later).
    Streams,
    /// Exchanges only.
    Exchanges,
    /// Queues and exchanges (default).
    All,
}

impl ApplyTo {
    /// The value the management API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyTo::Queues => "queues",
            ApplyTo::ClassicQueues => "classic_queues",
            ApplyTo::QuorumQueues => "quorum_queues",
            ApplyTo::Streams => "streams",
            ApplyTo::Exchanges => "exchanges",
            ApplyTo::All => "all",
        }
    }

    /// Whether a policy that applies to these objects applies to a queue of
    /// `queue_type`.
    pub fn matches_queue(self, queue_type: QueueType) -> bool {
        match self {
            ApplyTo::Queues | ApplyTo::All => true,
            ApplyTo::ClassicQueues => queue_type == QueueType::Classic,
            ApplyTo::QuorumQueues => queue_type == QueueType::Quorum,
            ApplyTo::Streams => queue_type == QueueType::Stream,
            ApplyTo::Exchanges => false,
        }
    }
}

/// How a headers binding compares headers (`x-match`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HeadersMatch {
    /// Every listed header must match (default).
    All,
    /// One listed header is enough.
    Any,
    /// As `all`, comparing `x-` headers too.
    AllWithX,
    /// As `any`, comparing `x-` headers too.
    AnyWithX,
}

impl HeadersMatch {
    /// Reads an `x-match` value; `None` for any other text.
    pub fn parse(text: &str) -> Option<HeadersMatch> {
        Some(match text {
            "all" => HeadersMatch::All,
            "any" => HeadersMatch::Any,
            "all-with-x" => HeadersMatch::AllWithX,
            "any-with-x" => HeadersMatch::AnyWithX,
            _ => return None,
        })
    }

    /// The value of `x-match`.
    pub fn as_str(self) -> &'static str {
        match self {
            HeadersMatch::All => "all",
            HeadersMatch::Any => "any",
            HeadersMatch::AllWithX => "all-with-x",
            HeadersMatch::AnyWithX => "any-with-x",
        }
    }
}
