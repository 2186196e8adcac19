//! Delayed emits (`emits: [{ exchange: X, keys: [...], delay: 5s }]`): per
//! target exchange and delay, a topic exchange and one queue whose TTL is
//! the delay, dead-lettering into the target with each message's own key.
//!
//! Why no plugin: the delayed-message exchange keeps its messages on one
//! node, ignores `mandatory` and breaks under Khepri (docs/design.md, 7).
//! Why topic: topic permissions then limit what a service may put into the
//! delay, as they limit what it may publish to the target; the broker's
//! own dead-lettering is not permission-checked.

use serde_json::Value;

use super::{Compiler, Kind};
use crate::diagnostic::{Diagnostic, codes};
use crate::source::Span;
use crate::topology::{
    Binding, Consumer, DestinationType, Exchange, ExchangeType, Origin, Queue, QueueType, Service,
    delay_exchange,
};

impl Compiler {
    /// Generates the delay chains of every compiled service.
    pub(super) fn all_delay_chains(&mut self) {
        let services = std::mem::take(&mut self.delay_types);
        // Chains into declared exchanges first; then every delay into an
        // exchange some service generated (a delay exchange among them) is
        // known and refused.
        for refuse in [false, true] {
            for (name, file_default) in &services {
                if let Some(service) = self.topology.services.get(name).cloned() {
                    self.delay_chains(&service, *file_default, refuse);
                }
            }
        }
    }

    /// Generates the delay chains `service`'s delayed emits need into
    /// declared exchanges (a chain two services share is generated once),
    /// or, when `refuse`, reports those into generated ones.
    fn delay_chains(&mut self, service: &Service, file_default: Option<QueueType>, refuse: bool) {
        for emit in &service.emits {
            let Some(delay) = emit.delay else { continue };
            let name = delay_exchange(&emit.exchange, delay);
            // A delay into an exchange that does not exist would dead-letter
            // into nothing; check reports the emit's unknown exchange.
            let Some(target) = self.topology.exchange(&emit.exchange) else {
                continue;
            };
            if let Some(by) = target.origin.generated_by.clone() {
                if !refuse {
                    continue;
                }
                self.report(
                    Diagnostic::new(
                        &codes::DELAY_INTO_GENERATED,
                        format!(
                            "service {:?} delays events into exchange {:?}, which service {by:?} generates",
                            service.name, emit.exchange
                        ),
                    )
                    .label(emit.span, "delayed emit")
                    .help("delay into an exchange the spec declares; a retry or delay exchange is warren's own plumbing"),
                );
                continue;
            }
            if refuse || emit.exchange.is_empty() || !self.delay_chains.insert(name.clone()) {
                continue;
            }
            let span = emit.span;
            self.delay_chain(
                &service.name,
                &name,
                &emit.exchange,
                delay,
                span,
                file_default,
            );
        }
    }

    fn delay_chain(
        &mut self,
        service: &str,
        name: &str,
        target: &str,
        delay: crate::vocabulary::Duration,
        span: Option<Span>,
        file_default: Option<QueueType>,
    ) {
        if self
            .seen
            .generated(Kind::Exchange, name, span, service, &mut self.diagnostics)
        {
            self.topology.exchanges.insert(
                name.to_string(),
                Exchange::new(name, ExchangeType::Topic, Origin::generated(service, span)),
            );
        }
        if !self
            .seen
            .generated(Kind::Queue, name, span, service, &mut self.diagnostics)
        {
            return;
        }
        let mut queue = Queue::new(name, QueueType::Classic, Origin::generated(service, span));
        queue.arguments.insert(
            crate::vocabulary::arguments::MESSAGE_TTL.into(),
            Value::from(delay.millis),
        );
        self.default_type(&mut queue, file_default);
        // A TTL queue cannot be a stream (no TTL, no dead-lettering).
        if queue.queue_type == QueueType::Stream {
            queue.queue_type = QueueType::Quorum;
        }
        super::retry::dead_letter(&mut queue, target, None);
        queue.consumer = Consumer::Expiry;
        self.topology.queues.insert(name.to_string(), queue);
        self.topology.bindings.push(Binding {
            source: name.to_string(),
            destination: name.to_string(),
            destination_type: DestinationType::Queue,
            routing_key: "#".into(),
            arguments: Default::default(),
            origin: Origin::generated(service, span),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::topology::QueueType;

    fn compiled(spec: &str) -> crate::validate::Validation {
        crate::validate::validate_loaded(crate::spec::load_str("t.yaml", spec))
    }

    #[test]
    fn a_delay_queue_never_inherits_a_stream_default() {
        let v = compiled(
            "version: 1\ndefaults: { queue_type: stream }\nexchanges: { ev: { type: topic } }\nqueues:\n  s: { external: true, bindings: [{ exchange: ev, key: a }] }\nservices:\n  p: { emits: [{ exchange: ev, keys: [a], delay: 5s }] }\n",
        );
        assert!(!v.has_errors(), "{:?}", v.diagnostics);
        assert_eq!(
            v.topologies[0].queues["ev.delay.5s"].queue_type,
            QueueType::Quorum
        );
    }

    #[test]
    fn a_chain_into_an_exchange_a_later_service_generates_is_refused_in_any_order() {
        for (first, second) in [("a", "z"), ("z", "a")] {
            let v = compiled(&format!(
                "version: 1\nexchanges: {{ ev: {{ type: topic }} }}\nservices:\n  {first}: {{ consumes: {{ exchange: ev, keys: [k] }}, retry: {{ delays: [5s] }} }}\n  {second}: {{ emits: [{{ exchange: {first}.retry, keys: [5s], delay: 1s }}] }}\n"
            ));
            let codes: Vec<_> = v.diagnostics.iter().map(|d| d.code.id).collect();
            assert!(codes.contains(&"E607"), "{first}/{second}: {codes:?}");
        }
    }
}
