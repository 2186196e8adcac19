//! One plan change carried out through the management API: the vhost,
//! policies, users and permissions, which exist only there (exchanges,
//! queues and bindings go over AMQP, `amqp_step.rs`). Declarations are PUTs
//! of the whole object, so a step that ran before runs again harmlessly;
//! deletions of what is already gone succeed.

use serde_json::{Map, Value, json};

use crate::broker::{BrokerError, Http, segment};
use crate::plan::{Action, Change, Object, ObjectKind};
use crate::topology::{Policy, User, VhostSettings};

use super::Passwords;

/// Carries out `change` in `vhost`.
///
/// # Errors
/// The broker refuses (its status and reason are kept) or cannot be
/// reached; a change without the object it needs (which `plan::diff` never
/// makes) is reported rather than skipped.
pub async fn run(
    http: &Http,
    vhost: &str,
    change: &Change,
    passwords: &Passwords,
) -> Result<(), BrokerError> {
    let v = segment(vhost);
    let doing = format!(
        "{} {} {}",
        verb(change.action),
        change.kind.as_str(),
        change.name
    );
    let object = match change.action {
        Action::Delete => change.live.as_ref(),
        _ => change.desired.as_ref(),
    };
    let Some(object) = object else {
        return Err(BrokerError::Http {
            doing,
            reason: "the plan holds no object for this change".into(),
        });
    };
    match (object, change.action) {
        (Object::Vhost(name, settings), _) => {
            http.put_json(
                &format!("vhosts/{}", segment(name)),
                &vhost_body(settings),
                &doing,
            )
            .await
        }
        // Exchanges, queues and bindings go over AMQP (`amqp_step.rs`).
        (Object::Exchange(_) | Object::Queue(_) | Object::Binding(_), _) => {
            Err(BrokerError::Http {
                doing,
                reason:
                    "exchanges, queues and bindings are declared over AMQP, and no channel is open"
                        .into(),
            })
        }
        (Object::Policy(p), Action::Delete) => {
            http.delete(&format!("policies/{v}/{}", segment(&p.name)), &doing)
                .await
        }
        (Object::Policy(p), _) => {
            http.put_json(
                &format!("policies/{v}/{}", segment(&p.name)),
                &policy_body(p),
                &doing,
            )
            .await
        }
        (Object::User(u), action) => {
            user_step(http, &v, u, change, action, passwords, &doing).await
        }
    }
}

pub(super) fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
    }
}

async fn user_step(
    http: &Http,
    v: &str,
    u: &User,
    change: &Change,
    action: Action,
    passwords: &Passwords,
    doing: &str,
) -> Result<(), BrokerError> {
    let user = segment(&u.name);
    match (change.kind, action) {
        (ObjectKind::User, Action::Delete) => http.delete(&format!("users/{user}"), doing).await,
        (ObjectKind::User, _) => {
            let password = passwords.get(&u.name).ok_or_else(|| BrokerError::Http {
                doing: doing.to_string(),
                reason: "no password was read for this user".into(),
            })?;
            let mut tags = u.tags.clone();
            tags.sort();
            http.put_json(
                &format!("users/{user}"),
                &json!({ "password": password.expose(), "tags": tags.join(",") }),
                doing,
            )
            .await
        }
        (ObjectKind::Permissions, Action::Delete) => {
            http.delete(&format!("permissions/{v}/{user}"), doing).await
        }
        (ObjectKind::Permissions, _) => {
            let Some(p) = &u.permissions else {
                return Ok(());
            };
            http.put_json(
                &format!("permissions/{v}/{user}"),
                &json!({ "configure": p.configure, "write": p.write, "read": p.read }),
                doing,
            )
            .await
        }
        (ObjectKind::TopicPermissions, _) => {
            let crate::plan::Key::TopicPermission { exchange, .. } = &change.key else {
                return Ok(());
            };
            match u.topic_permissions.iter().find(|t| &t.exchange == exchange) {
                Some(t) if action != Action::Delete => {
                    http.put_json(
                        &format!("topic-permissions/{v}/{user}"),
                        &json!({ "exchange": t.exchange, "write": t.write, "read": t.read }),
                        doing,
                    )
                    .await
                }
                _ => {
                    http.delete(&format!("topic-permissions/{v}/{user}"), doing)
                        .await
                }
            }
        }
        _ => Ok(()),
    }
}

fn arguments(args: &crate::topology::Arguments) -> Map<String, Value> {
    args.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// A vhost PUT: every field it holds (a field left out is cleared).
fn vhost_body(settings: &VhostSettings) -> Value {
    let mut body = Map::new();
    if let Some(d) = &settings.description {
        body.insert("description".into(), json!(d));
    }
    if let Some(tags) = &settings.tags {
        body.insert("tags".into(), json!(tags.join(",")));
    }
    if let Some(t) = settings.default_queue_type {
        body.insert("default_queue_type".into(), json!(t.as_str()));
    }
    Value::Object(body)
}

fn policy_body(p: &Policy) -> Value {
    json!({
        "pattern": p.pattern,
        "definition": arguments(&p.definition),
        "priority": p.priority,
        "apply-to": p.apply_to.as_str(),
    })
}
