//! The live state of a vhost as a [`Topology`], read in seven concurrent
//! requests: the vhost itself (its metadata), its definitions export,
//! exchange listing and operator policies (the half [`read_vhost`] can
//! start before the spec is known),
//! and the users the spec manages with their permissions and topic
//! permissions. Normalised by the same code that imports a definitions
//! file, so `plan::diff` compares like with like.
//!
//! The exchange listing is there because RabbitMQ 4.3's definitions export
//! leaves out every internal exchange, which the listing still shows.

use std::collections::BTreeMap;

use rabbitmq_http_client::commons::PasswordHash;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{BrokerError, Http, segment};
use crate::definitions::{from_definitions, parse_apply_to};
use crate::topology::{LiveTypes, Origin, Policy, Topology, VhostSettings, canonical};

/// What observe saw.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Exchanges, queues, bindings and policies of the vhost (without
    /// `amq.*`, server-named and exclusive objects), and the users the spec
    /// names, with their permissions in the vhost.
    pub topology: Topology,
    /// The vhost's operator policies, which the broker merges with the user
    /// policy that matches a queue.
    pub operator_policies: Vec<Policy>,
    /// False when the vhost does not exist yet.
    pub vhost_exists: bool,
    /// What the vhost holds that a spec cannot express (see
    /// `definitions::Imported::unsupported`).
    pub unsupported: Vec<String>,
    /// The salted password hash the broker keeps of each user the spec
    /// names (base64, as listed), for `plan` to compare passwords without
    /// sending them. Never saved, and redacted in `Debug`.
    pub password_hashes: BTreeMap<String, PasswordHash>,
}

/// The half of an observation that does not depend on the spec: the
/// vhost's definitions export and its operator policies, as answered. `plan`
/// starts reading it while the spec is still being checked.
pub struct VhostState {
    vhost: String,
    definitions: Result<Value, BrokerError>,
    metadata: Result<Value, BrokerError>,
    exchanges: Result<Vec<Value>, BrokerError>,
    operator: Result<Vec<rabbitmq_http_client::responses::Policy>, BrokerError>,
}

/// The exchange fields a definitions export holds, asked of the listing.
const EXCHANGE_COLUMNS: &str = "name,type,durable,auto_delete,internal,arguments";

/// Reads the definitions export, exchanges and operator policies of
/// `vhost`, three requests at once. Errors are kept for [`observe_with`]
/// to report.
pub async fn read_vhost(http: &Http, vhost: &str) -> VhostState {
    let v = segment(vhost);
    let (definitions_path, vhost_path, exchanges_path, operator_path) = (
        format!("definitions/{v}"),
        format!("vhosts/{v}"),
        format!("exchanges/{v}?disable_stats=true&columns={EXCHANGE_COLUMNS}"),
        format!("operator-policies/{v}"),
    );
    let doing_definitions = format!("export the definitions of vhost {vhost:?}");
    let doing_vhost = format!("read vhost {vhost:?}");
    let doing_exchanges = format!("list exchanges in vhost {vhost:?}");
    let doing_operator = format!("list operator policies in vhost {vhost:?}");
    let (definitions, metadata, exchanges, operator) = tokio::join!(
        http.get_json::<Value>(&definitions_path, &doing_definitions),
        http.get_json::<Value>(&vhost_path, &doing_vhost),
        http.get_json::<Vec<Value>>(&exchanges_path, &doing_exchanges),
        http.get_json::<Vec<rabbitmq_http_client::responses::Policy>>(
            &operator_path,
            &doing_operator
        ),
    );
    VhostState {
        vhost: vhost.to_string(),
        definitions,
        metadata,
        exchanges,
        operator,
    }
}

impl VhostState {
    /// The vhost this state was read from.
    pub fn vhost(&self) -> &str {
        &self.vhost
    }

    /// What the vhost says of queue types (its default, its queues'),
    /// when it was read; compile gives them to queues a spec leaves
    /// untyped.
    pub fn live_types(&self) -> Option<LiveTypes> {
        let doc = self.definitions.as_ref().ok()?;
        let queues = doc
            .get("queues")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|q| {
                let name = q.get("name")?.as_str()?;
                let named = q
                    .get("arguments")
                    .and_then(|a| a.get(crate::topology::QUEUE_TYPE))
                    .or_else(|| q.get("type"))
                    .and_then(Value::as_str);
                let kind = match named {
                    Some(t) => crate::topology::queue_type(t)?,
                    None => crate::topology::QueueType::Classic,
                };
                Some((name.to_string(), kind))
            })
            .collect();
        let default_queue_type = self
            .metadata
            .as_ref()
            .ok()
            .and_then(|m| crate::definitions::vhost_settings(m).default_queue_type);
        Some(LiveTypes {
            default_queue_type,
            queues,
        })
    }
}

/// Reads `vhost`; `users` are the user names the spec manages.
///
/// # Errors
/// The management API is unreachable, refuses, or answers something that
/// is not what it sends (the message says which request and gives the
/// broker's reason).
pub async fn observe(http: &Http, vhost: &str, users: &[String]) -> Result<Observed, BrokerError> {
    let (state, people) = tokio::join!(read_vhost(http, vhost), read_users(http, vhost, users));
    combine(state, people?, users)
}

/// [`observe`] from a [`VhostState`] read earlier.
///
/// # Errors
/// As [`observe`].
pub async fn observe_with(
    http: &Http,
    state: VhostState,
    users: &[String],
) -> Result<Observed, BrokerError> {
    let people = read_users(http, &state.vhost, users).await?;
    combine(state, people, users)
}

/// The users the spec manages and their permissions in the vhost.
struct People {
    users: Vec<rabbitmq_http_client::responses::User>,
    permissions: Result<Vec<rabbitmq_http_client::responses::Permissions>, BrokerError>,
    topic_permissions: Result<Vec<rabbitmq_http_client::responses::TopicPermission>, BrokerError>,
}

async fn read_users(http: &Http, vhost: &str, users: &[String]) -> Result<People, BrokerError> {
    use rabbitmq_http_client::responses;
    if users.is_empty() {
        return Ok(People {
            users: Vec::new(),
            permissions: Ok(Vec::new()),
            topic_permissions: Ok(Vec::new()),
        });
    }
    let v = segment(vhost);
    let (permissions_path, topic_path) = (
        format!("vhosts/{v}/permissions"),
        format!("vhosts/{v}/topic-permissions"),
    );
    let doing_permissions = format!("list permissions in vhost {vhost:?}");
    let doing_topic = format!("list topic permissions in vhost {vhost:?}");
    let (all_users, permissions, topic_permissions) = tokio::join!(
        http.get_json::<Vec<responses::User>>("users", "list users"),
        http.get_json::<Vec<responses::Permissions>>(&permissions_path, &doing_permissions),
        http.get_json::<Vec<responses::TopicPermission>>(&topic_path, &doing_topic),
    );
    Ok(People {
        users: all_users?,
        permissions,
        topic_permissions,
    })
}

fn combine(state: VhostState, people: People, users: &[String]) -> Result<Observed, BrokerError> {
    let vhost = state.vhost.as_str();
    let doing_definitions = format!("export the definitions of vhost {vhost:?}");
    let definitions = state.definitions;
    let operator = state.operator;
    let (mut doc, vhost_exists) = match definitions {
        Ok(Value::Object(doc)) => (doc, true),
        Ok(_) => {
            return Err(BrokerError::Http {
                doing: doing_definitions,
                reason: "the answer is not a JSON object, as a definitions export is".into(),
            });
        }
        Err(e) if is_not_found(&e) => (serde_json::Map::new(), false),
        Err(e) => return Err(e),
    };
    if vhost_exists {
        add_unexported_exchanges(&mut doc, state.exchanges)?;
    }
    let named = |name: &str| users.iter().any(|u| u == name);
    let all_users = people.users;
    let password_hashes = all_users
        .iter()
        .filter(|u| named(&u.name))
        .filter_map(|u| Some((u.name.clone(), u.password_hash.clone()?)))
        .collect();
    let (permissions, topic_permissions) = if vhost_exists {
        (people.permissions?, people.topic_permissions?)
    } else {
        (Vec::new(), Vec::new())
    };
    // Users and permissions enter through the same import as a file's.
    doc.insert(
        "users".into(),
        all_users
            .iter()
            .filter(|u| named(&u.name))
            .map(|u| json!({ "name": u.name, "tags": serde_json::to_value(&u.tags).unwrap_or(Value::Null) }))
            .collect(),
    );
    doc.insert(
        "permissions".into(),
        permissions
            .iter()
            .filter(|p| named(&p.user))
            .map(|p| json!({ "user": p.user, "vhost": vhost, "configure": p.configure, "write": p.write, "read": p.read }))
            .collect(),
    );
    doc.insert(
        "topic_permissions".into(),
        topic_permissions
            .iter()
            .filter(|p| named(&p.user))
            .map(|p| json!({ "user": p.user, "vhost": vhost, "exchange": p.exchange, "write": p.write, "read": p.read }))
            .collect(),
    );
    let imported = from_definitions(&Value::Object(doc), vhost).map_err(|e| BrokerError::Http {
        doing: format!("read the definitions of vhost {vhost:?}"),
        reason: e.to_string(),
    })?;
    let unsupported: Vec<String> = imported
        .unsupported
        .iter()
        .filter(|u| !u.contains("password hashes") && !u.contains("permissions of user"))
        .cloned()
        .collect();
    let mut imported = imported;
    let mut topology = imported.take(vhost);
    if vhost_exists {
        topology.settings = match state.metadata {
            Ok(v) => crate::definitions::vhost_settings(&v),
            Err(e) if is_not_found(&e) => VhostSettings::default(),
            Err(e) => return Err(e),
        };
    }
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
        Err(e) => return Err(e),
    };
    Ok(Observed {
        topology,
        operator_policies,
        vhost_exists,
        unsupported,
        password_hashes,
    })
}

/// Adds to an export the exchanges the listing shows and the export leaves
/// out (internal ones, on RabbitMQ 4.3), in the export's shape. The
/// broker's own `amq.*` exchanges and the default exchange stay out, as
/// import leaves them out of an export.
fn add_unexported_exchanges(
    doc: &mut serde_json::Map<String, Value>,
    listing: Result<Vec<Value>, BrokerError>,
) -> Result<(), BrokerError> {
    let listing = match listing {
        Ok(listing) => listing,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    let exported = doc
        .entry("exchanges")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(exported) = exported else {
        return Ok(());
    };
    let known: std::collections::BTreeSet<String> = exported
        .iter()
        .filter_map(|x| x.get("name").and_then(Value::as_str).map(String::from))
        .collect();
    for x in listing {
        let Some(name) = x.get("name").and_then(Value::as_str) else {
            continue;
        };
        if name.is_empty() || name.starts_with("amq.") || known.contains(name) {
            continue;
        }
        exported.push(x);
    }
    Ok(())
}

/// SHA-256 over the observed objects in canonical JSON (not the vhost's
/// metadata: apply creates a missing vhost, metadata and all, before it
/// plans again under the lock): maps are sorted,
/// bindings sorted too (the broker lists them in no promised order). Hashed
/// as it is written, without building a document: for 10,000 queues this
/// is a few milliseconds, where a `serde_json::Value` took over 100.
pub fn fingerprint(topology: &Topology) -> String {
    struct Digesting(Sha256);
    impl std::io::Write for Digesting {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut bindings: Vec<String> = topology
        .bindings
        .iter()
        .map(|b| serde_json::to_string(b).unwrap_or_default())
        .collect();
    bindings.sort_unstable();
    let users: Vec<(&String, &crate::topology::User)> = topology.users.iter().collect();
    let mut out = Digesting(Sha256::new());
    // Serialising maps of strings and plain structs cannot fail.
    let _ = serde_json::to_writer(
        &mut out,
        &(
            &topology.vhost,
            &topology.exchanges,
            &topology.queues,
            &bindings,
            &topology.policies,
            &users,
        ),
    );
    out.0
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 404, or the 400 `vhost_not_found` the definitions endpoint answers for
/// a vhost that does not exist yet.
fn is_not_found(e: &BrokerError) -> bool {
    match e {
        BrokerError::Status { status, reason, .. } => {
            *status == 404 || reason.as_deref().is_some_and(|r| r.contains("not_found"))
        }
        _ => false,
    }
}

/// Ready-message counts of the named queues (one request for the vhost).
///
/// # Errors
/// The management API refuses or is unreachable.
/// Messages and consumers of every queue in `vhost`, by name: what a
/// delete or replace would lose.
///
/// # Errors
/// As [`observe`].
pub async fn queue_usage(
    http: &Http,
    vhost: &str,
) -> Result<std::collections::BTreeMap<String, (u64, u64)>, BrokerError> {
    #[derive(serde::Deserialize)]
    struct Usage {
        name: String,
        #[serde(default)]
        messages: u64,
        #[serde(default)]
        consumers: u64,
    }
    let queues: Vec<Usage> = http
        .get_json(
            &format!("queues/{}?columns=name,messages,consumers", segment(vhost)),
            &format!("list queues in vhost {vhost:?}"),
        )
        .await?;
    Ok(queues
        .into_iter()
        .map(|q| (q.name, (q.messages, q.consumers)))
        .collect())
}
