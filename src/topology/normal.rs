//! The one normal form of a [`Topology`], whichever front end produced it.
//!
//! A spec may give a setting by its named field or as a raw argument
//! (`arguments: { alternate-exchange: spill }`); a definitions export or the
//! management API always gives the argument. Routing, checks, plans and the
//! spec writer must not see two shapes of one setting, so compile and
//! definitions import (and through it observe) end with [`normalize`]:
//!
//! - a raw argument with a named meaning moves into it: an exchange's
//!   `alternate-exchange`, a queue's `x-queue-type`;
//! - argument values are canonical (`canonical`: integral floats are
//!   integers), in queues, exchanges, bindings and policies.
//!
//! Queue settings other than the type live in the model as their `x-`
//! arguments, the broker's own form, so a named `max_length` and a raw
//! `x-max-length` are the same already.

use serde_json::Value;

use super::{Arguments, QueueType, Topology, canonical};

/// The raw argument that sets an exchange's alternate exchange.
pub const ALTERNATE_EXCHANGE: &str = "alternate-exchange";
/// The raw argument that sets a queue's type.
pub use crate::vocabulary::arguments::QUEUE_TYPE;

/// A raw argument that says something else than its named setting: the
/// object keeps the named setting, the caller reports the argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement {
    /// `exchange` or `queue`.
    pub kind: &'static str,
    /// The object's name.
    pub name: String,
    /// The raw argument (`alternate-exchange`, `x-queue-type`).
    pub argument: &'static str,
}

/// Puts `topology` in normal form (see the module docs).
pub fn normalize(topology: &mut Topology) -> Vec<Disagreement> {
    let mut found = Vec::new();
    for x in topology.exchanges.values_mut() {
        canonical_all(&mut x.arguments);
        if let Some(Value::String(ae)) = x.arguments.get(ALTERNATE_EXCHANGE).cloned() {
            match &x.alternate_exchange {
                Some(named) if *named != ae => found.push(Disagreement {
                    kind: "exchange",
                    name: x.name.clone(),
                    argument: ALTERNATE_EXCHANGE,
                }),
                _ => x.alternate_exchange = Some(ae),
            }
            x.arguments.remove(ALTERNATE_EXCHANGE);
            rename_attr(&mut x.origin, ALTERNATE_EXCHANGE, "alternate_exchange");
        }
    }
    for q in topology.queues.values_mut() {
        canonical_all(&mut q.arguments);
        if let Some(kind) = q
            .arguments
            .get(QUEUE_TYPE)
            .and_then(Value::as_str)
            .and_then(queue_type)
        {
            q.queue_type = kind;
            q.type_from = crate::topology::TypeFrom::Queue;
            q.arguments.remove(QUEUE_TYPE);
            rename_attr(&mut q.origin, QUEUE_TYPE, "type");
        }
    }
    for b in &mut topology.bindings {
        canonical_all(&mut b.arguments);
    }
    for p in topology.policies.values_mut() {
        canonical_all(&mut p.definition);
    }
    found
}

/// The queue type an `x-queue-type` value names.
pub fn queue_type(text: &str) -> Option<QueueType> {
    match text {
        "classic" => Some(QueueType::Classic),
        "quorum" => Some(QueueType::Quorum),
        "stream" => Some(QueueType::Stream),
        _ => None,
    }
}

fn canonical_all(arguments: &mut Arguments) {
    for value in arguments.values_mut() {
        *value = canonical(std::mem::take(value));
    }
}

/// Diagnostics about the named setting point at the raw argument that set it.
fn rename_attr(origin: &mut super::Origin, from: &str, to: &str) {
    if origin.attrs.iter().any(|(n, _)| n == to) {
        return;
    }
    if let Some(attr) = origin.attrs.iter_mut().find(|(n, _)| n == from) {
        attr.0 = to.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Exchange, ExchangeType, Origin, Queue};
    use serde_json::json;

    #[test]
    fn raw_arguments_move_into_their_named_settings() {
        let mut t = Topology::default();
        let mut x = Exchange::new("x", ExchangeType::Topic, Origin::default());
        x.arguments
            .insert(ALTERNATE_EXCHANGE.into(), json!("spill"));
        t.exchanges.insert("x".into(), x);
        let mut q = Queue::new("q", QueueType::Classic, Origin::default());
        q.arguments.insert(QUEUE_TYPE.into(), json!("quorum"));
        q.arguments.insert("x-max-length".into(), json!(10.0));
        t.queues.insert("q".into(), q);
        assert!(normalize(&mut t).is_empty());
        assert_eq!(
            t.exchanges["x"].alternate_exchange.as_deref(),
            Some("spill")
        );
        assert!(t.exchanges["x"].arguments.is_empty());
        assert_eq!(t.queues["q"].queue_type, QueueType::Quorum);
        assert_eq!(
            t.queues["q"].arguments,
            Arguments::from([("x-max-length".into(), json!(10))])
        );
        // Normal form is a fixed point.
        let once = t.clone();
        assert!(normalize(&mut t).is_empty());
        assert_eq!(t, once);
    }

    #[test]
    fn a_disagreeing_raw_argument_is_reported_and_the_named_setting_kept() {
        let mut t = Topology::default();
        let mut x = Exchange::new("x", ExchangeType::Fanout, Origin::default());
        x.alternate_exchange = Some("named".into());
        x.arguments.insert(ALTERNATE_EXCHANGE.into(), json!("raw"));
        t.exchanges.insert("x".into(), x);
        let found = normalize(&mut t);
        assert_eq!(found.len(), 1);
        assert_eq!(
            t.exchanges["x"].alternate_exchange.as_deref(),
            Some("named")
        );
    }
}
