use serde::Serialize;
use serde_json::Value;

use crate::source::Span;

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
}

/// One change to one object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub action: Action,
    pub kind: ObjectKind,
    /// The object's name; for a binding `source -> destination [key]`.
    pub name: String,
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
