//! One plan change carried out: the one match on its
//! [`Operation`](crate::plan::Operation). Exchanges, queues and bindings go
//! over AMQP when a channel is open (`amqp_step.rs`); the vhost, policies,
//! users and permissions exist only in the management API. Declarations
//! are PUTs of the whole object, so a step that ran before runs again
//! harmlessly; deletions of what is already gone succeed.

use std::time::Duration;

use lapin::Channel;
use serde_json::{Map, Value, json};

use super::{Passwords, amqp_step};
use crate::broker::{BrokerError, Http, bounded, segment};
use crate::plan::{Change, Operation};
use crate::topology::{Policy, TopicPermission, VhostSettings};

/// Carries out `change` in `vhost`, over `amqp` (a channel, and how long a
/// round trip may take) where it can.
///
/// # Errors
/// The broker refuses (its status and reason are kept) or cannot be
/// reached; a change that fits no operation, or an exchange, queue or
/// binding without a channel, is reported rather than skipped.
pub async fn run(
    http: &Http,
    amqp: Option<(&Channel, Duration)>,
    vhost: &str,
    change: &Change,
    passwords: &Passwords,
) -> Result<(), BrokerError> {
    let doing = change.doing();
    let refused = |reason: String| BrokerError::Http {
        doing: doing.clone(),
        reason,
    };
    let operation = change.operation().map_err(|e| refused(e.to_string()))?;
    let over_amqp = || {
        amqp.ok_or_else(|| {
            refused(
                "exchanges, queues and bindings are declared over AMQP, and no channel is open"
                    .into(),
            )
        })
    };
    let v = segment(vhost);
    match operation {
        Operation::DeclareExchange { exchange, replace } => {
            let (channel, after) = over_amqp()?;
            sent(
                after,
                &doing,
                amqp_step::declare_exchange(channel, exchange, replace),
            )
            .await
        }
        Operation::DeleteExchange(exchange) => {
            let (channel, after) = over_amqp()?;
            sent(after, &doing, amqp_step::delete_exchange(channel, exchange)).await
        }
        Operation::DeclareQueue { queue, replace } => {
            let (channel, after) = over_amqp()?;
            sent(
                after,
                &doing,
                amqp_step::declare_queue(channel, queue, replace),
            )
            .await
        }
        Operation::DeleteQueue(queue) => {
            let (channel, after) = over_amqp()?;
            sent(after, &doing, amqp_step::delete_queue(channel, queue)).await
        }
        Operation::Bind(binding) => {
            let (channel, after) = over_amqp()?;
            sent(after, &doing, amqp_step::bind(channel, binding, true)).await
        }
        Operation::Unbind(binding) => {
            let (channel, after) = over_amqp()?;
            sent(after, &doing, amqp_step::bind(channel, binding, false)).await
        }
        Operation::PutVhost(name, settings) => {
            http.put_json(
                &format!("vhosts/{}", segment(name)),
                &vhost_body(settings),
                &doing,
            )
            .await
        }
        Operation::PutPolicy(p) => {
            http.put_json(
                &format!("policies/{v}/{}", segment(&p.name)),
                &policy_body(p),
                &doing,
            )
            .await
        }
        Operation::DeletePolicy(p) => {
            http.delete(&format!("policies/{v}/{}", segment(&p.name)), &doing)
                .await
        }
        Operation::PutUser(u) => {
            let password = passwords
                .get(&u.name)
                .ok_or_else(|| refused("no password was read for this user".into()))?;
            let mut tags = u.tags.clone();
            tags.sort();
            http.put_json(
                &format!("users/{}", segment(&u.name)),
                &json!({ "password": password.expose(), "tags": tags.join(",") }),
                &doing,
            )
            .await
        }
        Operation::DeleteUser(u) => {
            http.delete(&format!("users/{}", segment(&u.name)), &doing)
                .await
        }
        Operation::PutPermissions {
            user,
            permissions: p,
        } => {
            http.put_json(
                &format!("permissions/{v}/{}", segment(user)),
                &json!({ "configure": p.configure, "write": p.write, "read": p.read }),
                &doing,
            )
            .await
        }
        Operation::DeletePermissions { user } => {
            http.delete(&format!("permissions/{v}/{}", segment(user)), &doing)
                .await
        }
        Operation::PutTopicPermission { user, permission } => {
            put_topic_permission(http, &v, user, permission, &doing).await
        }
        Operation::DeleteTopicPermission { user, exchange } => {
            // The API deletes all of a user's topic permissions in a vhost
            // at once: the others are put back.
            let path = format!("topic-permissions/{v}/{}", segment(user));
            let held: Vec<TopicPermission> = match http.get_json(&path, &doing).await {
                Err(BrokerError::Status { status: 404, .. }) => Vec::new(),
                other => other?,
            };
            http.delete(&path, &doing).await?;
            for kept in held.iter().filter(|t| t.exchange != exchange) {
                put_topic_permission(http, &v, user, kept, &doing).await?;
            }
            Ok(())
        }
    }
}

/// `work` on a channel, bounded by `after`.
async fn sent(
    after: Duration,
    doing: &str,
    work: impl Future<Output = Result<(), lapin::Error>>,
) -> Result<(), BrokerError> {
    bounded(after, doing, async {
        work.await
            .map_err(|e| BrokerError::amqp(doing.to_string(), e))
    })
    .await
}

async fn put_topic_permission(
    http: &Http,
    v: &str,
    user: &str,
    t: &TopicPermission,
    doing: &str,
) -> Result<(), BrokerError> {
    http.put_json(
        &format!("topic-permissions/{v}/{}", segment(user)),
        &json!({ "exchange": t.exchange, "write": t.write, "read": t.read }),
        doing,
    )
    .await
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
