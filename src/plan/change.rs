use serde::Serialize;
use serde_json::Value;

use crate::source::Span;
use crate::topology::{Binding, DestinationType, Exchange, Policy, Queue, User, VhostSettings};

/// What a change does to its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Declared: the broker does not have it.
    Create,
    /// Changed in place (policies, users, permissions).
    Update,
    /// Deleted and declared again: an immutable property differs.
    Replace,
    /// Removed: the broker has it and the spec does not (only with
    /// `--prune`).
    Delete,
}

/// The kinds of object a plan changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A virtual host.
    Vhost,
    /// An exchange.
    Exchange,
    /// A queue.
    Queue,
    /// A binding from an exchange to a queue or exchange.
    Binding,
    /// A policy.
    Policy,
    /// A user (users are cluster-wide).
    User,
    /// A user's configure/write/read permissions in the vhost.
    Permissions,
    /// A user's topic permissions in the vhost, per exchange.
    TopicPermissions,
}

impl ObjectKind {
    /// The kind as plan text names it (`topic permissions`).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Vhost => "vhost",
            ObjectKind::Exchange => "exchange",
            ObjectKind::Queue => "queue",
            ObjectKind::Binding => "binding",
            ObjectKind::Policy => "policy",
            ObjectKind::User => "user",
            ObjectKind::Permissions => "permissions",
            ObjectKind::TopicPermissions => "topic permissions",
        }
    }
}

/// One attribute's value before and after (`None`: absent).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attr {
    /// The attribute: a property (`durable`, `type`, `pattern`, ...) or an
    /// argument or policy key (`x-message-ttl`).
    pub name: String,
    /// Its value on the broker.
    pub before: Option<Value>,
    /// Its value once the change is applied.
    pub after: Option<Value>,
    /// Where `after` comes from when the spec does not state it (a queue's
    /// type from a default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// What a change is about: the object's kind and identity, as the broker
/// tells objects apart.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// A vhost, exchange, queue, policy, user, or a user's permissions.
    Named(ObjectKind, String),
    /// A binding is its source, destination, routing key and arguments.
    Binding {
        /// The exchange the binding starts at.
        source: String,
        /// Whether it ends at a queue or an exchange.
        destination_type: DestinationType,
        /// The queue or exchange it ends at.
        destination: String,
        /// The binding's routing key.
        routing_key: String,
        /// The arguments as canonical JSON.
        arguments: String,
    },
    /// A user's topic permissions on one exchange.
    TopicPermission {
        /// The user's name.
        user: String,
        /// The exchange the permission is for.
        exchange: String,
    },
}

impl Key {
    /// The key of a binding, as the broker identifies it.
    pub fn of_binding(b: &Binding) -> Key {
        let (source, destination_type, destination, routing_key, arguments) =
            crate::definitions::binding_key(b);
        Key::Binding {
            source: source.to_string(),
            destination_type,
            destination: destination.to_string(),
            routing_key: routing_key.to_string(),
            arguments,
        }
    }
}

/// An object a change declares or removes, as the spec or the broker has
/// it. Users carry their permissions, so the permission kinds hold a user.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    /// A vhost and the metadata to give it: the spec's where it states
    /// them, the broker's elsewhere (a PUT sets every field).
    Vhost(String, VhostSettings),
    /// An exchange.
    Exchange(Exchange),
    /// A queue.
    Queue(Queue),
    /// A binding.
    Binding(Binding),
    /// A policy.
    Policy(Policy),
    /// A user, with its permissions in the vhost.
    User(User),
}

/// One change to one object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// What the change does.
    pub action: Action,
    /// The kind of object it changes.
    pub kind: ObjectKind,
    /// The object's name; for a binding `source -> destination [key]`.
    pub name: String,
    /// The kind and identity `apply` acts on.
    #[serde(skip)]
    pub key: Key,
    /// The object the spec wants (creates, updates, replaces).
    #[serde(skip)]
    pub desired: Option<Object>,
    /// The object the broker has (updates, replaces, deletes).
    #[serde(skip)]
    pub live: Option<Object>,
    /// Why this change is in the plan when no difference of its own put it
    /// there: a binding recreated because its queue or exchange is replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
    /// Attribute-level differences (for a create: every attribute).
    pub attributes: Vec<Attr>,
    /// Why a replace cannot be done in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Messages in a queue this change would replace or delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    /// The YAML the change comes from (creates, updates, replaces).
    #[serde(skip)]
    pub span: Option<Span>,
}

impl Change {
    /// A change with no attributes, reason or objects yet.
    pub fn new(action: Action, kind: ObjectKind, name: impl Into<String>, key: Key) -> Change {
        Change {
            action,
            kind,
            name: name.into(),
            key,
            desired: None,
            live: None,
            because: None,
            attributes: Vec::new(),
            reason: None,
            messages: None,
            span: None,
        }
    }
}
