//! A queue block's named settings to RabbitMQ queue arguments.

use serde_json::Value;

use super::{Compiler, at};
use crate::diagnostic::{Diagnostic, codes};
use crate::source::FileId;
use crate::spec::{Duration, QueueSpec, Spanned};
use crate::topology::{Origin, Queue, QueueType, canonical};

pub(super) fn build(
    cx: &mut Compiler,
    file: FileId,
    name: &str,
    spec: &QueueSpec,
    default_type: Option<QueueType>,
    mut origin: Origin,
) -> Queue {
    let queue_type = match &spec.kind {
        Some(t) => {
            origin.with_attr("type", at(file, t));
            t.value
        }
        None => default_type.unwrap_or_default(),
    };
    let mut queue = Queue::new(name, queue_type, origin);
    if let Some(d) = &spec.durable {
        queue.durable = d.value;
        queue.origin.with_attr("durable", at(file, d));
    }
    if let Some(a) = &spec.auto_delete {
        queue.auto_delete = a.value;
        queue.origin.with_attr("auto_delete", at(file, a));
    }
    let mut set = |key: &str, value: Option<(Value, Option<crate::source::Span>)>| {
        if let Some((value, span)) = value {
            queue.arguments.insert(key.to_string(), value);
            queue.origin.with_attr(key, span);
        }
    };
    let num = |v: &Option<Spanned<u64>>| v.as_ref().map(|v| (Value::from(v.value), at(file, v)));
    let millis = |v: &Option<Spanned<Duration>>| {
        v.as_ref()
            .map(|v| (Value::from(v.value.millis), at(file, v)))
    };
    set("x-max-length", num(&spec.max_length));
    set("x-max-length-bytes", num(&spec.max_length_bytes));
    set("x-delivery-limit", num(&spec.delivery_limit));
    set("x-message-ttl", millis(&spec.message_ttl));
    set("x-expires", millis(&spec.expires));
    set(
        "x-overflow",
        spec.overflow
            .as_ref()
            .map(|o| (Value::from(o.value.as_str()), at(file, o))),
    );
    set(
        "x-dead-letter-strategy",
        spec.dead_letter_strategy
            .as_ref()
            .map(|s| (Value::from(s.value.as_str()), at(file, s))),
    );
    set(
        "x-max-priority",
        spec.max_priority
            .as_ref()
            .map(|p| (Value::from(p.value), at(file, p))),
    );
    set(
        "x-single-active-consumer",
        spec.single_active_consumer
            .as_ref()
            .map(|s| (Value::from(s.value), at(file, s))),
    );
    let age = spec.max_age.as_ref().filter(|a| {
        let whole_seconds = a.value.millis > 0 && a.value.millis.is_multiple_of(1000);
        if !whole_seconds {
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
        whole_seconds
    });
    set(
        "x-max-age",
        age.map(|a| (Value::from(max_age(a.value)), at(file, a))),
    );
    if let Some(dl) = &spec.dead_letter {
        let exchange = dl.exchange.as_ref().map_or("", |e| e.value.as_str());
        let span = dl
            .exchange
            .as_ref()
            .and_then(|e| at(file, e))
            .or(at(file, dl));
        set(
            "x-dead-letter-exchange",
            Some((Value::from(exchange), span)),
        );
        set(
            "x-dead-letter-routing-key",
            dl.routing_key
                .as_ref()
                .map(|k| (Value::from(k.value.as_str()), at(file, k))),
        );
    }
    for (key, value) in &spec.arguments {
        cx.ambiguous_boolean(file, key, value);
        // A raw x-queue-type alone is the queue's type (the normaliser
        // lifts it); beside `type:` it is a second answer.
        if key.value == crate::topology::QUEUE_TYPE && spec.kind.is_some() {
            cx.report(conflict(file, key, "type"));
            continue;
        }
        if queue.arguments.contains_key(&key.value) {
            cx.report(conflict(file, key, named_field(&key.value)));
            continue;
        }
        queue
            .arguments
            .insert(key.value.clone(), canonical(value.clone()));
        queue.origin.with_attr(key.value.clone(), at(file, key));
    }
    queue
}

/// RabbitMQ's `x-max-age` is a string with units Y, M, D, h, m, s; warren
/// writes the largest exact unit (the caller has refused ages that are not
/// whole seconds).
fn max_age(age: Duration) -> String {
    let seconds = age.millis / 1000;
    for (unit, factor) in [("D", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds.is_multiple_of(factor) {
            return format!("{}{unit}", seconds / factor);
        }
    }
    format!("{seconds}s")
}

fn named_field(argument: &str) -> &str {
    crate::vocabulary::NAMED_ARGUMENTS
        .iter()
        .find(|(_, a)| *a == argument)
        .map_or(argument, |(field, _)| field)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_uses_rabbitmq_units() {
        assert_eq!(max_age(Duration::from_millis(7 * 86_400_000)), "7D");
        assert_eq!(max_age(Duration::from_millis(7_200_000)), "2h");
        assert_eq!(max_age(Duration::from_millis(90_000)), "90s");
    }
}
