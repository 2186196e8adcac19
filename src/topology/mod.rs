//! The one model of a topology.
//!
//! Every front end (spec compile, definitions import, broker observe)
//! produces a [`Topology`]; every back end (checks, routing, plan, render,
//! workers) reads one. Nothing here does I/O.

mod arguments;
mod binding;
pub mod compile;
mod declaration;
mod exchange;
mod normal;
mod origin;
mod policy;
pub mod policy_match;
mod queue;
mod service;
pub mod settings_policies;
mod user;
mod vhost;

use std::collections::BTreeMap;

use serde::Serialize;

pub use crate::vocabulary::{
    ApplyTo, DeadLetterStrategy, ExchangeType, Handler, HeadersMatch, Overflow, QueueType, RetryVia,
};
pub use arguments::{Arguments, canonical};
pub use binding::{Binding, DestinationType};
pub use declaration::{Declaration, Declared};
pub use exchange::{Exchange, PREDECLARED};
pub use normal::{ALTERNATE_EXCHANGE, Disagreement, QUEUE_TYPE, normalize, queue_type};
pub use origin::Origin;
pub use policy::{Policy, SETTINGS_POLICY_PREFIX};
pub use queue::{Consumer, Queue, word};
pub use service::{
    BROKER_CONSUMER_TIMEOUT, BrokerRetry, DEFAULT_HANDLER_TIMEOUT, DEFAULT_IDEMPOTENCY_TTL, Emit,
    Idempotency, IdempotencyKey, IdempotencyStore, Retry, Service, delay_exchange,
};
pub use user::{Permissions, TopicPermission, User, default_password_env};
pub use vhost::{LiveTypes, TypeFrom, VhostSettings, takes_default};

/// The objects of one vhost, keyed by name where RabbitMQ keys them by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Topology {
    /// The vhost's name.
    pub vhost: String,
    /// The vhost's description, tags and default queue type, where stated.
    #[serde(skip_serializing_if = "VhostSettings::is_empty")]
    pub settings: VhostSettings,
    /// Exchanges by name.
    pub exchanges: BTreeMap<String, Exchange>,
    /// Queues by name, per-instance templates included.
    pub queues: BTreeMap<String, Queue>,
    /// Every binding.
    pub bindings: Vec<Binding>,
    /// Policies by name.
    pub policies: BTreeMap<String, Policy>,
    /// Users by name, with their permissions in this vhost.
    pub users: BTreeMap<String, User>,
    /// Services by name.
    pub services: BTreeMap<String, Service>,
    /// The RabbitMQ release lines the spec says it runs on (`broker:
    /// version`); empty when it does not say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broker_versions: Vec<crate::vocabulary::Version>,
    /// The cluster's node count, as the spec states it (`broker: nodes`)
    /// or the live broker reports it; `None` when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_nodes: Option<u32>,
    /// The fewest files a node of the live broker may keep open, where
    /// RabbitMQ counts them (3.x); `None` when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_files: Option<u64>,
    /// Name patterns (regular expressions) the broker side leaves alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// A service the spec does not have, with those it has.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the spec has no service {name:?}; {}", services_text(.known))]
pub struct UnknownService {
    /// The name asked for.
    pub name: String,
    /// Every service the spec has.
    pub known: Vec<String>,
}

fn services_text(known: &[String]) -> String {
    const SHOWN: usize = 20;
    if known.is_empty() {
        return "it has no services".into();
    }
    let mut text = format!(
        "services: {}",
        known
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    if known.len() > SHOWN {
        text.push_str(&format!(" and {} more", known.len() - SHOWN));
    }
    text
}

impl Topology {
    /// The service `name`: the one place a missing service is refused.
    ///
    /// # Errors
    /// [`UnknownService`], naming the services there are.
    pub fn service(&self, name: &str) -> Result<&Service, UnknownService> {
        self.services.get(name).ok_or_else(|| UnknownService {
            name: name.to_string(),
            known: self.services.keys().cloned().collect(),
        })
    }

    /// The releases it states (`broker.version`), or every supported one.
    pub fn targets(&self) -> crate::vocabulary::Targets {
        crate::vocabulary::Targets::of(self.broker_versions.iter().copied())
    }

    /// The type of a queue declared without `x-queue-type`, on every
    /// release it states (`VhostSettings::plain_queue_type`).
    pub fn plain_queue_type(&self) -> QueueType {
        self.settings.plain_queue_type(&self.targets())
    }

    /// An exchange of this vhost: one the topology declares, or one RabbitMQ
    /// predeclares in every vhost (`amq.topic`, ...). Routing and checks
    /// look exchanges up here; `exchanges` holds only what the topology
    /// declares (and so what a plan creates).
    pub fn exchange(&self, name: &str) -> Option<&Exchange> {
        self.exchanges
            .get(name)
            .or_else(|| exchange::predeclared(name))
    }

    /// The bindings whose destination is the queue `queue`.
    pub fn bindings_into<'t>(&'t self, queue: &'t str) -> impl Iterator<Item = &'t Binding> {
        self.bindings
            .iter()
            .filter(move |b| b.destination_type == DestinationType::Queue && b.destination == queue)
    }

    /// The topology without its per-instance queues and their bindings:
    /// what exists on the broker whether or not an instance runs, and so
    /// what plans, applies and exports hold. Borrowed when there are none.
    pub fn shared(&self) -> std::borrow::Cow<'_, Topology> {
        if !self.queues.values().any(|q| q.per_instance) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut t = self.clone();
        t.queues.retain(|_, q| !q.per_instance);
        t.bindings.retain(|b| {
            b.destination_type != DestinationType::Queue
                || !self
                    .queues
                    .get(&b.destination)
                    .is_some_and(|q| q.per_instance)
        });
        std::borrow::Cow::Owned(t)
    }
}
