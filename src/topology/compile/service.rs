//! Service expansion: a service's queue, its bindings and its emits. The
//! retry chain is `retry.rs`.

use super::{Compiler, Kind, at, queue};
use crate::diagnostic::{Diagnostic, codes};
use crate::source::{FileId, Span};
use crate::spec::{ConsumeSpec, ServiceSpec, Spanned, SpecFile};
use crate::topology::{
    Binding, Consumer, DEFAULT_HANDLER_TIMEOUT, DEFAULT_IDEMPOTENCY_TTL, DestinationType, Emit,
    Idempotency, IdempotencyKey, IdempotencyStore, Origin, Queue, QueueType, Service,
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
            // Delay chains come once every service is in: an emit may name
            // an exchange another service generates.
            self.delay_types.push((name.value.clone(), default_type));
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
        self.service_values(file, &name.value, s);
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
            Some(q) => self.retry(file, &name.value, q, r, default_type),
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
                    delay: e.delay.as_ref().map(|d| d.value),
                    span: at(file, k),
                    exchange_span: at(file, &e.exchange),
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
        if let Some(q) = s.consumes.iter().find_map(|c| c.queue.as_ref()) {
            origin.with_attr("consumes", at(file, q));
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
            timeout: s
                .timeout
                .as_ref()
                .map_or(DEFAULT_HANDLER_TIMEOUT, |t| t.value),
            idempotency: s.idempotency.as_ref().and_then(|i| idempotency(&i.value)),
            asserts: s
                .asserts
                .iter()
                .filter_map(|a| self.assertion(file, a))
                .collect(),
            origin,
        }
    }

    /// One of a service's `asserts:`, or `None` (reported) when it names
    /// no object, two, or an exchange without its type.
    fn assertion(
        &mut self,
        file: FileId,
        a: &Spanned<crate::spec::AssertSpec>,
    ) -> Option<crate::topology::Declaration> {
        use crate::topology::{Declaration, Declared};
        let spec = &a.value;
        let refuse = |why: &str| {
            Diagnostic::new(&codes::SPEC_INVALID, format!("an assert {why}"))
                .label(at(file, a), "this assert")
                .help("write `exchange: NAME` with its `type:`, or `queue: NAME`, and the flags and arguments the application declares it with")
        };
        let (name, object) = match (&spec.exchange, &spec.queue) {
            (Some(x), None) => {
                if spec.exclusive.is_some() {
                    self.report(refuse(
                        "of an exchange says `exclusive`, which only queues have",
                    ));
                    return None;
                }
                let Some(kind) = &spec.kind else {
                    self.report(refuse("of an exchange gives no `type`"));
                    return None;
                };
                let internal = spec.internal.unwrap_or(false);
                (
                    x,
                    Declared::Exchange {
                        kind: kind.value.clone(),
                        internal,
                    },
                )
            }
            (None, Some(q)) => {
                if spec.kind.is_some() || spec.internal.is_some() {
                    self.report(refuse("of a queue gives `type` or `internal`, which only exchanges have (a queue's type is its `arguments: { x-queue-type: ... }`)"));
                    return None;
                }
                let exclusive = spec.exclusive.unwrap_or(false);
                (q, Declared::Queue { exclusive })
            }
            _ => {
                self.report(refuse("names neither or both of `exchange` and `queue`"));
                return None;
            }
        };
        Some(Declaration {
            name: name.value.clone(),
            object,
            durable: spec.durable.unwrap_or(true),
            auto_delete: spec.auto_delete.unwrap_or(false),
            arguments: spec
                .arguments
                .iter()
                .map(|(k, v)| (k.clone(), crate::topology::canonical(v.clone())))
                .collect(),
            span: at(file, name),
        })
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
        if s.consumes
            .iter()
            .any(|c| c.per_instance.as_ref().is_some_and(|p| p.value))
        {
            return self.instance_queue(file, name, s);
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
        queue.settings_via = self.settings_via(file, settings.and_then(|s| s.settings.as_ref()));
        queue.consumer = Consumer::Service(service.to_string());
        self.consume_bindings(file, service, &queue_name, &from_exchange);
        for b in settings.map(|s| s.bindings.as_slice()).unwrap_or_default() {
            self.binding(file, b, Some(&queue_name), Some(service));
        }
        self.topology.queues.insert(queue_name.clone(), queue);
        Some(queue_name)
    }
}

impl Compiler {
    /// The queue template of a per-instance consumer: every consume must
    /// be per-instance and name an exchange, and the queue takes no name
    /// or settings (the broker names it; it is exclusive and auto-delete).
    fn instance_queue(
        &mut self,
        file: FileId,
        name: &Spanned<String>,
        s: &ServiceSpec,
    ) -> Option<String> {
        let service = name.value.as_str();
        let problem = if s
            .consumes
            .iter()
            .any(|c| c.per_instance.as_ref().is_none_or(|p| !p.value))
        {
            Some(
                "mixes per-instance and shared consumes; a service reads one queue, so make every consume per_instance or none",
            )
        } else if s.consumes.iter().any(|c| c.queue.is_some()) {
            Some(
                "asks for a per-instance copy of a declared queue; per_instance binds each instance's own queue to an exchange: write consumes: { exchange: X, keys: [...], per_instance: true }",
            )
        } else if s.queue.is_some() || s.queue_settings.is_some() {
            Some(
                "names or sets up a per-instance queue; the broker names each instance's queue and warren declares it exclusive and auto-delete: remove `queue:` and `queue_settings:`",
            )
        } else {
            None
        };
        if let Some(problem) = problem {
            let (message, help) = problem.split_once("; ").unwrap_or((problem, ""));
            self.report(
                Diagnostic::new(
                    &codes::INVALID_CONSUMES,
                    format!("service {service:?} {message}"),
                )
                .label(at(file, name), "this service")
                .help(help),
            );
            return None;
        }
        let span = s
            .consumes
            .iter()
            .find_map(|c| c.per_instance.as_ref())
            .and_then(|p| at(file, p));
        let mut queue = Queue::per_instance(service, Origin::generated(service, span));
        if !self.seen.generated(
            Kind::Queue,
            &queue.name,
            span,
            service,
            &mut self.diagnostics,
        ) {
            return None;
        }
        queue.consumer = Consumer::Service(service.to_string());
        let queue_name = queue.name.clone();
        let consumes: Vec<&ConsumeSpec> = s.consumes.iter().collect();
        self.consume_bindings(file, service, &queue_name, &consumes);
        self.topology.queues.insert(queue_name.clone(), queue);
        Some(queue_name)
    }

    /// One binding of `queue` per key of each consume (one with the empty
    /// key when it lists none).
    fn consume_bindings(
        &mut self,
        file: FileId,
        service: &str,
        queue: &str,
        consumes: &[&ConsumeSpec],
    ) {
        for c in consumes {
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
                    destination: queue.to_string(),
                    destination_type: DestinationType::Queue,
                    routing_key: key,
                    arguments: Default::default(),
                    origin,
                });
            }
        }
    }
}

/// The model's idempotency settings; values E010 refuses give none.
fn idempotency(spec: &crate::spec::IdempotencySpec) -> Option<Idempotency> {
    Some(Idempotency {
        key: IdempotencyKey::parse(&spec.key.value)?,
        store: match &spec.store {
            Some(s) => IdempotencyStore::parse(&s.value)?,
            None => IdempotencyStore::Memory,
        },
        ttl: spec
            .ttl
            .as_ref()
            .map_or(DEFAULT_IDEMPOTENCY_TTL, |t| t.value),
    })
}
