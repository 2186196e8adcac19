//! E201 to E204 and W205: settings that a queue's type refuses or ignores.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::{Queue, QueueType};

/// Arguments streams refuse or ignore.
const NOT_FOR_STREAMS: &[(&str, &str)] = &[
    ("x-message-ttl", "message_ttl"),
    ("x-dead-letter-exchange", "dead_letter"),
    ("x-dead-letter-routing-key", "dead_letter"),
    ("x-dead-letter-strategy", "dead_letter_strategy"),
    ("x-max-length", "max_length"),
    ("x-overflow", "overflow"),
    ("x-delivery-limit", "delivery_limit"),
    ("x-expires", "expires"),
];

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for q in cx.topology.queues.values() {
        replicated_durability(q, out);
        priority(q, out);
        if q.queue_type == QueueType::Quorum && q.overflow() == Some("reject-publish-dlx") {
            out.push(
                Diagnostic::new(
                    &codes::REJECT_PUBLISH_DLX_ON_QUORUM,
                    format!("quorum queue {:?} uses overflow reject-publish-dlx", q.name),
                )
                .label(
                    q.origin.attr("x-overflow"),
                    "not supported by quorum queues",
                )
                .help("quorum queues support drop-head and reject-publish: use reject-publish"),
            );
        }
        if q.queue_type == QueueType::Stream {
            for (arg, field) in NOT_FOR_STREAMS {
                if q.arguments.contains_key(*arg) {
                    out.push(
                        Diagnostic::new(&codes::STREAM_UNSUPPORTED, format!("stream {:?} sets `{field}`, which streams do not support", q.name))
                            .label(q.origin.attr(arg), "not for streams")
                            .help("streams keep messages until retention removes them: use max_age or max_length_bytes, or make this a quorum queue"),
                    );
                }
            }
        }
        ignored(q, out);
    }
}

fn replicated_durability(q: &Queue, out: &mut Vec<Diagnostic>) {
    if !q.queue_type.is_replicated() {
        return;
    }
    for (bad, attr, what) in [
        (!q.durable, "durable", "not durable"),
        (q.exclusive, "exclusive", "exclusive"),
        (q.auto_delete, "auto_delete", "auto-delete"),
    ] {
        if bad {
            out.push(
                Diagnostic::new(&codes::REPLICATED_NOT_DURABLE, format!("{} queue {:?} is {what}", q.queue_type, q.name))
                    .label(q.origin.attr(attr), what)
                    .help(format!("{} queues are always durable, never exclusive or auto-delete: remove the setting or use a classic queue", q.queue_type)),
            );
        }
    }
}

fn priority(q: &Queue, out: &mut Vec<Diagnostic>) {
    if q.queue_type.is_replicated() && q.arguments.contains_key("x-max-priority") {
        out.push(
            Diagnostic::new(&codes::PRIORITY_NOT_SUPPORTED, format!("{} queue {:?} sets max_priority", q.queue_type, q.name))
                .label(q.origin.attr("x-max-priority"), "not supported")
                .help("only classic queues take max_priority: remove it, or use a classic queue (quorum queues on RabbitMQ 4 have two built-in priorities)"),
        );
    }
}

fn ignored(q: &Queue, out: &mut Vec<Diagnostic>) {
    let mut warn = |arg: &str, field: &str, only: &str| {
        if q.arguments.contains_key(arg) {
            out.push(
                Diagnostic::new(
                    &codes::SETTING_IGNORED,
                    format!(
                        "{} queue {:?} sets `{field}`, which only {only} use",
                        q.queue_type, q.name
                    ),
                )
                .label(q.origin.attr(arg), "ignored")
                .help(format!("remove `{field}` or change the queue type")),
            );
        }
    };
    if q.queue_type == QueueType::Classic {
        warn("x-delivery-limit", "delivery_limit", "quorum queues");
    }
    if q.queue_type != QueueType::Stream {
        warn("x-max-age", "max_age", "streams");
    }
}
