//! E403 at-least-once-without-reject-publish and W405 at-least-once-not-quorum.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::{QueueType, word};
use crate::vocabulary::{DeadLetterStrategy, Overflow, Setting};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for q in cx.topology.queues.values() {
        if q.dead_letter_strategy() != Some(DeadLetterStrategy::AtLeastOnce) {
            continue;
        }
        let span = q.origin.attr(Setting::DEAD_LETTER_STRATEGY.arg());
        if q.queue_type != QueueType::Quorum {
            out.push(
                Diagnostic::new(&codes::AT_LEAST_ONCE_NOT_QUORUM, format!("{} queue {:?} sets at-least-once dead-lettering, which only quorum queues have", q.queue_type, q.name))
                    .label(span, "ignored")
                    .help("make the queue `type: quorum`, or remove dead_letter_strategy"),
            );
            continue;
        }
        let overflow = q.effective(&Setting::OVERFLOW, cx.policies.effective(q));
        if word(overflow) != Some(Overflow::RejectPublish) {
            out.push(
                Diagnostic::new(&codes::AT_LEAST_ONCE_WITHOUT_REJECT_PUBLISH, format!("quorum queue {:?} asks for at-least-once dead-lettering without overflow reject-publish", q.name))
                    .label(span, "falls back to at-most-once")
                    .help("add `overflow: reject-publish`: with drop-head RabbitMQ silently dead-letters at-most-once"),
            );
        }
    }
}
