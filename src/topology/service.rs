use serde::Serialize;

use super::Origin;
use crate::source::Span;
use crate::vocabulary::{Duration, Handler};

/// A service as `warren run` and the checks see it: where it reads, what it
/// may publish, how it retries.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Service {
    /// The map key in [`Topology`](super::Topology); not repeated in output.
    #[serde(skip)]
    pub name: String,
    /// The queue it consumes from; `None` for a producer-only service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emits: Vec<Emit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    pub prefetch: u16,
    pub concurrency: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<Handler>,
    /// How long one handler call may take.
    pub timeout: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency: Option<Idempotency>,
    #[serde(skip)]
    pub origin: Origin,
}

impl Service {
    /// The consumer tag a worker process of this service consumes with:
    /// `warren-SERVICE-PID`, so that the broker's consumer listing says
    /// whose each consumer is (`warren status` finds per-instance queues
    /// by it).
    pub fn consumer_tag(&self, pid: u32) -> String {
        format!("warren-{}-{pid}", self.name)
    }

    /// Whether `tag` is one of [`Service::consumer_tag`]'s.
    pub fn owns_consumer_tag(&self, tag: &str) -> bool {
        tag.strip_prefix("warren-")
            .and_then(|rest| rest.rsplit_once('-'))
            .is_some_and(|(name, pid)| name == self.name && pid.parse::<u32>().is_ok())
    }
}

/// A handler call's timeout when the spec gives none.
pub const DEFAULT_HANDLER_TIMEOUT: Duration = Duration::from_millis(30_000);

/// The broker's default `consumer_timeout`: a delivery unacknowledged for
/// longer closes its channel, so a handler timeout must stay below it.
pub const BROKER_CONSUMER_TIMEOUT: Duration = Duration::from_millis(30 * 60_000);

/// How long a handled key is remembered when the spec gives no `ttl`.
pub const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_millis(3_600_000);

/// How a worker recognises a message it has handled before.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Idempotency {
    pub key: IdempotencyKey,
    pub store: IdempotencyStore,
    pub ttl: Duration,
}

/// Where the idempotency key of a message comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdempotencyKey {
    /// The AMQP `message_id` property.
    MessageId,
    /// A JSON pointer (RFC 6901) into the body.
    Pointer(String),
}

impl IdempotencyKey {
    /// `message_id`, or a JSON pointer (which starts with `/`).
    pub fn parse(text: &str) -> Option<IdempotencyKey> {
        match text {
            "message_id" => Some(IdempotencyKey::MessageId),
            p if p.starts_with('/') => Some(IdempotencyKey::Pointer(p.to_string())),
            _ => None,
        }
    }
}

/// Where handled keys are kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdempotencyStore {
    /// In the worker process: lost on restart, not shared.
    Memory,
    /// A Redis server, shared by every worker of the service.
    Redis(String),
}

impl IdempotencyStore {
    /// `memory`, or a `redis://` / `rediss://` URL.
    pub fn parse(text: &str) -> Option<IdempotencyStore> {
        match text {
            "memory" => Some(IdempotencyStore::Memory),
            url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Some(IdempotencyStore::Redis(url.to_string()))
            }
            _ => None,
        }
    }
}

/// One routing key a service may publish to one exchange.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Emit {
    pub exchange: String,
    pub key: String,
    /// The events reach `exchange` this long after the service publishes
    /// them, through the exchange's delay queue for this delay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// The key as written.
    #[serde(skip)]
    pub span: Option<Span>,
    /// The exchange as written: findings about the exchange point here.
    #[serde(skip)]
    pub exchange_span: Option<Span>,
}

impl Emit {
    /// The exchange the service publishes to: the target itself, or the
    /// delay exchange in front of it.
    pub fn publish_exchange(&self) -> String {
        match self.delay {
            Some(delay) => delay_exchange(&self.exchange, delay),
            None => self.exchange.clone(),
        }
    }
}

/// The name of the topic exchange, and of its one queue, that hold
/// messages for `target` for `delay`: the queue's TTL is the delay and it
/// dead-letters into `target` with each message's own routing key. One
/// queue per target and delay, so no message waits behind a longer one
/// (a queue expires messages only from its head).
pub fn delay_exchange(target: &str, delay: Duration) -> String {
    format!("{target}.delay.{delay}")
}

/// The retry chain compile generated for a service.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Retry {
    pub delays: Vec<Duration>,
    /// Direct exchange the worker republishes to, with the delay as key.
    pub exchange: String,
    /// One TTL queue per delay, in the order of `delays`; none when
    /// `held`.
    pub delay_queues: Vec<String>,
    pub dead_letter_queue: String,
    /// The worker holds a failed delivery through each delay itself and
    /// calls the handler again: a per-instance queue has no name a delay
    /// queue could return a message to. It loses nothing the queue would
    /// keep: that queue goes with its instance, held messages or not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl Retry {
    /// The routing key on the retry exchange that reaches the DLQ: a worker
    /// dead-letters through the retry exchange, which its user may write
    /// to, with the failure's reason in the headers. No delay is spelled
    /// like this.
    pub const DEAD_LETTER_KEY: &'static str = "dlq";

    /// The routing key on the retry exchange for a delay.
    pub fn key_for(delay: Duration) -> String {
        delay.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_tag_names_its_service_exactly() {
        let service = |name: &str| Service {
            name: name.into(),
            queue: None,
            emits: Vec::new(),
            retry: None,
            prefetch: 10,
            concurrency: 1,
            user: None,
            handler: None,
            timeout: DEFAULT_HANDLER_TIMEOUT,
            idempotency: None,
            origin: Default::default(),
        };
        let cache = service("cache");
        let tag = cache.consumer_tag(4242);
        assert_eq!(tag, "warren-cache-4242");
        assert!(cache.owns_consumer_tag(&tag));
        // A service whose name holds a dash, and one that only starts alike.
        assert!(service("cache-eu").owns_consumer_tag("warren-cache-eu-7"));
        assert!(!cache.owns_consumer_tag("warren-cache-eu-7"));
        assert!(!cache.owns_consumer_tag("amq.ctag-xyz"));
        assert!(!cache.owns_consumer_tag("warren-cache-"));
    }
}
