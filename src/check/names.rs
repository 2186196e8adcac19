//! E104 reserved-name, E105 invalid-name, E106 default-exchange-binding.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::source::Span;
use crate::topology::DestinationType;

/// RabbitMQ's limit for exchange and queue names (a shortstr).
const MAX_NAME_BYTES: usize = 255;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let t = cx.topology;
    let exchanges = t
        .exchanges
        .values()
        .map(|x| ("exchange", x.name.as_str(), x.origin.span));
    let queues = t
        .queues
        .values()
        .map(|q| ("queue", q.name.as_str(), q.origin.span));
    for (kind, name, span) in exchanges.chain(queues) {
        name_rules(kind, name, span, out);
    }
    // Routing and binding keys are AMQP short strings too.
    let keys = t
        .bindings
        .iter()
        .map(|b| (b.routing_key.as_str(), b.origin.attr("key")))
        .chain(
            t.services
                .values()
                .flat_map(|s| s.emits.iter().map(|e| (e.key.as_str(), e.span))),
        );
    for (key, span) in keys.filter(|(k, _)| k.len() > crate::routing::MAX_KEY_BYTES) {
        out.push(
            Diagnostic::new(
                &codes::INVALID_VALUE,
                format!(
                    "a routing key of {} bytes: AMQP carries at most 255",
                    key.len()
                ),
            )
            .label(span, "key too long")
            .help("shorten the key; RabbitMQ refuses a longer key on bind and on publish"),
        );
    }
    for b in &t.bindings {
        let to_default =
            b.destination_type == DestinationType::Exchange && b.destination.is_empty();
        if b.source.is_empty() || to_default {
            out.push(
                Diagnostic::new(&codes::DEFAULT_EXCHANGE_BINDING, "a binding to or from the default exchange")
                    .label(b.origin.span, "default exchange")
                    .help("the default exchange (\"\") routes to the queue named by the key and cannot be bound: use a named exchange"),
            );
        }
    }
}

fn name_rules(kind: &str, name: &str, span: Option<Span>, out: &mut Vec<Diagnostic>) {
    if name.starts_with("amq.") {
        let predeclared = crate::topology::PREDECLARED.iter().any(|(p, _)| *p == name);
        out.push(
            Diagnostic::new(
                &codes::RESERVED_NAME,
                format!("{kind} name {name:?} starts with \"amq.\", which RabbitMQ reserves"),
            )
            .label(span, "reserved prefix")
            .help(if predeclared {
                format!("{name} exists in every vhost already: bind to it and emit to it without declaring it")
            } else {
                "the broker refuses to declare such names: choose a name without the amq. prefix".into()
            }),
        );
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        out.push(
            Diagnostic::new(
                &codes::INVALID_NAME,
                format!(
                    "{kind} name {name:?} holds the control character U+{:04X}",
                    u32::from(c)
                ),
            )
            .label(span, "control character")
            .help("RabbitMQ strips or refuses line breaks and other control characters in names, so the broker's object would never match the spec: remove it"),
        );
    }
    if name.is_empty() {
        out.push(
            Diagnostic::new(&codes::INVALID_NAME, format!("{kind} name is empty"))
                .label(span, "empty name")
                .help("give the object a name; \"\" is the default exchange, which exists already"),
        );
    } else if name.len() > MAX_NAME_BYTES {
        out.push(
            Diagnostic::new(
                &codes::INVALID_NAME,
                format!(
                    "{kind} name is {} bytes long; RabbitMQ allows {MAX_NAME_BYTES}",
                    name.len()
                ),
            )
            .label(span, "too long")
            .help("shorten the name (a service's retry queues add \".retry.<delay>\" to its name)"),
        );
    }
}
