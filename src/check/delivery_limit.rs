//! W404 retry-exceeds-delivery-limit.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::QueueType;
use crate::vocabulary::Setting;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for s in cx.topology.services.values() {
        let (Some(retry), Some(queue)) = (
            &s.retry,
            s.queue.as_ref().and_then(|q| cx.topology.queues.get(q)),
        ) else {
            continue;
        };
        if queue.queue_type != QueueType::Quorum {
            continue;
        }
        let limit = queue
            .effective(&Setting::DELIVERY_LIMIT, cx.policies.effective(queue))
            .and_then(|v| v.as_u64());
        // A broker retry sets the limit from its own attempts; a limit
        // stated beside it is what this check compares.
        let attempts = u64::from(retry.attempts());
        if let Some(limit) = limit.filter(|&l| l < attempts) {
            out.push(
                Diagnostic::new(
                    &codes::RETRY_EXCEEDS_DELIVERY_LIMIT,
                    format!("service {:?} makes up to {attempts} attempts, but quorum queue {:?} has a delivery limit of {limit}", s.name, queue.name),
                )
                .label(retry.span, "retry schedule")
                .label(queue.origin.attr(Setting::DELIVERY_LIMIT.arg()), "delivery limit")
                .help("the broker dead-letters a message after the delivery limit, before the retries run out: raise delivery_limit or shorten the schedule"),
            );
        }
    }
}
