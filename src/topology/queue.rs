use serde::Serialize;

use super::arguments::{as_str, as_u64};
use super::exchange::is_plain;
use super::{Arguments, Origin, QueueType, TypeFrom};

/// A queue. Settings live in `arguments` under their RabbitMQ names
/// (`x-message-ttl`, ...), the form the broker and definitions exports use;
/// the accessors below read them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Queue {
    /// The map key in [`Topology`](super::Topology); not repeated in output.
    #[serde(skip)]
    pub name: String,
    /// Classic, quorum or stream.
    #[serde(rename = "type")]
    pub queue_type: QueueType,
    /// Where `queue_type` was decided; not part of what the broker holds.
    #[serde(skip)]
    pub type_from: TypeFrom,
    /// Survives a broker restart.
    pub durable: bool,
    /// Deleted by the broker once its last consumer goes.
    pub auto_delete: bool,
    /// Used by one connection only, and deleted when it closes.
    pub exclusive: bool,
    /// `x-` arguments: the queue's settings, in canonical form.
    #[serde(skip_serializing_if = "Arguments::is_empty")]
    pub arguments: Arguments,
    /// What consumes it: a service, something outside the spec, or the
    /// broker itself (a retry delay queue is drained by expiry).
    #[serde(skip_serializing_if = "Consumer::is_none")]
    pub consumer: Consumer,
    /// A template, not a queue: each running instance of the consuming
    /// service declares its own server-named exclusive queue with these
    /// bindings, which goes when the instance does. Routing and checks
    /// see it; plan, apply and definitions exports leave it out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub per_instance: bool,
    /// Where in the spec it was declared, or which service generated it.
    #[serde(skip_serializing_if = "is_plain")]
    pub origin: Origin,
}

/// What takes messages off a queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Consumer {
    /// Nothing the spec knows of.
    #[default]
    None,
    /// The service of that name.
    Service(String),
    /// Something outside the spec (`external: true`), or `warren dlq` for a
    /// service's dead-letter queue.
    External,
    /// Messages leave by TTL and dead-lettering.
    Expiry,
}

impl Consumer {
    /// Whether nothing the spec knows of consumes the queue.
    pub fn is_none(&self) -> bool {
        matches!(self, Consumer::None)
    }
}

impl Queue {
    /// A durable queue of `queue_type` with no arguments and no consumer.
    pub fn new(name: impl Into<String>, queue_type: QueueType, origin: Origin) -> Queue {
        Queue {
            name: name.into(),
            queue_type,
            type_from: TypeFrom::Queue,
            durable: true,
            auto_delete: false,
            exclusive: false,
            arguments: Arguments::new(),
            consumer: Consumer::None,
            per_instance: false,
            origin,
        }
    }

    /// The model's queue for a per-instance consumer `service`: classic,
    /// exclusive, auto-delete, under a name no broker queue has (the
    /// broker names each instance's queue `amq.gen-...`).
    pub fn per_instance(service: &str, origin: Origin) -> Queue {
        Queue {
            durable: false,
            auto_delete: true,
            exclusive: true,
            per_instance: true,
            ..Queue::new(format!("{service}@instance"), QueueType::Classic, origin)
        }
    }

    /// `x-message-ttl`: how long a message may wait, in milliseconds.
    pub fn message_ttl(&self) -> Option<u64> {
        as_u64(&self.arguments, crate::vocabulary::arguments::MESSAGE_TTL)
    }
    /// `x-max-length`: the most messages the queue holds.
    pub fn max_length(&self) -> Option<u64> {
        as_u64(&self.arguments, crate::vocabulary::arguments::MAX_LENGTH)
    }
    /// `x-max-length-bytes`: the most message body bytes the queue holds.
    pub fn max_length_bytes(&self) -> Option<u64> {
        as_u64(
            &self.arguments,
            crate::vocabulary::arguments::MAX_LENGTH_BYTES,
        )
    }
    /// `x-overflow`: what happens at a length limit (`drop-head`,
    /// `reject-publish`, `reject-publish-dlx`).
    pub fn overflow(&self) -> Option<&str> {
        as_str(&self.arguments, crate::vocabulary::arguments::OVERFLOW)
    }
    /// `x-delivery-limit`: how many times a quorum queue redelivers a message
    /// before it dead-letters or drops it.
    pub fn delivery_limit(&self) -> Option<u64> {
        as_u64(
            &self.arguments,
            crate::vocabulary::arguments::DELIVERY_LIMIT,
        )
    }
    /// `Some("")` is the default exchange.
    pub fn dead_letter_exchange(&self) -> Option<&str> {
        as_str(
            &self.arguments,
            crate::vocabulary::arguments::DEAD_LETTER_EXCHANGE,
        )
    }
    /// `x-dead-letter-routing-key`: the key dead letters are republished with;
    /// `None` keeps each message's own.
    pub fn dead_letter_routing_key(&self) -> Option<&str> {
        as_str(
            &self.arguments,
            crate::vocabulary::arguments::DEAD_LETTER_ROUTING_KEY,
        )
    }
    /// `x-dead-letter-strategy`: `at-most-once` or `at-least-once` (quorum
    /// queues).
    pub fn dead_letter_strategy(&self) -> Option<&str> {
        as_str(
            &self.arguments,
            crate::vocabulary::arguments::DEAD_LETTER_STRATEGY,
        )
    }
}
