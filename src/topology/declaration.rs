//! What an application sends when it declares an exchange or a queue
//! itself (`assertQueue`, `queue_declare`), and whether RabbitMQ accepts
//! that against the object it holds.
//!
//! RabbitMQ accepts a declaration of an existing object only when it is
//! equivalent: the same type, durability, auto-delete, exclusivity and
//! internal flag, and the same value for every argument it knows (absent on
//! both sides counts as the same). Arguments it does not know are ignored,
//! and settings a policy gives take no part. A queue declared without
//! `x-queue-type` is of the vhost's default queue type, or classic where
//! the vhost has none or the release keeps none (3.10). Anything else is
//! refused with PRECONDITION_FAILED ("inequivalent arg").

use serde::Serialize;
use serde_json::Value;

use super::{Arguments, Exchange, ExchangeType, QUEUE_TYPE, Queue, QueueType};
use crate::source::Span;
use crate::vocabulary::{Applies, SETTINGS};

/// One declaration of an exchange or a queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Declaration {
    /// The object's name.
    pub name: String,
    /// What kind of object, with what only that kind has.
    pub object: Declared,
    /// Survives a broker restart.
    pub durable: bool,
    /// Deleted by the broker once unused.
    pub auto_delete: bool,
    /// The `x-` (and `alternate-exchange`) arguments sent.
    pub arguments: Arguments,
    /// Where the spec states it, for a declaration an application makes.
    #[serde(skip)]
    pub span: Option<Span>,
}

/// The kind of object declared.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Declared {
    /// An exchange.
    Exchange {
        /// Its type.
        kind: ExchangeType,
        /// Takes no publishes.
        internal: bool,
    },
    /// A queue.
    Queue {
        /// Owned by the declaring connection.
        exclusive: bool,
    },
}

impl Declaration {
    /// An exchange as a client declares one by default: durable, not
    /// auto-delete, not internal, no arguments.
    pub fn exchange(name: impl Into<String>, kind: ExchangeType) -> Declaration {
        Declaration {
            name: name.into(),
            object: Declared::Exchange {
                kind,
                internal: false,
            },
            durable: true,
            auto_delete: false,
            arguments: Arguments::new(),
            span: None,
        }
    }

    /// A queue as a client declares one by default: durable, not
    /// auto-delete, not exclusive, no arguments.
    pub fn queue(name: impl Into<String>) -> Declaration {
        Declaration {
            name: name.into(),
            object: Declared::Queue { exclusive: false },
            durable: true,
            auto_delete: false,
            arguments: Arguments::new(),
            span: None,
        }
    }

    /// The declaration that is equivalent to `x` as warren declares it.
    pub fn of_exchange(x: &Exchange) -> Declaration {
        Declaration {
            name: x.name.clone(),
            object: Declared::Exchange {
                kind: x.kind.clone(),
                internal: x.internal,
            },
            durable: x.durable,
            auto_delete: x.auto_delete,
            arguments: x.declared_arguments(),
            span: None,
        }
    }

    /// The declaration that is equivalent to `q` as warren declares it,
    /// where a plain declaration gets queues of type `plain`: the queue
    /// type is sent only when it is not that one.
    pub fn of_queue(q: &Queue, plain: QueueType) -> Declaration {
        let mut arguments = q.declared_arguments();
        if q.queue_type != plain {
            arguments.insert(QUEUE_TYPE.into(), Value::from(q.queue_type.as_str()));
        }
        Declaration {
            name: q.name.clone(),
            object: Declared::Queue {
                exclusive: q.exclusive,
            },
            durable: q.durable,
            auto_delete: q.auto_delete,
            arguments,
            span: None,
        }
    }

    /// "exchange" or "queue".
    pub fn kind(&self) -> &'static str {
        match self.object {
            Declared::Exchange { .. } => "exchange",
            Declared::Queue { .. } => "queue",
        }
    }

    /// Why RabbitMQ refuses this declaration against `held` (the object
    /// the broker holds, as [`Declaration::of_exchange`] or
    /// [`Declaration::of_queue`] gives it): every difference, in the
    /// broker's own words (it names the first it meets); empty when it
    /// accepts it. A queue declared without a type is of type `plain`.
    pub fn refusal(&self, held: &Declaration, plain: QueueType) -> Vec<String> {
        let mut found = Vec::new();
        let mut differs = |what: &str, received: String, current: String| {
            found.push(format!(
                "PRECONDITION_FAILED - inequivalent arg '{what}': received {received} but current is {current}"
            ));
        };
        match (&self.object, &held.object) {
            (
                Declared::Exchange { kind, internal },
                Declared::Exchange {
                    kind: held_kind,
                    internal: held_internal,
                },
            ) => {
                if kind != held_kind {
                    differs("type", quoted(kind.as_str()), quoted(held_kind.as_str()));
                }
                if internal != held_internal {
                    differs("internal", flag(*internal), flag(*held_internal));
                }
            }
            (Declared::Queue { exclusive }, Declared::Queue { exclusive: held_ex }) => {
                if exclusive != held_ex {
                    // The broker checks ownership before equivalence.
                    return vec![format!(
                        "RESOURCE_LOCKED - cannot obtain exclusive access to queue '{}'",
                        self.name
                    )];
                }
                let sent = queue_type(&self.arguments, plain);
                let holds = queue_type(&held.arguments, plain);
                if sent != holds {
                    differs(QUEUE_TYPE, quoted(sent), quoted(holds));
                }
            }
            _ => {
                return vec![format!(
                    "{} is a {}, not a {}",
                    self.name,
                    held.kind(),
                    self.kind()
                )];
            }
        }
        if self.durable != held.durable {
            differs("durable", flag(self.durable), flag(held.durable));
        }
        if self.auto_delete != held.auto_delete {
            differs(
                "auto_delete",
                flag(self.auto_delete),
                flag(held.auto_delete),
            );
        }
        for argument in compared(&self.object) {
            let (sent, holds) = (self.arguments.get(argument), held.arguments.get(argument));
            if sent != holds {
                differs(argument, value(sent), value(holds));
            }
        }
        found
    }
}

/// The queue type a declaration with `arguments` asks for.
fn queue_type(arguments: &Arguments, plain: QueueType) -> &str {
    arguments
        .get(QUEUE_TYPE)
        .and_then(Value::as_str)
        .unwrap_or(plain.as_str())
}

/// The arguments RabbitMQ compares for this kind of object: the ones it
/// knows (the settings table's), but the queue type, compared first.
fn compared(object: &Declared) -> impl Iterator<Item = &'static str> {
    let exchange = matches!(object, Declared::Exchange { .. });
    SETTINGS
        .iter()
        .filter(move |s| match s.applies {
            Applies::Exchanges => exchange,
            Applies::Queues(_) => !exchange,
            Applies::Both(_) => true,
        })
        .filter_map(|s| s.argument)
        .filter(|a| *a != QUEUE_TYPE)
}

fn quoted(text: &str) -> String {
    format!("'{text}'")
}

fn flag(on: bool) -> String {
    quoted(if on { "true" } else { "false" })
}

fn value(v: Option<&Value>) -> String {
    match v {
        None => "none".into(),
        Some(Value::String(s)) => quoted(s),
        Some(other) => quoted(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Origin;
    use crate::vocabulary::SettingsVia;
    use serde_json::json;

    fn plain_queue(name: &str, durable: bool) -> Declaration {
        Declaration {
            durable,
            ..Declaration::queue(name)
        }
    }

    #[test]
    fn a_plain_declaration_is_refused_by_a_queue_with_arguments_and_accepted_through_policies() {
        let mut q = Queue::new("inventory", QueueType::Classic, Origin::default());
        q.arguments.insert("x-message-ttl".into(), json!(5000));
        let app = plain_queue("inventory", true);
        let held = Declaration::of_queue(&q, QueueType::Classic);
        assert_eq!(
            app.refusal(&held, QueueType::Classic),
            [
                "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl': received none but current is '5000'"
            ]
        );
        q.settings_via = SettingsVia::Policy;
        let held = Declaration::of_queue(&q, QueueType::Classic);
        assert!(app.refusal(&held, QueueType::Classic).is_empty());
        // Durability is the declaration's own, whatever the settings.
        let transient = plain_queue("inventory", false);
        assert!(transient.refusal(&held, QueueType::Classic)[0].contains("'durable'"));
    }

    #[test]
    fn a_queue_declared_without_a_type_gets_the_plain_type_and_every_difference_is_named() {
        let mut q = Queue::new("orders", QueueType::Quorum, Origin::default());
        let app = plain_queue("orders", true);
        // The vhost's default is classic: the plain declaration asks for a
        // classic queue, as RabbitMQ says.
        let held = Declaration::of_queue(&q, QueueType::Classic);
        assert_eq!(held.arguments.get(QUEUE_TYPE), Some(&json!("quorum")));
        assert_eq!(
            app.refusal(&held, QueueType::Classic),
            [
                "PRECONDITION_FAILED - inequivalent arg 'x-queue-type': received 'classic' but current is 'quorum'"
            ]
        );
        // With a quorum default the plain declaration is the same queue.
        let held = Declaration::of_queue(&q, QueueType::Quorum);
        assert!(held.arguments.is_empty());
        assert!(app.refusal(&held, QueueType::Quorum).is_empty());
        q.arguments
            .insert("x-overflow".into(), json!("reject-publish"));
        let held = Declaration::of_queue(&q, QueueType::Classic);
        assert_eq!(app.refusal(&held, QueueType::Classic).len(), 2);
    }

    #[test]
    fn an_exchange_compares_its_type_flags_and_alternate_exchange_and_ignores_unknown_arguments() {
        let mut x = Exchange::new("order_events", ExchangeType::Topic, Origin::default());
        x.alternate_exchange = Some("unrouted".into());
        let mut app = Declaration {
            arguments: Arguments::from([("x-unknown".into(), json!(1))]),
            ..Declaration::exchange("order_events", ExchangeType::Topic)
        };
        let held = Declaration::of_exchange(&x);
        assert_eq!(
            app.refusal(&held, QueueType::Classic),
            [
                "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange': received none but current is 'unrouted'"
            ]
        );
        x.settings_via = SettingsVia::Policy;
        let held = Declaration::of_exchange(&x);
        assert!(app.refusal(&held, QueueType::Classic).is_empty());
        app.object = Declared::Exchange {
            kind: ExchangeType::Fanout,
            internal: false,
        };
        assert!(app.refusal(&held, QueueType::Classic)[0].contains("'type'"));
        // A queue of the exchange's name is another object.
        let queue = plain_queue("order_events", true);
        assert!(queue.refusal(&held, QueueType::Classic)[0].contains("not a queue"));
    }
}
