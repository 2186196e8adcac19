//! W321 queue-unreachable and W322 queue-not-consumed.

use std::collections::HashSet;

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::{Consumer, DestinationType};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let t = cx.topology;
    let mut reached: HashSet<&str> = t
        .bindings
        .iter()
        .filter(|b| b.destination_type == DestinationType::Queue)
        .map(|b| b.destination.as_str())
        .collect();
    // Dead-lettering through the default exchange names its target queue.
    for q in t.queues.values() {
        if let (Some(""), Some(key)) = (q.dead_letter_exchange(), q.dead_letter_routing_key()) {
            reached.insert(key);
        }
    }
    // Services publishing straight to a queue through the default exchange.
    for s in t.services.values() {
        for e in s.emits.iter().filter(|e| e.exchange.is_empty()) {
            reached.insert(e.key.as_str());
        }
    }
    for q in t.queues.values() {
        if !reached.contains(q.name.as_str()) {
            out.push(
                Diagnostic::new(
                    &codes::QUEUE_UNREACHABLE,
                    format!("nothing routes to queue {:?}", q.name),
                )
                .label(q.origin.span, "no binding or dead-letter route leads here")
                .help("bind it to an exchange (`bindings:` in the queue block), or remove it"),
            );
        }
        if q.consumer == Consumer::None {
            out.push(
                Diagnostic::new(&codes::QUEUE_NOT_CONSUMED, format!("no service consumes queue {:?}", q.name))
                    .label(q.origin.span, "messages pile up here")
                    .help("add a service with `consumes: { queue: NAME }`, or mark the queue `external: true` if something outside this spec reads it"),
            );
        }
    }
}
