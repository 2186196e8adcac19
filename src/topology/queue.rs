use serde::Serialize;

use serde_json::Value;

use super::exchange::is_plain;
use super::{Arguments, Origin, Policy, QueueType, TypeFrom};
use crate::vocabulary::{DeadLetterStrategy, Overflow, Setting, SettingsVia, lower_limit};

/// A queue. Settings live in `arguments` under their RabbitMQ names
/// (`x-message-ttl`, ...), the form the broker and definitions exports use;
/// the accessors below read them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Queue {
    /// The map key in [`Topology`](super::Topology); not repeated in output.
    #[serde(skip)]
    pub name: String,
    /// Classic, quorum or stream.
    #[serde(rename = "type")]
    pub queue_type: QueueType,
    /// Where `queue_type` was decided; not part of what the broker holds.
    #[serde(skip)]
    pub type_from: TypeFrom,
    /// Survives a broker restart.
    pub durable: bool,
    /// Deleted by the broker once its last consumer goes.
    pub auto_delete: bool,
    /// Used by one connection only, and deleted when it closes.
    pub exclusive: bool,
    /// `x-` arguments: the queue's settings, in canonical form.
    #[serde(skip_serializing_if = "Arguments::is_empty")]
    pub arguments: Arguments,
    /// What consumes it: a service, something outside the spec, or the
    /// broker itself (a retry delay queue is drained by expiry).
    #[serde(skip_serializing_if = "Consumer::is_none")]
    pub consumer: Consumer,
    /// A template, not a queue: each running instance of the consuming
    /// service declares its own server-named exclusive queue with these
    /// bindings, which goes when the instance does. Routing and checks
    /// see it; plan, apply and definitions exports leave it out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub per_instance: bool,
    /// How the broker gets its optional settings: the declaration's
    /// arguments, or a policy warren generates ([`Queue::declared_arguments`]
    /// is what the declaration then carries).
    #[serde(skip_serializing_if = "is_arguments")]
    pub settings_via: SettingsVia,
    /// Where in the spec it was declared, or which service generated it.
    #[serde(skip_serializing_if = "is_plain")]
    pub origin: Origin,
}

/// What takes messages off a queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Consumer {
    /// Nothing the spec knows of.
    #[default]
    None,
    /// The service of that name.
    Service(String),
    /// Something outside the spec (`external: true`), or `warren dlq` for a
    /// service's dead-letter queue.
    External,
    /// Messages leave by TTL and dead-lettering.
    Expiry,
}

impl Consumer {
    /// Whether nothing the spec knows of consumes the queue.
    pub fn is_none(&self) -> bool {
        matches!(self, Consumer::None)
    }
}

impl Queue {
    /// A durable queue of `queue_type` with no arguments and no consumer.
    pub fn new(name: impl Into<String>, queue_type: QueueType, origin: Origin) -> Queue {
        Queue {
            name: name.into(),
            queue_type,
            type_from: TypeFrom::Queue,
            durable: true,
            auto_delete: false,
            exclusive: false,
            arguments: Arguments::new(),
            consumer: Consumer::None,
            per_instance: false,
            settings_via: SettingsVia::Arguments,
            origin,
        }
    }

    /// The arguments its declaration carries: all of them, or with its
    /// settings through a policy only those no policy can set (the queue
    /// type, a priority, single active consumer, an initial group size,
    /// raw arguments warren does not know).
    pub fn declared_arguments(&self) -> Arguments {
        match self.settings_via {
            SettingsVia::Arguments => self.arguments.clone(),
            SettingsVia::Policy => self
                .arguments
                .iter()
                .filter(|(argument, _)| !by_policy(argument))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The settings a policy carries for it, by policy key: those its
    /// declaration leaves out (empty when its settings are arguments).
    pub fn policy_settings(&self) -> Arguments {
        if self.settings_via == SettingsVia::Arguments {
            return Arguments::new();
        }
        self.arguments
            .iter()
            .filter_map(|(argument, value)| {
                let key = Setting::by_argument(argument)?.policy_key?;
                Some((key.to_string(), value.clone()))
            })
            .collect()
    }

    /// The model's queue for a per-instance consumer `service`: classic,
    /// exclusive, auto-delete, under a name no broker queue has (the
    /// broker names each instance's queue `amq.gen-...`).
    pub fn per_instance(service: &str, origin: Origin) -> Queue {
        Queue {
            durable: false,
            auto_delete: true,
            exclusive: true,
            per_instance: true,
            ..Queue::new(format!("{service}@instance"), QueueType::Classic, origin)
        }
    }

    /// The value the broker applies for `setting` on this queue, where
    /// `policy` is the policy that applies to it: the queue's argument or
    /// the policy's key; where both set a limit, the lower (a negative
    /// delivery limit is none).
    pub fn effective<'a>(
        &'a self,
        setting: &Setting,
        policy: Option<&'a Policy>,
    ) -> Option<&'a Value> {
        let argument = setting.argument.and_then(|a| self.arguments.get(a));
        let policed = setting
            .policy_key
            .and_then(|k| policy.and_then(|p| p.definition.get(k)));
        match (argument, policed) {
            (Some(a), Some(p)) if setting.lower_wins => Some(lower_limit(a, p)),
            (a, p) => a.or(p),
        }
    }

    /// The keys of `policy` this queue also sets as its own argument, each
    /// with that argument: the broker takes the argument (or the lower of
    /// two limits) over the policy there.
    pub fn overrides<'p>(
        &'p self,
        policy: &'p Policy,
    ) -> impl Iterator<Item = (&'p str, &'static str)> + 'p {
        let declared = self.declared_arguments();
        policy.definition.keys().filter_map(move |key| {
            let argument = Setting::by_policy_key(key)?.argument?;
            declared
                .contains_key(argument)
                .then_some((key.as_str(), argument))
        })
    }

    /// The queue's own argument for `setting`, as a number.
    fn number(&self, setting: &Setting) -> Option<u64> {
        self.arguments.get(setting.arg()).and_then(Value::as_u64)
    }

    /// The queue's own argument for `setting`, as text.
    fn text(&self, setting: &Setting) -> Option<&str> {
        self.arguments.get(setting.arg()).and_then(Value::as_str)
    }

    /// `x-message-ttl`: how long a message may wait, in milliseconds.
    pub fn message_ttl(&self) -> Option<u64> {
        self.number(&Setting::MESSAGE_TTL)
    }
    /// `x-max-length`: the most messages the queue holds.
    pub fn max_length(&self) -> Option<u64> {
        self.number(&Setting::MAX_LENGTH)
    }
    /// `x-max-length-bytes`: the most message body bytes the queue holds.
    pub fn max_length_bytes(&self) -> Option<u64> {
        self.number(&Setting::MAX_LENGTH_BYTES)
    }
    /// `x-overflow`: what happens at a length limit (`drop-head`,
    /// `reject-publish`, `reject-publish-dlx`).
    pub fn overflow(&self) -> Option<Overflow> {
        word(self.arguments.get(Setting::OVERFLOW.arg()))
    }
    /// `x-delivery-limit`: how many times a quorum queue redelivers a message
    /// before it dead-letters or drops it.
    pub fn delivery_limit(&self) -> Option<u64> {
        self.number(&Setting::DELIVERY_LIMIT)
    }
    /// `Some("")` is the default exchange.
    pub fn dead_letter_exchange(&self) -> Option<&str> {
        self.text(&Setting::DEAD_LETTER_EXCHANGE)
    }
    /// `x-dead-letter-routing-key`: the key dead letters are republished with;
    /// `None` keeps each message's own.
    pub fn dead_letter_routing_key(&self) -> Option<&str> {
        self.text(&Setting::DEAD_LETTER_ROUTING_KEY)
    }
    /// `x-dead-letter-strategy`: `at-most-once` or `at-least-once` (quorum
    /// queues).
    pub fn dead_letter_strategy(&self) -> Option<DeadLetterStrategy> {
        word(self.arguments.get(Setting::DEAD_LETTER_STRATEGY.arg()))
    }
}

/// Whether a policy can set `argument` (the settings table has a policy key
/// for it), so that a declaration through policies leaves it out.
fn by_policy(argument: &str) -> bool {
    Setting::by_argument(argument).is_some_and(|s| s.policy_key.is_some())
}

/// For `skip_serializing_if`: the default way, not worth showing.
pub(super) fn is_arguments(via: &SettingsVia) -> bool {
    *via == SettingsVia::Arguments
}

/// A setting's value as the vocabulary's word for it; `None` when unset or
/// not one of the words (the value checks report that).
pub fn word<T: serde::de::DeserializeOwned>(value: Option<&Value>) -> Option<T> {
    value.and_then(|v| T::deserialize(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::ApplyTo;
    use serde_json::json;

    fn policy(definition: serde_json::Value) -> Policy {
        Policy {
            name: "p".into(),
            pattern: ".*".into(),
            apply_to: ApplyTo::Queues,
            priority: 0,
            definition: serde_json::from_value(definition).unwrap(),
            origin: Origin::default(),
        }
    }

    fn queue(arguments: serde_json::Value) -> Queue {
        Queue {
            arguments: serde_json::from_value(arguments).unwrap(),
            ..Queue::new("q", QueueType::Quorum, Origin::default())
        }
    }

    #[test]
    fn the_effective_value_is_the_argument_or_the_policy_and_the_lower_limit() {
        let p =
            policy(json!({ "max-length": 10, "overflow": "reject-publish", "delivery-limit": 5 }));
        let q =
            queue(json!({ "x-max-length": 50, "x-overflow": "drop-head", "x-delivery-limit": -1 }));
        // A limit set twice: the lower one.
        assert_eq!(
            q.effective(&Setting::MAX_LENGTH, Some(&p)),
            Some(&json!(10))
        );
        // A negative delivery limit is none: the policy's 5 applies.
        assert_eq!(
            q.effective(&Setting::DELIVERY_LIMIT, Some(&p)),
            Some(&json!(5))
        );
        // Anything else: the argument.
        assert_eq!(q.overflow(), Some(Overflow::DropHead));
        assert_eq!(
            q.effective(&Setting::OVERFLOW, Some(&p)),
            Some(&json!("drop-head"))
        );
        // Set once, from either side.
        let bare = queue(json!({}));
        assert_eq!(
            bare.effective(&Setting::OVERFLOW, Some(&p)),
            Some(&json!("reject-publish"))
        );
        assert_eq!(bare.effective(&Setting::OVERFLOW, None), None);
        assert_eq!(q.effective(&Setting::MESSAGE_TTL, Some(&p)), None);
        // The keys the queue overrides, with its arguments.
        let overrides: Vec<_> = q.overrides(&p).collect();
        assert_eq!(
            overrides,
            [
                ("delivery-limit", "x-delivery-limit"),
                ("max-length", "x-max-length"),
                ("overflow", "x-overflow")
            ]
        );
    }

    #[test]
    fn a_word_the_vocabulary_lacks_reads_as_none() {
        let q = queue(json!({ "x-overflow": "drop-tail", "x-dead-letter-strategy": 7 }));
        assert_eq!(q.overflow(), None);
        assert_eq!(q.dead_letter_strategy(), None);
    }
}
