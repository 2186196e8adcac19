//! A queue block's named settings to RabbitMQ queue arguments.

use super::{Compiler, at};
use crate::diagnostic::{Diagnostic, codes};
use crate::source::FileId;
use crate::spec::{QueueSpec, Spanned};
use crate::topology::{Origin, QUEUE_TYPE, Queue, QueueType, canonical};
use crate::vocabulary::Setting;

pub(super) fn build(
    cx: &mut Compiler,
    file: FileId,
    name: &str,
    spec: &QueueSpec,
    default_type: Option<QueueType>,
    mut origin: Origin,
) -> Queue {
    let stated = spec.kind.as_ref().map(|t| {
        origin.with_attr("type", at(file, t));
        t.value
    });
    let mut queue = Queue::new(name, stated.unwrap_or_default(), origin);
    if let Some(d) = &spec.durable {
        queue.durable = d.value;
        queue.origin.with_attr("durable", at(file, d));
    }
    if let Some(a) = &spec.auto_delete {
        queue.auto_delete = a.value;
        queue.origin.with_attr("auto_delete", at(file, a));
    }
    if let Some(a) = spec.max_age.as_ref().filter(|a| a.as_age().is_none()) {
        cx.report(
            Diagnostic::new(
                &codes::INVALID_VALUE,
                format!(
                    "max_age {} is not a whole number of seconds, at least 1s",
                    a.value
                ),
            )
            .label(at(file, a), "RabbitMQ counts a stream's age in seconds")
            .help("write the age in s, m, h or d (1s at least), for example max_age: 7d"),
        );
    }
    let named = spec.named_values();
    for n in &named {
        let setting = Setting::by_field(n.field);
        if let Some(problem) = setting.and_then(|s| s.value_problem(&n.value)) {
            cx.report(
                Diagnostic::new(
                    &codes::INVALID_VALUE,
                    format!("queue {name:?} sets {} to {}: {problem}", n.field, n.value),
                )
                .label(Some(super::span(file, n.loc)), "refused by RabbitMQ")
                .help("RabbitMQ refuses to declare the queue with this value: fix the value"),
            );
        }
        let argument = setting
            .and_then(|s| s.argument)
            .expect("every named field has a row with an argument");
        queue
            .arguments
            .insert(argument.to_string(), n.value.clone());
        queue
            .origin
            .with_attr(argument, Some(super::span(file, n.loc)));
    }
    for (key, value) in &spec.arguments {
        cx.raw_value(file, key, value);
        let setting = Setting::by_argument(&key.value);
        if let Some(field) = setting.and_then(Setting::top_field) {
            let named_too = match field {
                "type" => spec.kind.is_some(),
                _ => named
                    .iter()
                    .any(|n| n.field.split('.').next() == Some(field)),
            };
            if named_too {
                cx.report(conflict(file, key, field));
                continue;
            }
        }
        let value = canonical(value.clone());
        if let Some(problem) = setting.and_then(|s| s.value_problem(&value)) {
            cx.report(
                Diagnostic::new(
                    &codes::INVALID_VALUE,
                    format!("queue {name:?} sets {:?} to {value}: {problem}", key.value),
                )
                .label(at(file, key), "refused by RabbitMQ")
                .help("RabbitMQ refuses to declare the queue with this value: fix the value, or use the named field (see docs/spec.md)"),
            );
        }
        queue.arguments.insert(key.value.clone(), value);
        queue.origin.with_attr(key.value.clone(), at(file, key));
    }
    if queue.dead_letter_routing_key().is_some() && queue.dead_letter_exchange().is_none() {
        cx.report(
            Diagnostic::new(
                &codes::INVALID_VALUE,
                format!("queue {name:?} has a dead-letter routing key but no dead-letter exchange"),
            )
            .label(queue.origin.attr(crate::vocabulary::arguments::DEAD_LETTER_ROUTING_KEY), "routing key alone")
            .help("RabbitMQ refuses x-dead-letter-routing-key without x-dead-letter-exchange: use dead_letter: { exchange: X, routing_key: K } (exchange \"\" is the default exchange)"),
        );
    }
    // A raw x-queue-type states the type too (normalise lifts it later).
    if stated.is_none() && !spec.arguments.keys().any(|k| k.value == QUEUE_TYPE) {
        cx.default_type(&mut queue, default_type);
    }
    queue
}

pub(super) fn conflict(file: FileId, key: &Spanned<String>, field: &str) -> Diagnostic {
    Diagnostic::new(
        &codes::ARGUMENT_CONFLICT,
        format!(
            "argument {:?} duplicates the named setting `{field}`",
            key.value
        ),
    )
    .label(at(file, key), "raw argument")
    .help(format!("remove the raw argument and keep `{field}:`"))
}
