use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Duration, OneOrMany, QueueSpec, Spanned};
use crate::vocabulary::{ExchangeType, Handler, RetryVia};

/// One declaration an application makes itself: `exchange:` or `queue:`
/// with what it sends. Fields left out take AMQP client defaults: durable,
/// not auto-delete, not exclusive, not internal, no arguments.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssertSpec {
    /// The exchange it declares (with its `type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Spanned<String>>,
    /// The queue it declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Spanned<String>>,
    /// The exchange's type, as the declaration gives it.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Spanned<ExchangeType>>,
    /// Whether it declares the object durable (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durable: Option<bool>,
    /// Whether it declares the object auto-delete (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_delete: Option<bool>,
    /// Whether it declares the queue exclusive (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive: Option<bool>,
    /// Whether it declares the exchange internal (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<bool>,
    /// The arguments it sends (`x-queue-type`, `x-message-ttl`, ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub arguments: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A service: what it consumes and emits, how it retries, who it runs as and
/// how `warren run` hands it messages.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Where the service's messages come from.
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub consumes: OneOrMany<ConsumeSpec>,
    /// The events the service publishes.
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub emits: OneOrMany<EmitSpec>,
    /// Delayed redelivery after a transient failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Spanned<RetrySpec>>,
    /// Messages the broker sends ahead of acknowledgements (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefetch: Option<Spanned<u16>>,
    /// Handlers running at once (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Spanned<u32>>,
    /// Broker user the service runs as; its permissions are derived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Spanned<String>>,
    /// How `warren run` hands each message to the service's code: `exec`
    /// (a process per message), `stdio` (one long-lived process) or `http`
    /// (a POST per message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<Spanned<Handler>>,
    /// Name of the service's queue (default: the service's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Spanned<String>>,
    /// Settings of the service's own queue, as in `queues:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_settings: Option<Spanned<QueueSpec>>,
    /// How long one handler call may take before it counts as a transient
    /// failure (default 30s). Stays below the broker's consumer timeout
    /// (30 minutes by default), which closes a channel whose delivery
    /// stays unacknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Spanned<Duration>>,
    /// Skip messages already handled: a duplicate is acked without calling
    /// the handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency: Option<Spanned<IdempotencySpec>>,
    /// The exchanges and queues the service's own code declares on start-up
    /// (`assertQueue`, `queue_declare`), as it declares them: `validate`
    /// says which of them RabbitMQ would refuse with PRECONDITION_FAILED
    /// against the objects warren manages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asserts: Vec<Spanned<AssertSpec>>,
}

/// How a worker recognises a message it has already handled.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdempotencySpec {
    /// `message_id` (the AMQP property), or a JSON pointer into the body
    /// such as `/order_id`.
    pub key: Spanned<String>,
    /// Where handled keys are kept: `memory` (one worker process; the
    /// default) or a `redis://` URL (shared by every worker of the
    /// service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Spanned<String>>,
    /// How long a handled key is remembered (default 1h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Spanned<Duration>>,
}

/// What a service consumes: keys from an exchange (into the service's own
/// queue), or a queue declared in `queues:`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumeSpec {
    /// Exchange whose messages the service's own queue receives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Spanned<String>>,
    /// Binding keys on `exchange`: one binding of the service's queue each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<Spanned<String>>,
    /// A queue declared in `queues:` to consume instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Spanned<String>>,
    /// Every running instance gets every matching message (a broadcast,
    /// such as cache invalidation) instead of sharing them: each declares
    /// its own server-named exclusive queue with these bindings when it
    /// connects, gone when it stops. Messages sent while no instance runs
    /// are not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_instance: Option<Spanned<bool>>,
}

/// Events a service publishes to one exchange.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmitSpec {
    /// Exchange the events are published to.
    pub exchange: Spanned<String>,
    /// Routing keys the service publishes with; any other key is refused.
    pub keys: Vec<Spanned<String>>,
    /// Deliver these events this long after they are emitted (`5s`,
    /// `1m`): they wait in a queue whose TTL is the delay, which then
    /// dead-letters them into `exchange` with their own routing key. No
    /// plugin needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Spanned<Duration>>,
}

/// Retries after a transient failure, then the service's dead-letter
/// queue: through one delay queue per delay (`delays`), or through the
/// quorum queue's own delayed redelivery (`via: broker`, RabbitMQ 4.3:
/// `min`, `max`, `attempts`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// `queues` (the default): a TTL queue per delay, on every release.
    /// `broker`: the service's quorum queue delays each redelivery itself
    /// (RabbitMQ 4.3), by `min` times the failures so far, at most `max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Spanned<RetryVia>>,
    /// One delay per retry, in order; after the last, the message goes to
    /// the service's dead-letter queue. For `via: queues`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delays: Vec<Spanned<Duration>>,
    /// The first retry's delay; each further failure adds as much again
    /// (the broker's rule, not a list). For `via: broker`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Spanned<Duration>>,
    /// The longest delay (default `min`: every retry waits `min`). For
    /// `via: broker`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Spanned<Duration>>,
    /// How many times the handler is called in all, the first included;
    /// after the last failure the message goes to the dead-letter queue.
    /// For `via: broker`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Spanned<u32>>,
}

impl RetrySpec {
    /// How the retries wait: `via`, else through queues.
    pub fn via(&self) -> RetryVia {
        self.via.as_ref().map(|v| v.value).unwrap_or_default()
    }
}
