use serde::Serialize;
use serde_json::Value;

use crate::source::Span;
use crate::topology::{Binding, DestinationType, Exchange, Policy, Queue, User, VhostSettings};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    /// Changed in place (policies, users, permissions).
    Update,
    /// Deleted and declared again: an immutable property differs.
    Replace,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Vhost,
    Exchange,
    Queue,
    Binding,
    Policy,
    User,
    Permissions,
    TopicPermissions,
}

impl ObjectKind {
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
    pub name: String,
    pub before: Option<Value>,
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
        source: String,
        destination_type: DestinationType,
        destination: String,
        routing_key: String,
        /// The arguments as canonical JSON.
        arguments: String,
    },
    /// A user's topic permissions on one exchange.
    TopicPermission { user: String, exchange: String },
}

impl Key {
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
    Exchange(Exchange),
    Queue(Queue),
    Binding(Binding),
    Policy(Policy),
    User(User),
}

/// One change to one object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub action: Action,
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
