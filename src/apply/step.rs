//! One plan change carried out through the management API. Declarations are
//! PUTs of the whole object, so a step that ran before runs again harmlessly;
//! deletions of what is already gone succeed.

use serde_json::{Map, Value, json};

use crate::broker::{BrokerError, Http, segment};
use crate::plan::{Action, Change, Object, ObjectKind};
use crate::topology::{
    ALTERNATE_EXCHANGE, Binding, DestinationType, Exchange, Policy, QUEUE_TYPE, Queue, User,
};

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
        (Object::Vhost(name), _) => {
            http.put_json(&format!("vhosts/{}", segment(name)), &json!({}), &doing)
                .await
        }
        (Object::Exchange(x), Action::Delete) => {
            http.delete(&format!("exchanges/{v}/{}", segment(&x.name)), &doing)
                .await
        }
        (Object::Exchange(x), action) => {
            let path = format!("exchanges/{v}/{}", segment(&x.name));
            if action == Action::Replace {
                http.delete(&path, &doing).await?;
            }
            http.put_json(&path, &exchange_body(x), &doing).await
        }
        (Object::Queue(q), Action::Delete) => {
            // Never if-empty or if-unused: quorum queues answer those with
            // 540 NOT_IMPLEMENTED. Apply checked the counts beforehand.
            http.delete(&format!("queues/{v}/{}", segment(&q.name)), &doing)
                .await
        }
        (Object::Queue(q), action) => {
            let path = format!("queues/{v}/{}", segment(&q.name));
            if action == Action::Replace {
                http.delete(&path, &doing).await?;
            }
            http.put_json(&path, &queue_body(q), &doing).await
        }
        (Object::Binding(b), Action::Delete) => unbind(http, vhost, b, &doing).await,
        (Object::Binding(b), _) => {
            let path = format!(
                "bindings/{v}/e/{}/{}/{}",
                segment(&b.source),
                destination_letter(b.destination_type),
                segment(&b.destination)
            );
            http.post_json(&path, &binding_body(b), &doing).await
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

/// The management API's exchange document; the alternate exchange goes
/// back into the arguments the normaliser lifted it from.
pub fn exchange_body(x: &Exchange) -> Value {
    let mut args = arguments(&x.arguments);
    if let Some(ae) = &x.alternate_exchange {
        args.insert(ALTERNATE_EXCHANGE.into(), json!(ae));
    }
    json!({
        "type": x.kind.as_str(),
        "durable": x.durable,
        "auto_delete": x.auto_delete,
        "internal": x.internal,
        "arguments": args,
    })
}

/// The management API's queue document, the type as `x-queue-type`.
pub fn queue_body(q: &Queue) -> Value {
    let mut args = arguments(&q.arguments);
    args.insert(QUEUE_TYPE.into(), json!(q.queue_type.as_str()));
    json!({ "durable": q.durable, "auto_delete": q.auto_delete, "arguments": args })
}

fn binding_body(b: &Binding) -> Value {
    json!({ "routing_key": b.routing_key, "arguments": arguments(&b.arguments) })
}

fn policy_body(p: &Policy) -> Value {
    json!({
        "pattern": p.pattern,
        "definition": arguments(&p.definition),
        "priority": p.priority,
        "apply-to": p.apply_to.as_str(),
    })
}

fn destination_letter(t: DestinationType) -> &'static str {
    match t {
        DestinationType::Queue => "q",
        DestinationType::Exchange => "e",
    }
}

/// A binding is deleted by its properties key, which only the broker's
/// listing knows; the RabbitMQ team's client looks it up.
async fn unbind(http: &Http, vhost: &str, b: &Binding, doing: &str) -> Result<(), BrokerError> {
    use rabbitmq_http_client::commons::BindingDestinationType;
    use rabbitmq_http_client::requests::BindingDeletionParams;
    let params = BindingDeletionParams {
        virtual_host: vhost,
        source: &b.source,
        destination: &b.destination,
        destination_type: match b.destination_type {
            DestinationType::Queue => BindingDestinationType::Queue,
            DestinationType::Exchange => BindingDestinationType::Exchange,
        },
        routing_key: &b.routing_key,
        arguments: (!b.arguments.is_empty()).then(|| arguments(&b.arguments)),
    };
    http.api()
        .delete_binding(&params, true)
        .await
        .map_err(|e| BrokerError::http(doing, e))
}
