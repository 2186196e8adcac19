//! W701, W702, E703, W704: what depends on the broker's release.
//!
//! The versions come from the live broker (`plan`, `validate --http-url`),
//! else from the spec's `broker: { version }`, else they are every
//! supported release. A finding names the releases it concerns; a refusal
//! is an error (E703) only when every targeted release refuses and the
//! targets are known, and a warning (W704) otherwise.
//!
//! The settings table holds the releases that stop honouring or accepting a
//! whole setting; the rules below are those that depend on a value or on
//! more than one setting.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::source::Span;
use crate::topology::{ApplyTo, Consumer, Queue, QueueType};
use crate::vocabulary::{Concerned, Setting, Version};

/// Quorum queues get a default delivery limit of 20.
const QUORUM_DEFAULT_LIMIT: Version = Version::new(4, 0);
/// Classic queue version 1 and transient non-exclusive queues go.
const CLASSIC_V1_REMOVED: Version = Version::new(4, 3);
/// `apply-to` learns the queue types.
const APPLY_TO_BY_TYPE: Version = Version::new(3, 12);

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for q in cx.topology.queues.values() {
        delivery_limit(cx, q, out);
        for (argument, value) in &q.arguments {
            let Some(setting) = Setting::by_argument(argument) else {
                continue;
            };
            let span = q.origin.attr(argument);
            let what = format!("{} queue {:?} sets {argument}", q.queue_type, q.name);
            table_rules(cx, setting, span, &what, out);
            if argument == "x-queue-version" && value.as_i64() == Some(1) {
                refused(
                    cx,
                    CLASSIC_V1_REMOVED,
                    span,
                    format!(
                        "{} queue {:?} asks for classic queue version 1",
                        q.queue_type, q.name
                    ),
                    "remove x-queue-version (version 2 is the default from 3.13) and let the broker convert the queue",
                    out,
                );
            }
        }
        if q.queue_type == QueueType::Classic && !q.durable && !q.exclusive {
            refused(
                cx,
                CLASSIC_V1_REMOVED,
                q.origin.attr("durable"),
                format!(
                    "queue {:?} is transient (not durable) but not exclusive",
                    q.name
                ),
                "make it durable, or let the consumer that needs a transient queue declare an exclusive one",
                out,
            );
        }
    }
    for p in cx.topology.policies.values() {
        for key in p.definition.keys() {
            if let Some(setting) = Setting::by_policy_key(key) {
                let what = format!("policy {:?} sets {key:?}", p.name);
                table_rules(cx, setting, p.origin.attr(key), &what, out);
            }
        }
        if matches!(
            p.apply_to,
            ApplyTo::ClassicQueues | ApplyTo::QuorumQueues | ApplyTo::Streams
        ) && let Some(concerned) = cx.targets.before(APPLY_TO_BY_TYPE)
        {
            push_refusal(
                &concerned,
                p.origin.attr("apply_to"),
                format!("policy {:?} applies to {}", p.name, p.apply_to.as_str()),
                "apply-to by queue type needs RabbitMQ 3.12: use apply_to: queues and narrow the pattern, or upgrade",
                out,
            );
        }
    }
}

/// The rules the settings table holds for one setting.
fn table_rules(
    cx: &Context,
    setting: &Setting,
    span: Option<Span>,
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(concerned) = setting.no_effect_from.and_then(|v| cx.targets.from(v)) {
        out.push(
            Diagnostic::new(
                &codes::NO_EFFECT_ON_VERSION,
                format!("{what}, which does nothing on {concerned}"),
            )
            .label(span, "no effect")
            .help(format!(
                "classic queue mirroring is gone from RabbitMQ {}: replicate with quorum queues and remove the key",
                setting.no_effect_from.unwrap_or(concerned.first())
            )),
        );
    }
    if let Some(from) = setting.refused_from {
        refused(
            cx,
            from,
            span,
            what.to_string(),
            "remove it: the broker no longer has the feature it set",
            out,
        );
    }
}

fn refused(
    cx: &Context,
    from: Version,
    span: Option<Span>,
    what: String,
    help: &str,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(concerned) = cx.targets.from(from) {
        push_refusal(&concerned, span, what, help, out);
    }
}

fn push_refusal(
    concerned: &Concerned,
    span: Option<Span>,
    what: String,
    help: &str,
    out: &mut Vec<Diagnostic>,
) {
    let code = if concerned.certain() {
        &codes::REFUSED_BY_VERSION
    } else {
        &codes::REFUSED_BY_SOME_VERSIONS
    };
    let help = if concerned.assumed() {
        format!(
            "{help}; or, if your broker is not one of these, state its release with `broker: {{ version: \"..\" }}`"
        )
    } else {
        help.to_string()
    };
    out.push(
        Diagnostic::new(code, format!("{what}, which {concerned} refuses"))
            .label(span, format!("refused by {concerned}"))
            .help(help),
    );
}

/// W701: from 4.0 a quorum queue has a delivery limit of 20 unless it sets
/// one, and a message over the limit is dead-lettered, or dropped when
/// there is no dead-letter target. Only redeliveries count, so only a
/// queue that something consumes is at risk.
fn delivery_limit(cx: &Context, q: &Queue, out: &mut Vec<Diagnostic>) {
    // A service's dead-letter queue is read by replay, which republishes
    // and acks: nothing is redelivered there.
    let service_dlq = q.origin.generated_by.is_some() && q.consumer == Consumer::External;
    if q.queue_type != QueueType::Quorum
        || q.consumer.is_none()
        || q.consumer == Consumer::Expiry
        || service_dlq
    {
        return;
    }
    let policy = cx.policies.effective(q);
    let policy_sets = |key: &str| policy.is_some_and(|p| p.definition.contains_key(key));
    let limited = q.arguments.contains_key("x-delivery-limit") || policy_sets("delivery-limit");
    let dead_letters = q.dead_letter_exchange().is_some() || policy_sets("dead-letter-exchange");
    if limited || dead_letters {
        return;
    }
    let Some(concerned) = cx.targets.from(QUORUM_DEFAULT_LIMIT) else {
        return;
    };
    out.push(
        Diagnostic::new(
            &codes::QUORUM_DEFAULT_DELIVERY_LIMIT,
            format!("quorum queue {:?} has no dead-letter target: on {concerned} it drops a message after 20 failed deliveries", q.name),
        )
        .label(q.origin.span, "consumed quorum queue")
        .help("give it `dead_letter:` (a service with `retry:` gets a dead-letter queue), or set `delivery_limit:` yourself (x-delivery-limit: -1 for none)"),
    );
}
