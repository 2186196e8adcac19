//! `retry:` expansion (docs/design.md, "What `retry` expands to"): the service's
//! queue dead-letters to a DLQ, a direct retry exchange routes by delay to
//! one TTL queue per delay, and each TTL queue dead-letters back.

use serde_json::Value;

use super::{Compiler, Kind, at};
use crate::diagnostic::{Diagnostic, codes};
use crate::source::FileId;
use crate::spec::Spanned;
use crate::topology::{
    Binding, BrokerRetry, Consumer, DeadLetterStrategy, DestinationType, Exchange, ExchangeType,
    Origin, Overflow, Queue, QueueType, Retry, RetryVia,
};
use crate::vocabulary::Duration;

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
                .label(main.origin.attr(crate::vocabulary::arguments::DEAD_LETTER_EXCHANGE), "dead-letter target set here")
                .help("retry routes dead letters to the service's DLQ: remove the queue's dead_letter setting"),
            );
            return None;
        }
        let broker = match spec.value.via() {
            RetryVia::Broker => Some(self.broker_retry(file, service, queue, spec)?),
            RetryVia::Queues => {
                self.queue_retry_only(file, service, spec);
                None
            }
        };
        let main = self.topology.queues.get(queue)?;
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
            main.origin
                .with_attr(crate::vocabulary::arguments::DEAD_LETTER_EXCHANGE, span);
            if let Some(b) = &broker {
                delayed_retry(main, b, span);
            }
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
            // Equal delays ("three tries, a second apart") share one queue.
            if held || delay_queues.contains(&name) {
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
            q.arguments.insert(
                crate::vocabulary::arguments::MESSAGE_TTL.into(),
                Value::from(delay.value.millis),
            );
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
            broker,
            span,
        })
    }

    /// `retry: { via: broker, .. }`, checked: the service's queue is a
    /// quorum queue (it delays the redeliveries), and the settings are
    /// `min`, `max` and `attempts`, not `delays`.
    fn broker_retry(
        &mut self,
        file: FileId,
        service: &str,
        queue: &str,
        spec: &Spanned<crate::spec::RetrySpec>,
    ) -> Option<BrokerRetry> {
        let span = at(file, spec);
        let main = self.topology.queues.get(queue)?;
        if main.per_instance || main.queue_type != QueueType::Quorum {
            let what = if main.per_instance {
                "a per-instance queue (exclusive, classic)".to_string()
            } else {
                format!("a {} queue", main.queue_type)
            };
            let via = spec.via.as_ref().and_then(|v| at(file, v));
            self.report(
                Diagnostic::new(
                    &codes::BROKER_RETRY_NEEDS_QUORUM,
                    format!("service {service:?} retries via the broker, but queue {queue:?} is {what}"),
                )
                .label(via.or(span), "via: broker")
                .label(main.origin.attr("type").or(main.origin.span), "not a quorum queue")
                .help("only a quorum queue delays a redelivery itself: make the queue quorum (queue_settings: { type: quorum }, or defaults.queue_type: quorum), or retry via queues (retry: { delays: [...] })"),
            );
            return None;
        }
        let r = &spec.value;
        let mut problems = Vec::new();
        if let Some(first) = r.delays.first() {
            problems.push((
                at(file, first),
                "delays: is for via: queues",
                "the broker grows its delay itself, by `min` per failure up to `max`: give min, max and attempts instead of a list".to_string(),
            ));
        }
        if r.min.is_none() {
            problems.push((
                span,
                "no min",
                "give the first retry's delay: min: 5s".into(),
            ));
        }
        match &r.attempts {
            None => problems.push((
                span,
                "no attempts",
                "give how many times the handler is called in all, the first included: attempts: 5"
                    .into(),
            )),
            Some(a) if a.value < 1 => problems.push((
                at(file, a),
                "no attempt",
                "attempts counts the first call too: 1 means no retry, 2 or more retries".into(),
            )),
            _ => {}
        }
        if let (Some(min), Some(max)) = (&r.min, &r.max)
            && max.value < min.value
        {
            problems.push((
                at(file, max),
                "max below min",
                format!(
                    "the broker would wait max ({}) every time: make max at least min ({})",
                    max.value, min.value
                ),
            ));
        }
        if let Some(d) = [&r.min, &r.max]
            .into_iter()
            .flatten()
            .find(|d| d.value.millis == 0)
        {
            problems.push((
                at(file, d),
                "no delay",
                "RabbitMQ turns delayed retry off for a delay of 0: give at least 1ms".into(),
            ));
        }
        // Reported, then compiled as best it can be, so that the rest of
        // the chain (the DLQ, the dead-letter target) exists and no
        // finding follows from its absence.
        for (at_span, label, help) in problems {
            self.report(
                Diagnostic::new(
                    &codes::INVALID_VALUE,
                    format!("service {service:?} retries via the broker: {label}"),
                )
                .label(at_span, label)
                .help(help),
            );
        }
        let min = r.min.as_ref().map_or(Duration::from_millis(1), |m| m.value);
        Some(BrokerRetry {
            min,
            max: r.max.as_ref().map_or(min, |m| m.value.max(min)),
            attempts: r.attempts.as_ref().map_or(1, |a| a.value.max(1)),
        })
    }

    /// `min`, `max` and `attempts` belong to `via: broker`.
    fn queue_retry_only(
        &mut self,
        file: FileId,
        service: &str,
        spec: &Spanned<crate::spec::RetrySpec>,
    ) {
        let r = &spec.value;
        let stray = [
            r.min.as_ref().and_then(|m| at(file, m)),
            r.max.as_ref().and_then(|m| at(file, m)),
            r.attempts.as_ref().and_then(|a| at(file, a)),
        ];
        if let Some(first) = stray.into_iter().flatten().next() {
            self.report(
                Diagnostic::new(
                    &codes::INVALID_VALUE,
                    format!("service {service:?} retries via queues, which take a list of delays, not min, max or attempts"),
                )
                .label(Some(first), "for via: broker")
                .help("list the delays (retry: { delays: [5s, 1m] }: one retry each), or add via: broker (RabbitMQ 4.3)"),
            );
        }
    }
}

/// The quorum queue's own delayed redelivery for `retry`: the failed
/// deliveries the worker rejects back wait `min × failures`, at most
/// `max`, and the delivery limit stops a message that is never settled at
/// `attempts` (a limit the spec sets itself stays).
fn delayed_retry(queue: &mut Queue, retry: &BrokerRetry, span: Option<crate::source::Span>) {
    for (argument, value) in [
        (
            crate::vocabulary::arguments::DELAYED_RETRY_TYPE,
            Value::from(BrokerRetry::TYPE),
        ),
        (
            crate::vocabulary::arguments::DELAYED_RETRY_MIN,
            Value::from(retry.min.millis),
        ),
        (
            crate::vocabulary::arguments::DELAYED_RETRY_MAX,
            Value::from(retry.max.millis),
        ),
    ] {
        queue.arguments.insert(argument.into(), value);
        queue.origin.with_attr(argument, span);
    }
    if !queue
        .arguments
        .contains_key(crate::vocabulary::arguments::DELIVERY_LIMIT)
    {
        queue.arguments.insert(
            crate::vocabulary::arguments::DELIVERY_LIMIT.into(),
            Value::from(retry.attempts),
        );
        queue
            .origin
            .with_attr(crate::vocabulary::arguments::DELIVERY_LIMIT, span);
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
    queue.arguments.insert(
        crate::vocabulary::arguments::DEAD_LETTER_EXCHANGE.into(),
        Value::from(exchange),
    );
    if let Some(key) = routing_key {
        queue.arguments.insert(
            crate::vocabulary::arguments::DEAD_LETTER_ROUTING_KEY.into(),
            Value::from(key),
        );
    }
    if queue.queue_type == QueueType::Quorum {
        queue.arguments.insert(
            crate::vocabulary::arguments::DEAD_LETTER_STRATEGY.into(),
            Value::from(DeadLetterStrategy::AtLeastOnce.as_str()),
        );
        queue.arguments.insert(
            crate::vocabulary::arguments::OVERFLOW.into(),
            Value::from(Overflow::RejectPublish.as_str()),
        );
    }
}
