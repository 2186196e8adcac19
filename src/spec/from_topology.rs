//! A topology written back as a spec: for `export` (a live vhost) and
//! `import` (a definitions file). Settings with a named field get it; the
//! rest stay raw `arguments`, so nothing is lost on the way.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{BindingSpec, ExchangeSpec, PolicySpec, QueueSpec, Spanned, SpecFile, UserSpec};
use crate::topology::{Arguments, DestinationType, QueueType, Topology};
use crate::vocabulary::SETTINGS;

/// The first line of every spec warren writes.
pub const SCHEMA_HEADER: &str = "# yaml-language-server: $schema=../schemas/warren.schema.json\n";

/// The spec for `t`. Queues are marked `external`: a broker does not say who
/// consumes them.
pub fn from_topology(t: &Topology) -> SpecFile {
    let t = &crate::topology::settings_policies::fold(t);
    let mut spec = SpecFile {
        version: b(1),
        vhost: Some(super::VhostSpec {
            name: b(t.vhost.clone()),
            settings: super::VhostSettingsSpec {
                name: b(t.vhost.clone()),
                description: t.settings.description.clone().map(b::<_>),
                tags: t
                    .settings
                    .tags
                    .as_ref()
                    .map(|tags| tags.iter().cloned().map(b::<_>).collect()),
                default_queue_type: t.settings.default_queue_type.map(b::<_>),
            },
        }),
        ..SpecFile::default()
    };
    for x in t.exchanges.values() {
        spec.exchanges.insert(
            b(x.name.clone()),
            ExchangeSpec {
                kind: b(x.kind.clone()),
                durable: (!x.durable).then_some(false),
                auto_delete: x.auto_delete.then_some(true),
                internal: x.internal.then_some(true),
                alternate_exchange: x.alternate_exchange.clone().map(b::<_>),
                settings: via(x.settings_via),
                arguments: raw(&x.arguments),
            },
        );
    }
    for q in t.queues.values() {
        let mut spec_q = queue_settings(q.queue_type, &q.arguments);
        spec_q.durable = (!q.durable).then(|| b(false));
        spec_q.auto_delete = q.auto_delete.then(|| b(true));
        spec_q.external = Some(true);
        spec_q.settings = via(q.settings_via);
        spec.queues.insert(b(q.name.clone()), spec_q);
    }
    for binding in &t.bindings {
        let mut spec_b = BindingSpec {
            exchange: b(binding.source.clone()),
            key: (!binding.routing_key.is_empty()).then(|| b(binding.routing_key.clone())),
            arguments: raw(&binding.arguments),
            ..BindingSpec::default()
        };
        let into_queue = binding.destination_type == DestinationType::Queue;
        match spec.queues.get_mut(binding.destination.as_str()) {
            Some(queue) if into_queue => queue.bindings.push(spec_b),
            _ => {
                if into_queue {
                    spec_b.queue = Some(b(binding.destination.clone()));
                } else {
                    spec_b.to_exchange = Some(b(binding.destination.clone()));
                }
                spec.bindings.push(spec_b);
            }
        }
    }
    for p in t.policies.values() {
        spec.policies.insert(
            b(p.name.clone()),
            PolicySpec {
                pattern: b(p.pattern.clone()),
                apply_to: Some(b(p.apply_to)),
                priority: (p.priority != 0).then(|| b(p.priority)),
                definition: b(raw(&p.definition)),
            },
        );
    }
    for u in t.users.values() {
        spec.users.insert(
            b(u.name.clone()),
            UserSpec {
                password_env: u.password_env.clone().map(b::<_>),
                tags: u.tags.clone(),
                password: None,
            },
        );
    }
    spec
}

/// A value with no source position.
fn b<T>(value: T) -> Spanned<T> {
    Spanned::bare(value)
}

fn raw(arguments: &Arguments) -> BTreeMap<Spanned<String>, Value> {
    arguments
        .iter()
        .map(|(k, v)| (Spanned::bare(k.clone()), v.clone()))
        .collect()
}

/// Named fields for the arguments that have one (the settings table says
/// which) and a value that fits the field; everything else stays raw.
fn queue_settings(queue_type: QueueType, arguments: &Arguments) -> QueueSpec {
    let mut q = QueueSpec {
        kind: (queue_type != QueueType::Classic).then(|| b(queue_type)),
        ..QueueSpec::default()
    };
    let mut rest = arguments.clone();
    // Table order: a dead-letter exchange comes before its routing key.
    for setting in SETTINGS {
        let (Some(field), Some(argument)) = (setting.field, setting.argument) else {
            continue;
        };
        if let Some(value) = rest.get(argument)
            && q.set_named(field, value)
        {
            rest.remove(argument);
        }
    }
    q.arguments = raw(&rest);
    q
}

/// `settings: policy` where the object says so; nothing for the default.
fn via(
    settings: crate::vocabulary::SettingsVia,
) -> Option<Spanned<crate::vocabulary::SettingsVia>> {
    (settings == crate::vocabulary::SettingsVia::Policy).then(|| b(settings))
}

/// The spec as YAML with the schema header.
///
/// # Errors
/// Only if serialisation fails, which the spec types do not.
pub fn to_spec_yaml(t: &Topology) -> Result<String, super::YamlError> {
    Ok(format!(
        "{SCHEMA_HEADER}{}",
        super::to_yaml(&from_topology(t))?
    ))
}
