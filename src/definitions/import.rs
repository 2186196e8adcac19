//! Definitions JSON to topologies, one per vhost, normalised the way the
//! broker reports objects: defaults filled in, arguments canonical, the
//! queue type and alternate exchange lifted out of the arguments.
//!
//! `broker::observe` reads a live vhost through the same function, so a
//! spec and a broker are compared in one normal form.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::document::{Document, PermissionEntry, TopicPermissionEntry, UserEntry};
use serde_json::Value;

use crate::topology::{
    ApplyTo, Arguments, Binding, DestinationType, Exchange, ExchangeType, Origin, PREDECLARED,
    Permissions, Policy, QUEUE_TYPE, Queue, QueueType, TopicPermission, Topology, User,
    VhostSettings, canonical, default_password_env, normalize, queue_type,
};
use crate::vocabulary::{Setting, Version};

/// The result of reading a definitions document.
#[derive(Debug, Default)]
pub struct Imported {
    /// One topology per vhost the document holds.
    pub topologies: Vec<Topology>,
    /// What the document holds that a warren topology does not express,
    /// one line each (never dropped silently).
    pub unsupported: Vec<String>,
}

/// Why a definitions document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionsError {
    /// The text is not JSON, or not shaped like a definitions document.
    #[error("not a RabbitMQ definitions document: {}", crate::spec::plain_words(&.0.to_string()))]
    Shape(#[from] serde_json::Error),
    /// The document has the right shape but holds what RabbitMQ refuses.
    #[error("{0}")]
    Invalid(String),
}

impl Imported {
    /// The topology of `vhost`, empty when the document holds nothing of it.
    pub fn take(&mut self, vhost: &str) -> Topology {
        match self.topologies.iter().position(|t| t.vhost == vhost) {
            Some(i) => self.topologies.swap_remove(i),
            None => Topology {
                vhost: vhost.to_string(),
                ..Topology::default()
            },
        }
    }
}

/// A value the broker would refuse, by the settings table: the document
/// cannot have come from a broker, and importing it would only move the
/// refusal to `apply`. `at` names where it is, as a path into the document.
fn refused_values(
    values: &Arguments,
    setting: fn(&str) -> Option<&'static Setting>,
    at: impl Fn() -> String,
) -> Result<(), DefinitionsError> {
    for (key, value) in values {
        if let Some(problem) = setting(key).and_then(|s| s.value_problem(value)) {
            return Err(DefinitionsError::Invalid(format!(
                "{} {key:?} is {value}, which RabbitMQ refuses: {problem}",
                at()
            )));
        }
    }
    Ok(())
}

/// Reads a definitions document (cluster-wide, or one vhost's export whose
/// objects carry no vhost: `default_vhost` names it).
///
/// # Errors
/// The JSON does not have the shape of a definitions document.
pub fn from_definitions(doc: &Value, default_vhost: &str) -> Result<Imported, DefinitionsError> {
    let doc = Document::deserialize(doc)?;
    let exported_by = doc.exported_by();
    let mut imported = Imported::default();
    let mut by_vhost: BTreeMap<String, Topology> = BTreeMap::new();
    let one_vhost = doc.one_vhost();
    let topology = |by_vhost: &mut BTreeMap<String, Topology>, vhost: &Option<String>| -> String {
        let name = match vhost {
            Some(name) if !one_vhost => name.clone(),
            _ => default_vhost.to_string(),
        };
        by_vhost.entry(name.clone()).or_insert_with(|| Topology {
            vhost: name.clone(),
            ..Topology::default()
        });
        name
    };
    for v in &doc.vhosts {
        let name = topology(&mut by_vhost, &Some(v.name.clone()));
        if let Some(t) = by_vhost.get_mut(&name) {
            t.settings = vhost_settings(&Value::Object(v.rest.clone()));
        }
    }
    // A one-vhost export (4.x) holds its vhost's metadata at the top.
    if doc.vhosts.is_empty() && doc.metadata.is_object() {
        let name = topology(&mut by_vhost, &None);
        if let Some(t) = by_vhost.get_mut(&name) {
            t.settings = vhost_settings(&serde_json::json!({ "metadata": doc.metadata }));
        }
    }
    let skip = |imported: &mut Imported, what: String| imported.unsupported.push(what);

    for x in doc.exchanges {
        let vhost = topology(&mut by_vhost, &x.vhost);
        if x.name.is_empty() || x.name.starts_with("amq.") {
            continue; // predeclared by the broker
        }
        let kind = match ExchangeType::parse(&x.kind) {
            Ok(kind) => kind,
            Err(_) => {
                skip(
                    &mut imported,
                    format!(
                        "vhost {vhost:?}: exchange {:?} has unknown type {:?}",
                        x.name, x.kind
                    ),
                );
                continue;
            }
        };
        let arguments: Arguments = x
            .arguments
            .into_iter()
            .map(|(k, v)| (k, canonical(v)))
            .collect();
        by_vhost.get_mut(&vhost).map(|t| {
            t.exchanges.insert(
                x.name.clone(),
                Exchange {
                    name: x.name,
                    kind,
                    durable: x.durable,
                    auto_delete: x.auto_delete,
                    internal: x.internal,
                    alternate_exchange: None,
                    settings_via: crate::vocabulary::SettingsVia::Arguments,
                    arguments,
                    origin: Origin::default(),
                },
            )
        });
    }
    // RabbitMQ 4.3 exports the bindings of exclusive queues without the
    // queues; a binding needs its queue, so one whose queue is missing is
    // such a binding.
    let declared_queues: std::collections::BTreeSet<(String, String)> = doc
        .queues
        .iter()
        .filter(|q| !q.exclusive && !q.name.starts_with("amq."))
        .map(|q| {
            (
                q.vhost.clone().unwrap_or_else(|| default_vhost.to_string()),
                q.name.clone(),
            )
        })
        .collect();
    for (index, q) in doc.queues.into_iter().enumerate() {
        let vhost = topology(&mut by_vhost, &q.vhost);
        if q.name.starts_with("amq.") || q.exclusive {
            skip(
                &mut imported,
                format!(
                    "vhost {vhost:?}: queue {:?} is server-named or exclusive, which a spec does not declare",
                    q.name
                ),
            );
            continue;
        }
        let arguments: Arguments = q
            .arguments
            .into_iter()
            .map(|(k, v)| (k, canonical(v)))
            .collect();
        refused_values(&arguments, Setting::by_argument, || {
            format!(
                "queues[{index}], queue {:?} of vhost {vhost:?}, argument",
                q.name
            )
        })?;
        let declared = arguments
            .get(QUEUE_TYPE)
            .and_then(|t| t.as_str().map(String::from))
            .or(q.kind.clone());
        let queue_type = match declared {
            Some(t) => match queue_type(&t) {
                Some(kind) => kind,
                None => {
                    let other = t;
                    skip(
                        &mut imported,
                        format!(
                            "vhost {vhost:?}: queue {:?} has unknown type {other:?}",
                            q.name
                        ),
                    );
                    continue;
                }
            },
            _ => QueueType::Classic,
        };
        let mut queue = Queue::new(&q.name, queue_type, Origin::default());
        queue.durable = q.durable;
        queue.auto_delete = q.auto_delete;
        queue.arguments = arguments;
        if let Some(t) = by_vhost.get_mut(&vhost) {
            t.queues.insert(q.name, queue);
        }
    }
    for b in doc.bindings {
        let vhost = topology(&mut by_vhost, &b.vhost);
        if b.source.is_empty() {
            continue; // the default exchange's implicit bindings
        }
        if b.destination_type == "queue"
            && !declared_queues.contains(&(vhost.clone(), b.destination.clone()))
        {
            skip(
                &mut imported,
                format!(
                    "vhost {vhost:?}: binding from {:?} to queue {:?}, which the document does not declare (an exclusive or server-named queue)",
                    b.source, b.destination
                ),
            );
            continue;
        }
        let predeclared = PREDECLARED.iter().any(|(name, _)| *name == b.source);
        if b.source.starts_with("amq.") && !predeclared {
            skip(
                &mut imported,
                format!(
                    "vhost {vhost:?}: binding from the broker's internal exchange {:?} to {:?}",
                    b.source, b.destination
                ),
            );
            continue;
        }
        let destination_type = match b.destination_type.as_str() {
            "exchange" => DestinationType::Exchange,
            "queue" => DestinationType::Queue,
            other => {
                return Err(DefinitionsError::Invalid(format!(
                    "vhost {vhost:?}: the binding from {:?} to {:?} has destination_type {:?}; RabbitMQ knows only \"queue\" and \"exchange\"",
                    b.source, b.destination, other
                )));
            }
        };
        if let Some(t) = by_vhost.get_mut(&vhost) {
            t.bindings.push(Binding {
                source: b.source,
                destination: b.destination,
                destination_type,
                routing_key: b.routing_key,
                arguments: b
                    .arguments
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
                origin: Origin::default(),
            });
        }
    }
    for (index, p) in doc.policies.into_iter().enumerate() {
        let vhost = topology(&mut by_vhost, &p.vhost);
        let Some(apply_to) = parse_apply_to(&p.apply_to) else {
            skip(
                &mut imported,
                format!(
                    "vhost {vhost:?}: policy {:?} applies to {:?}",
                    p.name, p.apply_to
                ),
            );
            continue;
        };
        let definition: Arguments = p
            .definition
            .into_iter()
            .map(|(k, v)| (k, canonical(v)))
            .collect();
        refused_values(&definition, Setting::by_policy_key, || {
            format!(
                "policies[{index}], policy {:?} of vhost {vhost:?}, key",
                p.name
            )
        })?;
        if let Some(t) = by_vhost.get_mut(&vhost) {
            t.policies.insert(
                p.name.clone(),
                Policy {
                    name: p.name,
                    pattern: p.pattern,
                    apply_to,
                    priority: p.priority,
                    definition,
                    origin: Origin::default(),
                },
            );
        }
    }
    users(
        &doc.users,
        &doc.permissions,
        &doc.topic_permissions,
        &mut by_vhost,
        default_vhost,
    );
    if !doc.users.is_empty() {
        skip(
            &mut imported,
            format!(
                "{} user(s): password hashes are not kept (a spec names a password_env)",
                doc.users.len()
            ),
        );
    }
    for p in &doc.permissions {
        skip(
            &mut imported,
            format!(
                "vhost {:?}: permissions of user {:?} (warren derives permissions from the services that run as a user)",
                p.vhost, p.user
            ),
        );
    }
    for p in &doc.parameters {
        let component = p.get("component").and_then(Value::as_str).unwrap_or("?");
        let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
        skip(
            &mut imported,
            format!(
                "runtime parameter {component}/{name} (federation, shovels and other parameters are outside the spec)"
            ),
        );
    }
    if !doc.global_parameters.is_empty() {
        skip(
            &mut imported,
            format!(
                "{} global parameter(s) (cluster settings are outside the spec)",
                doc.global_parameters.len()
            ),
        );
    }
    for t in by_vhost.values_mut() {
        t.bindings
            .sort_by(|a, b| binding_key(a).cmp(&binding_key(b)));
        t.bindings.dedup_by(|a, b| binding_key(a) == binding_key(b));
        if exported_by.is_some_and(|v| v >= INTERNAL_LEFT_OUT) {
            for name in undeclared_exchanges(t) {
                skip(
                    &mut imported,
                    format!(
                        "vhost {:?}: exchange {name:?} is bound but not declared: RabbitMQ {INTERNAL_LEFT_OUT}'s definitions export leaves out internal exchanges; declare it (internal: true), or read the vhost with `warren export`, which lists them",
                        t.vhost
                    ),
                );
            }
        }
    }
    imported.topologies = by_vhost.into_values().collect();
    for t in &mut imported.topologies {
        // A definitions document has no named settings to disagree with.
        let _ = normalize(t);
    }
    Ok(imported)
}

/// A vhost's metadata as `GET /api/vhosts/{name}` and a definitions
/// document's vhost entry hold it: `metadata` on 4.x, the same fields at
/// the top on 3.x. An empty description or tag list is none (a vhost PUT
/// without them clears them, so nothing is lost), and so is a default
/// queue type of "undefined" (3.10, which keeps none).
pub fn vhost_settings(v: &Value) -> VhostSettings {
    let field = |name: &str| {
        v.get("metadata")
            .and_then(|m| m.get(name))
            .or_else(|| v.get(name))
    };
    let tags = field("tags").map(|tags| {
        let mut list: Vec<String> = match tags {
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            Value::String(list) => list
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        list.sort();
        list.dedup();
        list
    });
    VhostSettings {
        description: field("description")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
            .map(String::from),
        tags: tags.filter(|t| !t.is_empty()),
        default_queue_type: field("default_queue_type")
            .and_then(Value::as_str)
            .and_then(crate::topology::queue_type),
        origin: Origin::default(),
    }
}

/// The release whose definitions export leaves out internal exchanges.
const INTERNAL_LEFT_OUT: Version = Version::new(4, 3);

/// Exchanges the bindings name that the topology does not declare (nor
/// the broker predeclare).
fn undeclared_exchanges(t: &Topology) -> std::collections::BTreeSet<String> {
    t.bindings
        .iter()
        .flat_map(|b| {
            let to_exchange = b.destination_type == DestinationType::Exchange;
            std::iter::once(&b.source).chain(to_exchange.then_some(&b.destination))
        })
        .filter(|name| !t.exchanges.contains_key(*name) && !name.starts_with("amq."))
        .cloned()
        .collect()
}

/// Identity of a binding as RabbitMQ sees it.
pub fn binding_key(b: &Binding) -> (&str, DestinationType, &str, &str, String) {
    (
        &b.source,
        b.destination_type,
        &b.destination,
        &b.routing_key,
        Value::from(
            b.arguments
                .clone()
                .into_iter()
                .collect::<serde_json::Map<_, _>>(),
        )
        .to_string(),
    )
}

/// A policy's `apply-to` as definitions write it (`queues`, `classic_queues`,
/// `quorum_queues`, `streams`, `exchanges`, `all`); `None` for any other text.
pub fn parse_apply_to(text: &str) -> Option<ApplyTo> {
    Some(match text {
        "queues" => ApplyTo::Queues,
        "classic_queues" => ApplyTo::ClassicQueues,
        "quorum_queues" => ApplyTo::QuorumQueues,
        "streams" => ApplyTo::Streams,
        "exchanges" => ApplyTo::Exchanges,
        "all" => ApplyTo::All,
        _ => return None,
    })
}

/// Users go to every vhost they have permissions in (users without any to
/// the default vhost), with those permissions.
fn users(
    users: &[UserEntry],
    permissions: &[PermissionEntry],
    topic: &[TopicPermissionEntry],
    by_vhost: &mut BTreeMap<String, Topology>,
    default_vhost: &str,
) {
    for u in users {
        let tags: Vec<String> = match &u.tags {
            Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect(),
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        let mut vhosts: Vec<&str> = permissions
            .iter()
            .filter(|p| p.user == u.name)
            .map(|p| p.vhost.as_str())
            .collect();
        if vhosts.is_empty() {
            vhosts.push(by_vhost.keys().next().map_or(default_vhost, String::as_str));
        }
        let vhosts: Vec<String> = vhosts.into_iter().map(String::from).collect();
        for vhost in vhosts {
            let p = permissions
                .iter()
                .find(|p| p.user == u.name && p.vhost == vhost);
            let t = by_vhost.entry(vhost.clone()).or_insert_with(|| Topology {
                vhost: vhost.clone(),
                ..Topology::default()
            });
            t.users.insert(
                u.name.clone(),
                User {
                    name: u.name.clone(),
                    password_env: Some(default_password_env(&u.name)),
                    tags: tags.clone(),
                    permissions: p.map(|p| Permissions {
                        configure: p.configure.clone(),
                        write: p.write.clone(),
                        read: p.read.clone(),
                    }),
                    topic_permissions: topic
                        .iter()
                        .filter(|tp| tp.user == u.name && tp.vhost == vhost)
                        .map(|tp| TopicPermission {
                            exchange: tp.exchange.clone(),
                            write: tp.write.clone(),
                            read: tp.read.clone(),
                        })
                        .collect(),
                    origin: Origin::default(),
                },
            );
        }
    }
}
