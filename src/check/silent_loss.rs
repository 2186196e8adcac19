//! W402 silent-message-loss and W406 failures-dropped: messages the broker
//! discards without a trace.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::{QueueType, word};
use crate::vocabulary::{Overflow, Setting};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    // The worker rejects a failure of a service without retry: its
    // queue's dead-letter target is all that keeps it.
    let mut failing: std::collections::HashMap<&str, Vec<&crate::topology::Service>> =
        std::collections::HashMap::new();
    for s in cx.topology.services.values() {
        if let (Some(queue), Some(_), None) = (&s.queue, &s.handler, &s.retry) {
            failing.entry(queue.as_str()).or_default().push(s);
        }
    }
    for q in cx.topology.queues.values() {
        if q.queue_type == QueueType::Stream {
            continue; // retention, not loss; E204 covers TTL on streams
        }
        let policy = cx.policies.effective(q);
        let get = |setting: &Setting| q.effective(setting, policy);
        if get(&Setting::DEAD_LETTER_EXCHANGE).is_some() {
            continue;
        }
        for s in failing.get(q.name.as_str()).into_iter().flatten() {
            out.push(
                Diagnostic::new(&codes::FAILURES_DROPPED, format!("service {:?} has a handler and no retry, and its queue {:?} has no dead-letter target: every message its handler fails is dropped", s.name, q.name))
                    .label(s.origin.span, "no retry")
                    .help("add `retry: { delays: [5s, 1m] }` (failures are retried, then kept in the service's DLQ), or give the queue `dead_letter:`"),
            );
        }
        if get(&Setting::MESSAGE_TTL).is_some() {
            out.push(
                Diagnostic::new(&codes::SILENT_LOSS, format!("queue {:?} expires messages but has no dead-letter target: expired messages are dropped", q.name))
                    .label(q.origin.attr(Setting::MESSAGE_TTL.arg()), "messages expire")
                    .help("add `dead_letter: { exchange: X }` to keep expired messages, or remove the TTL"),
            );
        }
        let bounded = get(&Setting::MAX_LENGTH).or_else(|| get(&Setting::MAX_LENGTH_BYTES));
        let overflow = word(get(&Setting::OVERFLOW)).unwrap_or(Overflow::DropHead);
        if bounded.is_some() && overflow == Overflow::DropHead {
            let span = q
                .origin
                .attr(Setting::MAX_LENGTH.arg())
                .or(q.origin.attr(Setting::MAX_LENGTH_BYTES.arg()));
            out.push(
                Diagnostic::new(&codes::SILENT_LOSS, format!("queue {:?} drops its oldest messages when full (overflow drop-head) and has no dead-letter target", q.name))
                    .label(span, "length limit")
                    .help("set `overflow: reject-publish` so publishers learn the queue is full, or add `dead_letter:` to keep dropped messages"),
            );
        }
    }
}
