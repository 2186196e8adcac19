//! Service expansion: a service's queue and bindings, and its retry chain
//! (DESIGN.md, "What `retry` expands to").

use serde_json::Value;

use super::{Compiler, Kind, at, queue};
use crate::diagnostic::{Diagnostic, codes};
use crate::source::{FileId, Span};
use crate::spec::{ConsumeSpec, ServiceSpec, Spanned, SpecFile};
use crate::topology::{
    Binding, Consumer, DeadLetterStrategy, DestinationType, Emit, Exchange, ExchangeType, Origin,
    Overflow, Queue, QueueType, Retry, Service,
};

impl Compiler {
    pub(super) fn services(&mut self, file: FileId, spec: &SpecFile) {
        let default_type = spec.default_queue_type();
        for (name, s) in &spec.services {
            if !self
                .seen
                .declared(Kind::Service, name, file, &mut self.diagnostics)
            {
                continue;
            }
            let service = self.service(file, name, s, default_type);
            self.topology.services.insert(name.value.clone(), service);
        }
    }

    fn service(
        &mut self,
        file: FileId,
        name: &Spanned<String>,
        s: &ServiceSpec,
        default_type: Option<QueueType>,
    ) -> Service {
        let service_span = at(file, name);
        let queue = self.service_queue(file, name, s, default_type);
        if s.consumes.is_empty() && s.emits.is_empty() {
            self.report(
                Diagnostic::new(
                    &codes::IDLE_SERVICE,
                    format!("service {:?} neither consumes nor emits", name.value),
                )
                .label(service_span, "this service")
                .help("add `consumes:` and/or `emits:`, or remove the service"),
            );
        }
        if let (None, Some(handler)) = (&queue, &s.handler) {
            self.report(
                Diagnostic::new(
                    &codes::HANDLER_WITHOUT_QUEUE,
                    format!(
                        "service {:?} has a handler but consumes nothing",
                        name.value
                    ),
                )
                .label(at(file, handler), "handler")
                .help(
                    "a handler runs per consumed message: add `consumes:`, or remove the handler",
                ),
            );
        }
        let retry = s.retry.as_ref().and_then(|r| match &queue {
            Some(q) => self.retry(file, &name.value, q, r),
            None => {
                self.report(
                    Diagnostic::new(
                        &codes::RETRY_WITHOUT_QUEUE,
                        format!("service {:?} retries but consumes nothing", name.value),
                    )
                    .label(at(file, r), "retry")
                    .help(
                        "retry redelivers consumed messages: add `consumes:`, or remove `retry:`",
                    ),
                );
                None
            }
        });
        let emits = s
            .emits
            .iter()
            .flat_map(|e| {
                e.keys.iter().map(|k| Emit {
                    exchange: e.exchange.value.clone(),
                    key: k.value.clone(),
                    span: at(file, k),
                })
            })
            .collect();
        let mut origin = Origin::at(service_span);
        if let Some(e) = s.emits.iter().next() {
            origin.with_attr("emits", at(file, &e.exchange));
        }
        if let Some(u) = &s.user {
            origin.with_attr("user", at(file, u));
        }
        Service {
            name: name.value.clone(),
            queue,
            emits,
            retry,
            prefetch: s.prefetch.as_ref().map_or(10, |p| p.value),
            concurrency: s.concurrency.as_ref().map_or(1, |c| c.value),
            user: s.user.as_ref().map(|u| u.value.clone()),
            handler: s.handler.as_ref().map(|h| h.value.clone()),
            origin,
        }
    }

    /// Creates (or claims) the queue the service consumes; returns its name.
    fn service_queue(
        &mut self,
        file: FileId,
        name: &Spanned<String>,
        s: &ServiceSpec,
        default_type: Option<QueueType>,
    ) -> Option<String> {
        let service = name.value.as_str();
        let from_queue: Vec<&ConsumeSpec> =
            s.consumes.iter().filter(|c| c.queue.is_some()).collect();
        let from_exchange: Vec<&ConsumeSpec> =
            s.consumes.iter().filter(|c| c.queue.is_none()).collect();
        for c in s.consumes.iter() {
            let bad = match (&c.exchange, &c.queue) {
                (Some(_), Some(_)) => Some("names both an exchange and a queue"),
                (None, None) => Some("names neither an exchange nor a queue"),
                (None, Some(_)) if !c.keys.is_empty() => {
                    Some("gives keys for a queue, which has no keys")
                }
                _ => None,
            };
            if let Some(bad) = bad {
                self.report(
                    Diagnostic::new(&codes::INVALID_CONSUMES, format!("service {service:?}: consumes {bad}"))
                        .label(at(file, name), "this service")
                        .help("write `consumes: { exchange: X, keys: [...] }` or `consumes: { queue: Q }`"),
                );
                return None;
            }
        }
        if from_queue.len() > 1 || (!from_queue.is_empty() && !from_exchange.is_empty()) {
            self.report(
                Diagnostic::new(
                    &codes::INVALID_CONSUMES,
                    format!("service {service:?} consumes from more than one queue"),
                )
                .label(at(file, name), "this service")
                .help("a service reads one queue: bind the exchanges to that queue instead"),
            );
            return None;
        }
        if let Some(q) = from_queue.first().and_then(|c| c.queue.as_ref()) {
            if let Some(existing) = self.topology.queues.get_mut(&q.value)
                && existing.consumer.is_none()
            {
                existing.consumer = Consumer::Service(service.to_string());
            }
            // An unknown queue is reported by check, which sees every reference.
            return Some(q.value.clone());
        }
        if from_exchange.is_empty() {
            return None;
        }
        let queue_name = s
            .queue
            .as_ref()
            .map_or(service, |q| q.value.as_str())
            .to_string();
        let span = s
            .queue
            .as_ref()
            .and_then(|q| at(file, q))
            .or(at(file, name));
        if !self.seen.generated(
            Kind::Queue,
            &queue_name,
            span,
            service,
            &mut self.diagnostics,
        ) {
            return None;
        }
        let settings = s.queue_settings.as_ref().map(|q| &q.value);
        let default_settings = crate::spec::QueueSpec::default();
        let mut queue = queue::build(
            self,
            file,
            &queue_name,
            settings.unwrap_or(&default_settings),
            default_type,
            Origin::generated(service, span),
        );
        queue.consumer = Consumer::Service(service.to_string());
        for c in from_exchange {
            let Some(exchange) = &c.exchange else {
                continue;
            };
            let keys: Vec<(String, Option<Span>)> = if c.keys.is_empty() {
                vec![(String::new(), at(file, exchange))]
            } else {
                c.keys
                    .iter()
                    .map(|k| (k.value.clone(), at(file, k)))
                    .collect()
            };
            for (key, key_span) in keys {
                let mut origin = Origin::generated(service, at(file, exchange));
                origin.with_attr("key", key_span);
                self.topology.bindings.push(Binding {
                    source: exchange.value.clone(),
                    destination: queue_name.clone(),
                    destination_type: DestinationType::Queue,
                    routing_key: key,
                    arguments: Default::default(),
                    origin,
                });
            }
        }
        for b in settings.map(|s| s.bindings.as_slice()).unwrap_or_default() {
            self.binding(file, b, Some(&queue_name), Some(service));
        }
        self.topology.queues.insert(queue_name.clone(), queue);
        Some(queue_name)
    }

    /// Expands `retry:` for a service reading `queue`.
    fn retry(
        &mut self,
        file: FileId,
        service: &str,
        queue: &str,
        spec: &Spanned<crate::spec::RetrySpec>,
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
        let queue_type = main.queue_type;
        let retry_exchange = format!("{service}.retry");
        let dead_letter_queue = format!("{service}.dlq");
        let mut delays = Vec::new();
        let mut delay_queues = Vec::new();

        // The main queue dead-letters rejected messages into the DLQ.
        if let Some(main) = self.topology.queues.get_mut(queue) {
            dead_letter_to(main, &dead_letter_queue);
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
                Exchange {
                    name: retry_exchange.clone(),
                    kind: ExchangeType::Direct,
                    durable: true,
                    auto_delete: false,
                    internal: false,
                    alternate_exchange: None,
                    arguments: Default::default(),
                    origin: Origin::generated(service, span),
                },
            );
        }
        for delay in &spec.delays {
            let key = Retry::key_for(delay.value);
            let name = format!("{service}.retry.{key}");
            let delay_span = at(file, delay);
            delays.push(delay.value);
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
            // Read by `warren dlq`, not by the service.
            dlq.consumer = Consumer::External;
            self.topology.queues.insert(dead_letter_queue.clone(), dlq);
        }
        Some(Retry {
            delays,
            exchange: retry_exchange,
            delay_queues,
            dead_letter_queue,
            span,
        })
    }
}

/// Dead-letters through the default exchange straight to `target`. On a
/// quorum queue also sets at-least-once and reject-publish: quorum
/// dead-lettering is at-most-once otherwise, and at-least-once needs
/// reject-publish to take effect.
fn dead_letter_to(queue: &mut Queue, target: &str) {
    queue
        .arguments
        .insert("x-dead-letter-exchange".into(), Value::from(""));
    queue
        .arguments
        .insert("x-dead-letter-routing-key".into(), Value::from(target));
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
