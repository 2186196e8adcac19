//! What carrying out one [`Change`] does on the broker, as one typed
//! operation. A change says what differs; its operation says which object
//! apply sends and how. Apply matches on the operation once, and a change
//! that fits no operation is an error there, never a silent no-op.

use super::{Action, Change, Key, Object, ObjectKind};
use crate::topology::{
    Binding, Exchange, Permissions, Policy, Queue, TopicPermission, User, VhostSettings,
};

/// One operation on the broker, borrowing the objects of its change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Operation<'c> {
    /// Creates the vhost or sets its metadata (a PUT of every field).
    PutVhost(&'c str, &'c VhostSettings),
    /// Declares an exchange; `replace` deletes the live one first.
    DeclareExchange {
        /// The exchange as the spec wants it.
        exchange: &'c Exchange,
        /// Whether to delete the live exchange first.
        replace: bool,
    },
    /// Deletes an exchange.
    DeleteExchange(&'c Exchange),
    /// Declares a queue; `replace` deletes the live one first.
    DeclareQueue {
        /// The queue as the spec wants it.
        queue: &'c Queue,
        /// Whether to delete the live queue first.
        replace: bool,
    },
    /// Deletes a queue, with the messages it holds.
    DeleteQueue(&'c Queue),
    /// Declares a binding.
    Bind(&'c Binding),
    /// Removes a binding.
    Unbind(&'c Binding),
    /// Creates or updates a policy.
    PutPolicy(&'c Policy),
    /// Deletes a policy.
    DeletePolicy(&'c Policy),
    /// Creates the user or sets its password and tags.
    PutUser(&'c User),
    /// Deletes a user, from the whole cluster.
    DeleteUser(&'c User),
    /// Sets a user's configure/write/read permissions in the vhost.
    PutPermissions {
        /// The user's name.
        user: &'c str,
        /// The permissions to set.
        permissions: &'c Permissions,
    },
    /// Removes a user's permissions in the vhost.
    DeletePermissions {
        /// The user's name.
        user: &'c str,
    },
    /// Sets a user's topic permission on one exchange.
    PutTopicPermission {
        /// The user's name.
        user: &'c str,
        /// The permission to set.
        permission: &'c TopicPermission,
    },
    /// The user's topic permissions on one exchange; the others stay.
    DeleteTopicPermission {
        /// The user's name.
        user: &'c str,
        /// The exchange whose permission goes.
        exchange: &'c str,
    },
}

/// A change that fits no operation: its object is missing or of another
/// kind. `plan::diff` never makes one; a hand-built plan can.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the plan's change does not say what to send to the broker: {0}")]
pub struct Unfit(pub &'static str);

impl Operation<'_> {
    /// Whether the operation goes over AMQP (exchanges, queues, bindings);
    /// the rest exist only in the management API.
    pub fn over_amqp(&self) -> bool {
        matches!(
            self,
            Operation::DeclareExchange { .. }
                | Operation::DeleteExchange(_)
                | Operation::DeclareQueue { .. }
                | Operation::DeleteQueue(_)
                | Operation::Bind(_)
                | Operation::Unbind(_)
        )
    }
}

impl Change {
    /// The operation that carries this change out.
    ///
    /// # Errors
    /// [`Unfit`]: the change lacks the object its kind and action need.
    pub fn operation(&self) -> Result<Operation<'_>, Unfit> {
        let object = match self.action {
            Action::Delete => self.live.as_ref(),
            Action::Create | Action::Update | Action::Replace => self.desired.as_ref(),
        }
        .ok_or(Unfit("no object"))?;
        let delete = self.action == Action::Delete;
        let replace = self.action == Action::Replace;
        Ok(match (self.kind, object) {
            (ObjectKind::Vhost, Object::Vhost(name, settings)) if !delete => {
                Operation::PutVhost(name, settings)
            }
            (ObjectKind::Vhost, Object::Vhost(..)) => {
                return Err(Unfit("warren never deletes a vhost"));
            }
            (ObjectKind::Exchange, Object::Exchange(x)) if delete => Operation::DeleteExchange(x),
            (ObjectKind::Exchange, Object::Exchange(x)) => Operation::DeclareExchange {
                exchange: x,
                replace,
            },
            (ObjectKind::Queue, Object::Queue(q)) if delete => Operation::DeleteQueue(q),
            (ObjectKind::Queue, Object::Queue(q)) => Operation::DeclareQueue { queue: q, replace },
            (ObjectKind::Binding, Object::Binding(b)) if delete => Operation::Unbind(b),
            (ObjectKind::Binding, Object::Binding(b)) => Operation::Bind(b),
            (ObjectKind::Policy, Object::Policy(p)) if delete => Operation::DeletePolicy(p),
            (ObjectKind::Policy, Object::Policy(p)) => Operation::PutPolicy(p),
            (ObjectKind::User, Object::User(u)) if delete => Operation::DeleteUser(u),
            (ObjectKind::User, Object::User(u)) => Operation::PutUser(u),
            (ObjectKind::Permissions, Object::User(u)) if delete => {
                Operation::DeletePermissions { user: &u.name }
            }
            (ObjectKind::Permissions, Object::User(u)) => Operation::PutPermissions {
                user: &u.name,
                permissions: u
                    .permissions
                    .as_ref()
                    .ok_or(Unfit("the user has no permissions"))?,
            },
            (ObjectKind::TopicPermissions, Object::User(u)) => {
                let Key::TopicPermission { exchange, .. } = &self.key else {
                    return Err(Unfit("topic permissions without their exchange"));
                };
                if delete {
                    Operation::DeleteTopicPermission {
                        user: &u.name,
                        exchange,
                    }
                } else {
                    Operation::PutTopicPermission {
                        user: &u.name,
                        permission: u
                            .topic_permissions
                            .iter()
                            .find(|t| &t.exchange == exchange)
                            .ok_or(Unfit("the user has no topic permission on the exchange"))?,
                    }
                }
            }
            _ => return Err(Unfit("the object is not of the change's kind")),
        })
    }

    /// What the change does, for progress and errors: "create queue orders".
    pub fn doing(&self) -> String {
        format!(
            "{} {} {}",
            self.action.verb(),
            self.kind.as_str(),
            self.name
        )
    }
}

impl Action {
    /// The action as a verb: "create".
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }

    /// The action done: "created".
    pub fn done(self) -> &'static str {
        match self {
            Action::Create => "created",
            Action::Update => "updated",
            Action::Replace => "replaced",
            Action::Delete => "deleted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::diff::tests::topology;
    use crate::plan::{Options, diff};
    use crate::topology::Topology;

    const SPEC: &str = "version: 1\nexchanges:\n  e: { type: topic }\nqueues:\n  q: { bindings: [{ exchange: e, key: a }] }\npolicies:\n  p: { pattern: '^q$', definition: { max-length: 10 } }\nservices:\n  s:\n    consumes: { exchange: e, keys: [b] }\n    emits: [{ exchange: e, keys: [a] }]\n    user: u\nusers:\n  u: { password_env: U }\n";

    #[test]
    fn every_change_diff_makes_has_its_operation() {
        let desired = topology(SPEC);
        let plan = diff(&desired, &Topology::default(), &Options::default());
        let kinds: std::collections::BTreeSet<ObjectKind> =
            plan.changes.iter().map(|c| c.kind).collect();
        assert_eq!(kinds.len(), 7, "{kinds:?}");
        for c in &plan.changes {
            let op = c
                .operation()
                .unwrap_or_else(|e| panic!("{}: {e}", c.doing()));
            let amqp = matches!(
                c.kind,
                ObjectKind::Exchange | ObjectKind::Queue | ObjectKind::Binding
            );
            assert_eq!(op.over_amqp(), amqp, "{}", c.doing());
        }
        // And deleting everything, with --prune.
        let pruned = diff(
            &Topology::default(),
            &desired,
            &Options {
                prune: true,
                ..Options::default()
            },
        );
        for c in &pruned.changes {
            assert!(c.operation().is_ok(), "{}", c.doing());
        }
    }

    #[test]
    fn a_change_without_its_object_is_unfit_not_skipped() {
        let desired = topology(SPEC);
        let plan = diff(&desired, &Topology::default(), &Options::default());
        let mut queue = plan
            .changes
            .iter()
            .find(|c| c.kind == ObjectKind::Queue)
            .unwrap()
            .clone();
        queue.desired = None;
        assert_eq!(queue.operation(), Err(Unfit("no object")));
        let mut permissions = plan
            .changes
            .iter()
            .find(|c| c.kind == ObjectKind::Permissions)
            .unwrap()
            .clone();
        // A permissions change carrying a queue.
        permissions.desired = Some(Object::Queue(desired.queues["q"].clone()));
        assert!(permissions.operation().is_err());
    }
}
