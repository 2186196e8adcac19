//! E101 unknown-exchange, E102 unknown-queue, E107 unknown-user.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::{DestinationType, default_password_env};
use crate::vocabulary::Setting;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let t = cx.topology;
    let exchange_exists = |name: &str| name.is_empty() || t.exchange(name).is_some();
    let unknown_exchange = |name: &str, what: &str| {
        Diagnostic::new(
            &codes::UNKNOWN_EXCHANGE,
            format!("{what} exchange {name:?}, which is not declared"),
        )
        .help(format!(
            "declare it under `exchanges:`, or fix the name{}",
            suggest(name, t.exchanges.keys())
        ))
    };
    for b in &t.bindings {
        if !exchange_exists(&b.source) {
            out.push(
                unknown_exchange(&b.source, "a binding reads from")
                    .label(b.origin.span, "unknown exchange"),
            );
        }
        match b.destination_type {
            DestinationType::Exchange if !exchange_exists(&b.destination) => out.push(
                unknown_exchange(&b.destination, "a binding leads to")
                    .label(b.origin.attr("destination"), "unknown exchange"),
            ),
            DestinationType::Queue if !t.queues.contains_key(&b.destination) => out.push(
                Diagnostic::new(
                    &codes::UNKNOWN_QUEUE,
                    format!(
                        "a binding leads to queue {:?}, which is not declared",
                        b.destination
                    ),
                )
                .label(b.origin.attr("destination"), "unknown queue")
                .help(format!(
                    "declare it under `queues:`, or fix the name{}",
                    suggest(&b.destination, t.queues.keys())
                )),
            ),
            _ => {}
        }
    }
    for x in t.exchanges.values() {
        if let Some(ae) = &x.alternate_exchange
            && !exchange_exists(ae)
        {
            out.push(
                unknown_exchange(ae, &format!("exchange {:?} has as alternate", x.name))
                    .label(x.origin.attr("alternate_exchange"), "unknown exchange"),
            );
        }
    }
    for q in t.queues.values() {
        let span = q.origin.attr(Setting::DEAD_LETTER_EXCHANGE.arg());
        match q.dead_letter_exchange() {
            Some(dlx) if !exchange_exists(dlx) => out.push(
                unknown_exchange(dlx, &format!("queue {:?} dead-letters to", q.name))
                    .label(span, "unknown exchange"),
            ),
            Some("") => {
                if let Some(key) = q.dead_letter_routing_key()
                    && !t.queues.contains_key(key)
                {
                    out.push(
                            Diagnostic::new(
                                &codes::UNKNOWN_QUEUE,
                                format!("queue {:?} dead-letters through the default exchange to queue {key:?}, which is not declared", q.name),
                            )
                            .label(q.origin.attr(Setting::DEAD_LETTER_ROUTING_KEY.arg()), "no such queue")
                            .help("the default exchange delivers to the queue named by the key: declare that queue or fix the key"),
                        );
                }
            }
            _ => {}
        }
    }
    for s in t.services.values() {
        if let Some(queue) = &s.queue
            && !t.queues.contains_key(queue)
        {
            out.push(
                Diagnostic::new(
                    &codes::UNKNOWN_QUEUE,
                    format!(
                        "service {:?} consumes queue {queue:?}, which is not declared",
                        s.name
                    ),
                )
                .label(s.origin.attr("consumes"), "unknown queue")
                .help(format!(
                    "declare it under `queues:`, or consume from an exchange{}",
                    suggest(queue, t.queues.keys())
                )),
            );
        }
        for e in &s.emits {
            if !exchange_exists(&e.exchange) {
                out.push(
                    unknown_exchange(&e.exchange, &format!("service {:?} emits to", s.name))
                        .label(e.exchange_span.or(e.span), "unknown exchange"),
                );
            }
        }
        if let Some(user) = &s.user
            && !t.users.contains_key(user)
        {
            out.push(
                    Diagnostic::new(&codes::UNKNOWN_USER, format!("service {:?} runs as user {user:?}, which is not declared", s.name))
                        .label(s.origin.attr("user"), "unknown user")
                        .help(format!("add it under `users:` with `password_env:`, e.g.\n  users:\n    {user}:\n      password_env: {}", default_password_env(user))),
                );
        }
    }
}

/// ", did you mean \"x\"?" when a known name is one or two edits away.
fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a String>) -> String {
    known
        .map(|k| (strsim::levenshtein(name, k), k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| format!(" (did you mean {k:?}?)"))
        .unwrap_or_default()
}
