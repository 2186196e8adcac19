//! The live state of a vhost as a [`Topology`], read in five concurrent
//! requests: the vhost's definitions export, users, permissions, topic
//! permissions and operator policies. Normalised by the same code that
//! imports a definitions file, so `plan::diff` compares like with like.

use rabbitmq_http_client::error::HttpClientError;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{BrokerError, Http};
use crate::definitions::{from_definitions, parse_apply_to};
use crate::topology::{Origin, Policy, Topology, canonical};

/// What observe saw.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Exchanges, queues, bindings and policies of the vhost (without
    /// `amq.*`, server-named and exclusive objects), and the users the spec
    /// names, with their permissions in the vhost.
    pub topology: Topology,
    pub operator_policies: Vec<Policy>,
    /// False when the vhost does not exist yet.
    pub vhost_exists: bool,
    /// SHA-256 of the observed state: a saved plan applies only if the
    /// broker still has this fingerprint.
    pub fingerprint: String,
    /// What the vhost holds that a spec cannot express (see
    /// `definitions::Imported::unsupported`).
    pub unsupported: Vec<String>,
}

/// Reads `vhost`; `users` are the user names the spec manages.
///
/// # Errors
/// The management API is unreachable or refuses (the message says which
/// request and gives the broker's reason).
pub async fn observe(http: &Http, vhost: &str, users: &[String]) -> Result<Observed, BrokerError> {
    let (definitions, all_users, permissions, topic_permissions, operator) = tokio::join!(
        http.export_vhost_definitions_as_string(vhost),
        async {
            if users.is_empty() {
                Ok(Vec::new())
            } else {
                http.list_users().await
            }
        },
        async {
            if users.is_empty() {
                Ok(Vec::new())
            } else {
                http.list_permissions_in(vhost).await
            }
        },
        async {
            if users.is_empty() {
                Ok(Vec::new())
            } else {
                http.list_topic_permissions_in(vhost).await
            }
        },
        http.list_operator_policies_in(vhost),
    );
    let (mut doc, vhost_exists) = match definitions {
        Ok(text) => (
            serde_json::from_str::<Value>(&text).map_err(|e| BrokerError::Http {
                doing: format!("read the definitions of vhost {vhost:?}"),
                reason: e.to_string(),
            })?,
            true,
        ),
        Err(e) if is_not_found(&e) => (json!({}), false),
        Err(e) => {
            return Err(BrokerError::http(
                format!("export the definitions of vhost {vhost:?}"),
                e,
            ));
        }
    };
    let named = |name: &str| users.iter().any(|u| u == name);
    let all_users = all_users.map_err(|e| BrokerError::http("list users", e))?;
    let permissions = if vhost_exists {
        permissions
            .map_err(|e| BrokerError::http(format!("list permissions in vhost {vhost:?}"), e))?
    } else {
        Vec::new()
    };
    let topic_permissions = if vhost_exists {
        topic_permissions.map_err(|e| {
            BrokerError::http(format!("list topic permissions in vhost {vhost:?}"), e)
        })?
    } else {
        Vec::new()
    };
    // Users and permissions enter through the same import as a file's.
    let to_values = |items: Vec<Value>| Value::Array(items);
    doc["users"] = to_values(
        all_users
            .iter()
            .filter(|u| named(&u.name))
            .map(|u| json!({ "name": u.name, "tags": serde_json::to_value(&u.tags).unwrap_or(Value::Null) }))
            .collect(),
    );
    doc["permissions"] = to_values(
        permissions
            .iter()
            .filter(|p| named(&p.user))
            .map(|p| json!({ "user": p.user, "vhost": vhost, "configure": p.configure, "write": p.write, "read": p.read }))
            .collect(),
    );
    doc["topic_permissions"] = to_values(
        topic_permissions
            .iter()
            .filter(|p| named(&p.user))
            .map(|p| json!({ "user": p.user, "vhost": vhost, "exchange": p.exchange, "write": p.write, "read": p.read }))
            .collect(),
    );
    let imported = from_definitions(&doc, vhost).map_err(|e| BrokerError::Http {
        doing: format!("read the definitions of vhost {vhost:?}"),
        reason: e.to_string(),
    })?;
    let unsupported: Vec<String> = imported
        .unsupported
        .iter()
        .filter(|u| !u.contains("password hashes") && !u.contains("permissions of user"))
        .cloned()
        .collect();
    let mut topology = imported
        .topologies
        .into_iter()
        .find(|t| t.vhost == vhost)
        .unwrap_or_else(|| Topology {
            vhost: vhost.to_string(),
            ..Topology::default()
        });
    // A user with no permissions here still exists; keep it without them.
    topology.users.retain(|name, _| named(name));
    let operator_policies = match operator {
        Ok(list) => list
            .into_iter()
            .filter_map(|p| {
                let apply_to = serde_json::to_value(p.apply_to)
                    .ok()?
                    .as_str()
                    .and_then(parse_apply_to)?;
                Some(Policy {
                    name: p.name,
                    pattern: p.pattern,
                    apply_to,
                    priority: i64::from(p.priority),
                    definition: p
                        .definition
                        .0
                        .clone()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, canonical(v)))
                        .collect(),
                    origin: Origin::default(),
                })
            })
            .collect(),
        Err(e) if is_not_found(&e) => Vec::new(),
        Err(e) => {
            return Err(BrokerError::http(
                format!("list operator policies in vhost {vhost:?}"),
                e,
            ));
        }
    };
    let fingerprint = fingerprint(&topology);
    Ok(Observed {
        topology,
        operator_policies,
        vhost_exists,
        fingerprint,
        unsupported,
    })
}

/// SHA-256 over the observed objects in canonical JSON (maps are sorted).
pub fn fingerprint(topology: &Topology) -> String {
    let mut doc = crate::definitions::to_definitions(topology);
    let users: Vec<Value> = topology
        .users
        .values()
        .map(|u| json!({ "name": u.name, "tags": u.tags, "permissions": u.permissions, "topic": u.topic_permissions }))
        .collect();
    doc["users"] = Value::Array(users);
    let digest = Sha256::digest(doc.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// 404, or the 400 `vhost_not_found` the definitions endpoint answers for
/// a vhost that does not exist yet.
fn is_not_found(e: &HttpClientError) -> bool {
    match e {
        HttpClientError::NotFound => true,
        HttpClientError::ClientErrorResponse {
            status_code,
            error_details,
            ..
        } => {
            status_code.as_u16() == 404
                || error_details
                    .as_ref()
                    .and_then(|d| d.reason())
                    .is_some_and(|r| r.contains("not_found"))
        }
        _ => false,
    }
}

/// Ready-message counts of the named queues (one request for the vhost).
///
/// # Errors
/// The management API refuses or is unreachable.
pub async fn queue_messages(
    http: &Http,
    vhost: &str,
) -> Result<std::collections::BTreeMap<String, u64>, BrokerError> {
    let queues = http
        .list_queues_in(vhost)
        .await
        .map_err(|e| BrokerError::http(format!("list queues in vhost {vhost:?}"), e))?;
    Ok(queues
        .into_iter()
        .map(|q| (q.name, q.message_count))
        .collect())
}
