//! Topology to definitions JSON.

use serde_json::{Map, Value, json};

use crate::topology::{Arguments, Topology};

/// The topology as a definitions document for one vhost, in the shape that
/// `POST /api/definitions/{vhost}` accepts. Exchanges keep their alternate
/// exchange and queues their type as arguments, as the broker stores them.
pub fn to_definitions(topology: &Topology) -> Value {
    let topology = &*topology.shared();
    let vhost = &topology.vhost;
    let exchanges: Vec<Value> = topology
        .exchanges
        .values()
        .map(|x| {
            let arguments = x.declared_arguments();
            json!({
                "name": x.name,
                "vhost": vhost,
                "type": x.kind.as_str(),
                "durable": x.durable,
                "auto_delete": x.auto_delete,
                "internal": x.internal,
                "arguments": object(&arguments),
            })
        })
        .collect();
    let queues: Vec<Value> = topology
        .queues
        .values()
        .map(|q| {
            let mut arguments = q.declared_arguments();
            arguments.insert(
                crate::vocabulary::arguments::QUEUE_TYPE.into(),
                Value::from(q.queue_type.as_str()),
            );
            json!({
                "name": q.name,
                "vhost": vhost,
                "durable": q.durable,
                "auto_delete": q.auto_delete,
                "arguments": object(&arguments),
            })
        })
        .collect();
    let mut bindings: Vec<Value> = topology
        .bindings
        .iter()
        .map(|b| {
            json!({
                "source": b.source,
                "vhost": vhost,
                "destination": b.destination,
                "destination_type": b.destination_type,
                "routing_key": b.routing_key,
                "arguments": object(&b.arguments),
            })
        })
        .collect();
    // A stable order, so that equal topologies give equal documents.
    bindings.sort_by_key(|b| b.to_string());
    let policies: Vec<Value> = topology
        .policies
        .values()
        .map(|p| {
            json!({
                "name": p.name,
                "vhost": vhost,
                "pattern": p.pattern,
                "apply-to": p.apply_to.as_str(),
                "priority": p.priority,
                "definition": object(&p.definition),
            })
        })
        .collect();
    let mut entry = Map::new();
    entry.insert("name".into(), json!(vhost));
    let settings = &topology.settings;
    let mut metadata = Map::new();
    if let Some(d) = &settings.description {
        metadata.insert("description".into(), json!(d));
    }
    if let Some(tags) = &settings.tags {
        metadata.insert("tags".into(), json!(tags));
    }
    if let Some(t) = settings.default_queue_type {
        metadata.insert("default_queue_type".into(), json!(t.as_str()));
    }
    if !metadata.is_empty() {
        // 3.x reads the fields at the top, 4.x under `metadata`.
        entry.extend(metadata.clone());
        entry.insert("metadata".into(), Value::Object(metadata));
    }
    json!({
        "vhosts": [entry],
        "exchanges": exchanges,
        "queues": queues,
        "bindings": bindings,
        "policies": policies,
    })
}

fn object(arguments: &Arguments) -> Value {
    Value::Object(
        arguments
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Map<_, _>>(),
    )
}
