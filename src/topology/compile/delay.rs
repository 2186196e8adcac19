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
use crate::source::Span;
use crate::topology::{
    Binding, Consumer, DestinationType, Exchange, ExchangeType, Origin, Queue, QueueType, Service,
    delay_exchange,
};

impl Compiler {
    /// Generates the delay chains `service`'s delayed emits need; a chain
    /// two services share is generated once.
    pub(super) fn delay_chains(&mut self, service: &Service, queue_type: QueueType) {
        for emit in &service.emits {
            let Some(delay) = emit.delay else { continue };
            let name = delay_exchange(&emit.exchange, delay);
            // A delay into an exchange that does not exist would dead-letter
            // into nothing; check reports the emit's unknown exchange.
            if emit.exchange.is_empty()
                || self.topology.exchange(&emit.exchange).is_none()
                || !self.delay_chains.insert(name.clone())
            {
                continue;
            }
            let span = emit.span;
            self.delay_chain(
                &service.name,
                &name,
                &emit.exchange,
                delay,
                span,
                queue_type,
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
        queue_type: QueueType,
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
        let mut queue = Queue::new(name, queue_type, Origin::generated(service, span));
        queue
            .arguments
            .insert("x-message-ttl".into(), Value::from(delay.millis));
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
