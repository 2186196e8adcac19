//! W701, W702, E703, W704, W707: what depends on the broker's release.
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
use crate::topology::{ApplyTo, Consumer, Queue, QueueType, VhostSettings};
use crate::vocabulary::{Concerned, Setting, Version};

/// Quorum queues get a default delivery limit of 20.
const QUORUM_DEFAULT_LIMIT: Version = Version::new(4, 0);
/// Classic queue version 1 goes.
const CLASSIC_V1_REMOVED: Version = Version::new(4, 3);
/// Transient non-exclusive queues are deprecated (still permitted by
/// default on 4.3.6: its deprecated feature `transient_nonexcl_queues` is
/// `permitted_by_default`).
const TRANSIENT_DEPRECATED: Version = Version::new(4, 0);
/// `apply-to` learns the queue types.
const APPLY_TO_BY_TYPE: Version = Version::new(3, 12);
/// Quorum queues delay redeliveries themselves (`x-delayed-retry-*`).
const DELAYED_RETRY: Version = Version::new(4, 3);

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let settings = &cx.topology.settings;
    if settings.default_queue_type.is_some()
        && let Some(concerned) = cx.targets.before(VhostSettings::DEFAULT_QUEUE_TYPE_SINCE)
    {
        no_effect(
            settings.origin.attr("default_queue_type"),
            format!(
                "vhost {:?} sets a default queue type, which {concerned} does not keep",
                cx.topology.vhost
            ),
            format!(
                "RabbitMQ {} and later keep a vhost's default queue type; warren still declares its own queues with the type it decided",
                VhostSettings::DEFAULT_QUEUE_TYPE_SINCE
            ),
            out,
        );
    }
    // The queues whose delayed-retry arguments a service's `retry: { via:
    // broker }` set: E708 below speaks for them, not the table.
    let mut broker_retried = std::collections::BTreeSet::new();
    for s in cx.topology.services.values() {
        if let (Some(retry), Some(queue)) = (&s.retry, &s.queue)
            && retry.broker.is_some()
        {
            broker_retried.insert(queue.as_str());
            broker_retry(cx, &s.name, retry.span, out);
        }
    }
    for q in cx.topology.queues.values() {
        delivery_limit(cx, q, out);
        for (argument, value) in &q.arguments {
            let Some(setting) = Setting::by_argument(argument) else {
                continue;
            };
            if broker_retried.contains(q.name.as_str())
                && [
                    Setting::DELAYED_RETRY_TYPE,
                    Setting::DELAYED_RETRY_MIN,
                    Setting::DELAYED_RETRY_MAX,
                ]
                .iter()
                .any(|s| s.argument == Some(argument))
            {
                continue;
            }
            let span = q.origin.attr(argument);
            let what = format!("{} queue {:?} sets {argument}", q.queue_type, q.name);
            table_rules(cx, setting, Some(q.queue_type), span, &what, out);
            if argument == Setting::QUEUE_VERSION.arg() && value.as_i64() == Some(1) {
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
        if q.queue_type == QueueType::Classic
            && !q.durable
            && !q.exclusive
            && let Some(concerned) = cx.targets.from(TRANSIENT_DEPRECATED)
        {
            out.push(
                Diagnostic::new(
                    &codes::DEPRECATED_BY_VERSION,
                    format!(
                        "queue {:?} is transient (not durable) but not exclusive, which {concerned} deprecates",
                        q.name
                    ),
                )
                .label(q.origin.attr("durable"), "deprecated")
                .help("make it durable, or let the consumer that needs a transient queue declare an exclusive one: a broker that denies the deprecated feature transient_nonexcl_queues refuses it (4.3 still permits it by default)"),
            );
        }
    }
    for p in cx.topology.policies.values() {
        for key in p.definition.keys() {
            if let Some(setting) = Setting::by_policy_key(key) {
                let what = format!("policy {:?} sets {key:?}", p.name);
                table_rules(cx, setting, None, p.origin.attr(key), &what, out);
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

/// The rules the settings table holds for one setting, set as an argument
/// of a queue of `queue_type`, or (`None`) as a policy key.
fn table_rules(
    cx: &Context,
    setting: &Setting,
    queue_type: Option<QueueType>,
    span: Option<Span>,
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(since) = setting.since
        && let Some(concerned) = cx.targets.before(since)
    {
        let help = format!(
            "it needs RabbitMQ {since}: state that release with `broker: {{ version: \"{since}\" }}` if the broker has it, or remove it"
        );
        match queue_type {
            // An argument the broker does not know is taken and ignored.
            Some(_) => no_effect(
                span,
                format!("{what}, which {concerned} does not know"),
                help,
                out,
            ),
            // A policy key it does not know is refused.
            None => push_refusal(&concerned, span, what.to_string(), &help, out),
        }
    }
    if let Some(kind) = queue_type
        && let Some(from) = setting.type_since(kind)
        && let Some(concerned) = cx.targets.before(from)
    {
        push_refusal(
            &concerned,
            span,
            what.to_string(),
            &format!(
                "{kind} queues take it from RabbitMQ {from}: remove it, or change the queue type"
            ),
            out,
        );
    }
    if let Some((from, why)) = setting.no_effect_from
        && let Some(concerned) = cx.targets.from(from)
    {
        no_effect(
            span,
            format!("{what}, which does nothing on {concerned}"),
            format!("from RabbitMQ {from}, {why}"),
            out,
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

fn no_effect(span: Option<Span>, message: String, help: String, out: &mut Vec<Diagnostic>) {
    out.push(
        Diagnostic::new(&codes::NO_EFFECT_ON_VERSION, message)
            .label(span, "no effect")
            .help(help),
    );
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

/// E708: a broker retry where a targeted release ignores the queue's
/// delayed-retry arguments. Those releases accept them and redeliver at
/// once, so the retries would be spent in a burst.
fn broker_retry(cx: &Context, service: &str, span: Option<Span>, out: &mut Vec<Diagnostic>) {
    let Some(concerned) = cx.targets.before(DELAYED_RETRY) else {
        return;
    };
    let help = if concerned.assumed() {
        format!(
            "quorum queues delay a redelivery from RabbitMQ {DELAYED_RETRY}: if the broker is that release or later, say so with `broker: {{ version: \"{DELAYED_RETRY}\" }}`; otherwise retry via queues (retry: {{ delays: [...] }})"
        )
    } else {
        format!(
            "quorum queues delay a redelivery from RabbitMQ {DELAYED_RETRY}: retry via queues (retry: {{ delays: [...] }}) on this broker"
        )
    };
    out.push(
        Diagnostic::new(
            &codes::BROKER_RETRY_NEEDS_4_3,
            format!("service {service:?} retries via the broker, which {concerned} does not do: every retry would come at once"),
        )
        .label(span, format!("needs RabbitMQ {DELAYED_RETRY}"))
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
    let limited = q.effective(&Setting::DELIVERY_LIMIT, policy).is_some();
    let dead_letters = q
        .effective(&Setting::DEAD_LETTER_EXCHANGE, policy)
        .is_some();
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

#[cfg(test)]
mod tests {
    use crate::spec::load_str;
    use crate::validate::validate_loaded;

    fn codes(yaml: &str) -> Vec<&'static str> {
        let v = validate_loaded(load_str("t.yaml", yaml));
        v.diagnostics.iter().map(|d| d.code.id).collect()
    }

    fn queue(version: &str, arguments: &str) -> String {
        format!(
            "version: 1\nbroker: {{ version: \"{version}\" }}\nexchanges:\n  x: {{ type: fanout }}\nqueues:\n  q:\n    arguments: {{ {arguments} }}\n    external: true\n    bindings: [{{ exchange: x }}]\n"
        )
    }

    #[test]
    fn classic_queue_version_1_is_refused_from_4_3_and_version_2_never() {
        assert_eq!(codes(&queue("4.3", "x-queue-version: 1")), ["E703"]);
        assert!(codes(&queue("4.2", "x-queue-version: 1")).is_empty());
        assert!(codes(&queue("4.3", "x-queue-version: 2")).is_empty());
        // A quorum queue refuses x-queue-version on any release (E206); on
        // 4.3 it also meets the default delivery limit (W701).
        assert_eq!(
            codes(&queue("4.3", "x-queue-version: 1, x-queue-type: quorum")),
            ["W701", "E206", "E703"]
        );
    }

    #[test]
    fn a_refusal_in_some_stated_versions_is_a_warning_naming_them() {
        let v = validate_loaded(load_str(
            "t.yaml",
            &queue("3.13\", \"4.3", "x-queue-master-locator: min-masters")
                .replace("version: \"3.13\", \"4.3\"", "version: [\"3.13\", \"4.3\"]"),
        ));
        let found: Vec<(&str, &str)> = v
            .diagnostics
            .iter()
            .map(|d| (d.code.id, d.message.as_str()))
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "W704");
        assert!(
            found[0].1.ends_with("which RabbitMQ 4.3 refuses"),
            "{}",
            found[0].1
        );
    }

    #[test]
    fn a_consumed_quorum_queue_with_a_limit_or_dead_letters_is_safe_on_4_0() {
        let quorum = |extra: &str| {
            format!(
                "version: 1\nbroker: {{ version: \"4.0\" }}\nexchanges:\n  x: {{ type: fanout }}\nqueues:\n  q:\n    type: quorum\n    external: true\n{extra}    bindings: [{{ exchange: x }}]\n"
            )
        };
        assert_eq!(codes(&quorum("")), ["W701"]);
        assert!(codes(&quorum("    delivery_limit: 5\n")).is_empty());
        assert!(codes(&quorum("    dead_letter: { exchange: x }\n")).is_empty());
        // Not consumed: nothing is redelivered.
        assert!(codes(&quorum("").replace("    external: true\n", "")).contains(&"W322"));
        assert!(!codes(&quorum("").replace("    external: true\n", "")).contains(&"W701"));
        // Before 4.0 there is no default limit.
        assert!(codes(&quorum("").replace("4.0", "3.13")).is_empty());
    }

    #[test]
    fn apply_to_by_queue_type_needs_3_12() {
        let policy = |version: &str| {
            format!(
                "version: 1\nbroker: {{ version: \"{version}\" }}\npolicies:\n  p:\n    pattern: \"^q\"\n    apply_to: quorum_queues\n    definition: {{ max-length: 5 }}\n"
            )
        };
        assert_eq!(codes(&policy("3.11")), ["E703"]);
        assert!(codes(&policy("3.12")).is_empty());
    }
}
