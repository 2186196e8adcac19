//! What a vhost holds besides its objects: its description, tags and
//! default queue type (RabbitMQ's vhost metadata).

use serde::Serialize;

use super::{Origin, QueueType};
use crate::vocabulary::Version;

/// A vhost's metadata. `None` is "not stated": a spec that leaves a field
/// out leaves the broker's value alone, and a broker that does not keep a
/// field (RabbitMQ 3.10 keeps no default queue type) reports `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct VhostSettings {
    /// What the vhost is for, shown in the management UI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags of the vhost, as the management UI shows them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// The type of a queue declared without `x-queue-type` by anyone (an
    /// application's plain declare included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_queue_type: Option<QueueType>,
    /// Where in the spec the vhost's settings are written.
    #[serde(skip)]
    pub origin: Origin,
}

impl VhostSettings {
    /// The release from which the management API keeps a vhost's default
    /// queue type (3.10 takes it and drops it).
    pub const DEFAULT_QUEUE_TYPE_SINCE: Version = Version::new(3, 11);

    /// The type of a queue declared without `x-queue-type` on every release
    /// of `targets`: the vhost's default where each of them keeps one, else
    /// classic.
    pub fn plain_queue_type(&self, targets: &crate::vocabulary::Targets) -> QueueType {
        match self.default_queue_type {
            Some(t) if targets.before(Self::DEFAULT_QUEUE_TYPE_SINCE).is_none() => t,
            _ => QueueType::Classic,
        }
    }

    /// Whether no field is stated.
    pub fn is_empty(&self) -> bool {
        self.description.is_none() && self.tags.is_none() && self.default_queue_type.is_none()
    }
}

/// What a live vhost says that decides the type of a queue a spec leaves
/// untyped: the vhost's default queue type and the types of the queues it
/// has.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveTypes {
    /// The vhost's default queue type; `None` when it has none.
    pub default_queue_type: Option<QueueType>,
    /// The type of each queue the vhost has, by name.
    pub queues: std::collections::BTreeMap<String, QueueType>,
}

impl LiveTypes {
    /// Whether compiling with what the live vhost says would type a queue
    /// of `topology` otherwise than it is.
    pub fn retypes(&self, topology: &super::Topology) -> bool {
        topology.queues.values().any(|q| {
            if q.type_from.is_stated() {
                return false;
            }
            match self.queues.get(&q.name) {
                Some(live) => *live != q.queue_type,
                None => {
                    q.type_from == TypeFrom::Broker
                        && self.default_queue_type.is_some_and(|d| {
                            d != q.queue_type
                                && takes_default(
                                    d,
                                    q.durable,
                                    q.exclusive,
                                    q.auto_delete,
                                    q.message_ttl().is_some(),
                                )
                        })
                }
            }
        })
    }
}

/// Where a queue's type was decided, in the order warren decides it: the
/// queue's own `type`, its file's `defaults.queue_type`, the vhost's
/// default queue type (stated in the spec, else the live vhost's), else
/// the broker's (classic). Only a queue's own type may replace a live
/// queue of another type: a queue the others would type differently keeps
/// the type the broker has ([`TypeFrom::Kept`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeFrom {
    /// The queue says so (`type:`, `x-queue-type`), or the broker has it.
    #[default]
    Queue,
    /// The file's `defaults.queue_type`.
    FileDefault,
    /// The vhost's `default_queue_type` in the spec.
    Vhost,
    /// The live vhost's default queue type.
    LiveVhost,
    /// Nothing says: RabbitMQ's default, classic.
    Broker,
    /// The queue exists on the broker with this type, and states none: it
    /// keeps it, where a default would have given it the type held here.
    Kept(QueueType),
}

impl TypeFrom {
    /// Whether the queue itself states its type.
    pub fn is_stated(self) -> bool {
        self == TypeFrom::Queue
    }

    /// Where it came from, for plans.
    pub fn describe(self) -> &'static str {
        match self {
            TypeFrom::Queue => "the queue's own type",
            TypeFrom::FileDefault => "the file's defaults.queue_type",
            TypeFrom::Vhost => "the vhost's default_queue_type in the spec",
            TypeFrom::LiveVhost => "the vhost's default queue type on the broker",
            TypeFrom::Broker => "RabbitMQ's default",
            TypeFrom::Kept(_) => "the queue on the broker",
        }
    }
}

/// Whether a vhost's default queue type can apply to a queue: the broker
/// makes an exclusive, transient or auto-delete queue classic whatever the
/// default, and a queue that expires messages cannot be a stream.
pub fn takes_default(
    queue_type: QueueType,
    durable: bool,
    exclusive: bool,
    auto_delete: bool,
    expires_messages: bool,
) -> bool {
    match queue_type {
        QueueType::Classic => true,
        QueueType::Quorum => durable && !exclusive && !auto_delete,
        QueueType::Stream => durable && !exclusive && !auto_delete && !expires_messages,
    }
}
