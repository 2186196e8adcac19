//! `retry:` expansion (docs/design.md, "What `retry` expands to"): the service's
//! queue dead-letters to a DLQ, a direct retry exchange routes by delay to
//! one TTL queue per delay, and each TTL queue dead-letters back.

use serde_json::Value;

use super::{Compiler, Kind, at};
use crate::diagnostic::{Diagnostic, codes};
use crate::source::FileId;
use crate::spec::Spanned;
use crate::topology::{
    Binding, Consumer, DeadLetterStrategy, DestinationType, Exchange, ExchangeType, Origin,
    Overflow, Queue, QueueType, Retry,
};

impl Compiler {
    /// Expands `retry:` for a service reading `queue`. A per-instance
    /// queue gets the retry exchange and the DLQ (of the spec's default
    /// type: it outlives every instance) but no delay queues: its worker
    /// holds each retry itself ([`Retry::held`]).
    pub(super) fn retry(
        &mut self,
        file: FileId,
        service: &str,
        queue: &str,
        spec: &Spanned<crate::spec::RetrySpec>,
        default_type: Option<QueueType>,
    ) -> Option<Retry> {
        let span = at(file, spec);
        let Some(main) = self.topology.queues.get(queue) else {
            // consumes: { queue: X } with X undeclared; check reports it.
            return None;
        };
        if let Some(existing) = main.dead_letter_exchange() {
            let existing = existing.to_string();
            self.report(
                Diagnostic::new(
                    &codes::RETRY_CONFLICT,
                    format!("service {service:?} retries, but queue {queue:?} already dead-letters to exchange {existing:?}"),
                )
                .label(span, "retry")
                .label(main.origin.attr("x-dead-letter-exchange"), "dead-letter target set here")
                .help("retry routes dead letters to the service's DLQ: remove the queue's dead_letter setting"),
            );
            return None;
        }
        let held = main.per_instance;
        // The chain's queues take the main queue's type; a per-instance
        // queue is classic, so its DLQ takes the default a queue would.
        let (queue_type, type_from) = if held {
            let mut dlq = Queue::new(
                format!("{service}.dlq"),
                QueueType::Classic,
                Origin::default(),
            );
            self.default_type(&mut dlq, default_type);
            (dlq.queue_type, dlq.type_from)
        } else {
            (main.queue_type, main.type_from)
        };
        let retry_exchange = format!("{service}.retry");
        let dead_letter_queue = format!("{service}.dlq");
        let mut delays = Vec::new();
        let mut delay_queues = Vec::new();

        // The main queue dead-letters rejected messages into the DLQ; an
        // instance's queue through the retry exchange, the one its user may
        // write to (the broker checks write on a dead-letter exchange when
        // the queue is declared).
        if let Some(main) = self.topology.queues.get_mut(queue) {
            if held {
                dead_letter(main, &retry_exchange, Some(Retry::DEAD_LETTER_KEY));
            } else {
                dead_letter_to(main, &dead_letter_queue);
            }
            main.origin.with_attr("x-dead-letter-exchange", span);
        }
        if self.seen.generated(
            Kind::Exchange,
            &retry_exchange,
            span,
            service,
            &mut self.diagnostics,
        ) {
            self.topology.exchanges.insert(
                retry_exchange.clone(),
                Exchange::new(
                    &retry_exchange,
                    ExchangeType::Direct,
                    Origin::generated(service, span),
                ),
            );
        }
        for delay in &spec.delays {
            let key = Retry::key_for(delay.value);
            let name = format!("{service}.retry.{key}");
            let delay_span = at(file, delay);
            delays.push(delay.value);
            if held {
                continue;
            }
            delay_queues.push(name.clone());
            if !self.seen.generated(
                Kind::Queue,
                &name,
                delay_span,
                service,
                &mut self.diagnostics,
            ) {
                continue;
            }
            let mut q = Queue::new(&name, queue_type, Origin::generated(service, delay_span));
            q.type_from = type_from;
            q.arguments
                .insert("x-message-ttl".into(), Value::from(delay.value.millis));
            dead_letter_to(&mut q, queue);
            q.consumer = Consumer::Expiry;
            self.topology.queues.insert(name.clone(), q);
            let mut origin = Origin::generated(service, delay_span);
            origin.with_attr("key", delay_span);
            self.topology.bindings.push(Binding {
                source: retry_exchange.clone(),
                destination: name,
                destination_type: DestinationType::Queue,
                routing_key: key,
                arguments: Default::default(),
                origin,
            });
        }
        if self.seen.generated(
            Kind::Queue,
            &dead_letter_queue,
            span,
            service,
            &mut self.diagnostics,
        ) {
            let mut dlq = Queue::new(
                &dead_letter_queue,
                queue_type,
                Origin::generated(service, span),
            );
            dlq.type_from = type_from;
            // Read by `warren dlq`, not by the service.
            dlq.consumer = Consumer::External;
            self.topology.queues.insert(dead_letter_queue.clone(), dlq);
            self.topology.bindings.push(Binding {
                source: retry_exchange.clone(),
                destination: dead_letter_queue.clone(),
                destination_type: DestinationType::Queue,
                routing_key: Retry::DEAD_LETTER_KEY.into(),
                arguments: Default::default(),
                origin: Origin::generated(service, span),
            });
        }
        Some(Retry {
            delays,
            exchange: retry_exchange,
            delay_queues,
            dead_letter_queue,
            held,
            span,
        })
    }
}

/// Dead-letters through the default exchange straight to `target`.
fn dead_letter_to(queue: &mut Queue, target: &str) {
    dead_letter(queue, "", Some(target));
}

/// Dead-letters into `exchange`, with `routing_key` or else each message's
/// own key. On a quorum queue also sets at-least-once and reject-publish:
/// quorum dead-lettering is at-most-once otherwise, and at-least-once
/// needs reject-publish to take effect.
pub(super) fn dead_letter(queue: &mut Queue, exchange: &str, routing_key: Option<&str>) {
    queue
        .arguments
        .insert("x-dead-letter-exchange".into(), Value::from(exchange));
    if let Some(key) = routing_key {
        queue
            .arguments
            .insert("x-dead-letter-routing-key".into(), Value::from(key));
    }
    if queue.queue_type == QueueType::Quorum {
        queue.arguments.insert(
            "x-dead-letter-strategy".into(),
            Value::from(DeadLetterStrategy::AtLeastOnce.as_str()),
        );
        queue.arguments.insert(
            "x-overflow".into(),
            Value::from(Overflow::RejectPublish.as_str()),
        );
    }
}
