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
    /// The routing keys it may publish, each to one exchange.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emits: Vec<Emit>,
    /// Its retry chain; `None`: a failed message is rejected, to its queue's
    /// dead-lettering if it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Messages the broker sends ahead of acknowledgements (AMQP prefetch
    /// count).
    pub prefetch: u16,
    /// Handler calls running at once in one worker process.
    pub concurrency: u32,
    /// The broker user its worker connects as; `None`: the user the worker's
    /// connection settings name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The handler the spec gives it (a command or an HTTP endpoint); `None`
    /// when it gives none (a handler given in code, or a producer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<Handler>,
    /// How long one handler call may take.
    pub timeout: Duration,
    /// How the worker skips messages it has already handled; `None` to handle
    /// every delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency: Option<Idempotency>,
    /// The exchanges and queues its own code declares, as it declares
    /// them (`asserts:`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub asserts: Vec<super::Declaration>,
    /// Where in the spec it was declared.
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
    /// Where each message's key comes from.
    pub key: IdempotencyKey,
    /// Where handled keys are kept.
    pub store: IdempotencyStore,
    /// How long a handled key is remembered.
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
    /// The exchange it publishes to (before any delay).
    pub exchange: String,
    /// The routing key it publishes with.
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
    /// The wait before each retry, in order; empty with `broker`.
    pub delays: Vec<Duration>,
    /// Direct exchange the worker republishes to, with the delay as key.
    pub exchange: String,
    /// One TTL queue per distinct delay, in the order of `delays` (equal
    /// delays share one); none when `held`.
    pub delay_queues: Vec<String>,
    /// The queue failed messages end in once their retries run out.
    pub dead_letter_queue: String,
    /// The worker holds a failed delivery through each delay itself and
    /// calls the handler again: a per-instance queue has no name a delay
    /// queue could return a message to. It loses nothing the queue would
    /// keep: that queue goes with its instance, held messages or not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    /// Retries wait in the service's own quorum queue, which delays each
    /// redelivery (`via: broker`); `delays` is empty then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker: Option<BrokerRetry>,
    /// Where the spec writes the retry.
    #[serde(skip)]
    pub span: Option<Span>,
}

/// A quorum queue's delayed redelivery (RabbitMQ 4.3), as a service's
/// retry uses it: the worker rejects a failed delivery back to the queue,
/// which counts the failure (`x-delivery-count`) and redelivers it after
/// [`BrokerRetry::delay_after`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerRetry {
    /// The delay before the first redelivery, which grows by as much after each
    /// failure.
    pub min: Duration,
    /// The longest delay before a redelivery.
    pub max: Duration,
    /// Handler calls in all, the first included.
    pub attempts: u32,
}

impl BrokerRetry {
    /// `x-delayed-retry-type`: delay failed deliveries only (a reject, or a
    /// delivery in hand when its channel closed), not those given back
    /// with a nack.
    pub const TYPE: &'static str = "failed";

    /// The wait before the redelivery that follows failure number
    /// `failures` (1 for the first): RabbitMQ 4.3's rule is linear,
    /// `min × failures`, capped at `max` (`rabbit_fifo`, read on 4.3.6 and
    /// measured: 1, 2, 3 … 8 s for min 1 s, max 8 s).
    pub fn delay_after(&self, failures: u32) -> Duration {
        let grown = self.min.millis.saturating_mul(u64::from(failures.max(1)));
        Duration::from_millis(grown.min(self.max.millis))
    }
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

    /// How many times the handler is called in all, the first included.
    pub fn attempts(&self) -> u32 {
        match &self.broker {
            Some(b) => b.attempts,
            None => u32::try_from(self.delays.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1),
        }
    }

    /// The wait before each retry, in order.
    pub fn schedule(&self) -> Vec<Duration> {
        match &self.broker {
            Some(b) => (1..b.attempts).map(|n| b.delay_after(n)).collect(),
            None => self.delays.clone(),
        }
    }

    /// The waits of [`Retry::schedule`] as text: `5s, 30s, 5m`.
    pub fn waits(&self) -> String {
        self.schedule()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The retry in a few words, as `route` shows it: the waits, who
    /// holds the message meanwhile, and where it ends.
    pub fn summary(&self) -> String {
        let waits = self.waits();
        let waits = if waits.is_empty() {
            "no retry".to_string()
        } else {
            format!("after {waits}")
        };
        match &self.broker {
            Some(b) => format!(
                "retried by the queue itself {waits} ({} more per failure, at most {}), then {}",
                b.min, b.max, self.dead_letter_queue
            ),
            None if self.held => format!(
                "retried by the worker {waits}, then {}",
                self.dead_letter_queue
            ),
            None => format!(
                "retried through delay queues {waits}, then {}",
                self.dead_letter_queue
            ),
        }
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
            asserts: Vec::new(),
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
