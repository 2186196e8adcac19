//! E201 to E204 and W205: settings that a queue's type refuses or ignores.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::{Queue, QueueType};
use crate::vocabulary::{Applies, Overflow, Setting};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for q in cx.topology.queues.values() {
        replicated_durability(q, out);
        priority(q, out);
        if q.queue_type == QueueType::Quorum && q.overflow() == Some(Overflow::RejectPublishDlx) {
            out.push(
                Diagnostic::new(
                    &codes::REJECT_PUBLISH_DLX_ON_QUORUM,
                    format!("quorum queue {:?} uses overflow reject-publish-dlx", q.name),
                )
                .label(
                    q.origin.attr(Setting::OVERFLOW.arg()),
                    "not supported by quorum queues",
                )
                .help("quorum queues support drop-head and reject-publish: use reject-publish"),
            );
        }
        arguments(q, out);
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
    if q.queue_type.is_replicated() && q.arguments.contains_key(Setting::MAX_PRIORITY.arg()) {
        out.push(
            Diagnostic::new(&codes::PRIORITY_NOT_SUPPORTED, format!("{} queue {:?} sets max_priority", q.queue_type, q.name))
                .label(q.origin.attr(Setting::MAX_PRIORITY.arg()), "not supported")
                .help("only classic queues take max_priority: remove it, or use a classic queue (quorum queues on RabbitMQ 4 have two built-in priorities)"),
        );
    }
}

/// Arguments the queue's type refuses (the broker answers "invalid arg"
/// and declares nothing) or that RabbitMQ does not know (it accepts and
/// ignores them), by the settings table.
fn arguments(q: &Queue, out: &mut Vec<Diagnostic>) {
    for argument in q.arguments.keys() {
        let span = q.origin.attr(argument);
        let setting = Setting::by_argument(argument);
        let Some(setting) = setting.filter(|s| s.applies != Applies::Exchanges) else {
            out.push(
                Diagnostic::new(
                    &codes::SETTING_IGNORED,
                    format!(
                        "queue {:?} sets {argument:?}, which RabbitMQ does not know",
                        q.name
                    ),
                )
                .label(span, "ignored by the broker")
                .help(unknown_help(argument)),
            );
            continue;
        };
        // E202 has its own words for priorities.
        if setting.applies_to(q.queue_type) || argument == Setting::MAX_PRIORITY.arg() {
            continue;
        }
        let name = setting.top_field().unwrap_or(argument);
        let takes = setting.applies_text();
        if q.queue_type == QueueType::Stream {
            out.push(
                Diagnostic::new(
                    &codes::STREAM_UNSUPPORTED,
                    format!(
                        "stream {:?} sets `{name}`, which streams do not support",
                        q.name
                    ),
                )
                .label(span, "not for streams")
                .help(setting.stream_refusal()),
            );
        } else {
            out.push(
                Diagnostic::new(
                    &codes::QUEUE_TYPE_REFUSES,
                    format!(
                        "{} queue {:?} sets `{name}`, which only {takes} take",
                        q.queue_type, q.name
                    ),
                )
                .label(span, format!("refused by {} queues", q.queue_type))
                .help(format!(
                    "RabbitMQ refuses to declare the queue (\"invalid arg\"): remove `{name}` or change the queue type"
                )),
            );
        }
    }
}

/// A hint for an argument RabbitMQ does not know: the known one it was
/// probably meant to be.
fn unknown_help(argument: &str) -> String {
    let spelled = format!(
        "x-{}",
        argument
            .trim_start_matches("x-")
            .replace('_', "-")
            .to_lowercase()
    );
    match Setting::by_argument(&spelled) {
        Some(s) if s.applies != Applies::Exchanges => match s.field {
            Some(field) => format!(
                "did you mean {spelled:?}? Better, use the named field `{}:`",
                field.split('.').next().unwrap_or(field)
            ),
            None => format!("did you mean {spelled:?}?"),
        },
        _ if argument == "alternate-exchange" => {
            "alternate-exchange is an exchange argument: set `alternate_exchange:` on the exchange"
                .into()
        }
        _ => "check the name against RabbitMQ's queue arguments, or remove it".into(),
    }
}
