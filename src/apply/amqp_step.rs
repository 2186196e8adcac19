//! Exchanges, queues and bindings declared over AMQP: one round trip on an
//! open channel, where the management API needs an HTTP request and the
//! broker's HTTP machinery for each. bench/apply.sh measured the
//! difference; the rest (vhost, users, permissions, policies) exists only
//! in the management API.
//!
//! A refused declaration closes its channel; apply stops at the first
//! refusal anyway, with the broker's reply text (the "inequivalent arg"
//! of a redeclaration, say).

use lapin::options::{
    ExchangeBindOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, ExchangeUnbindOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::ShortString;
use lapin::{Channel, ExchangeKind};

use crate::broker::{BrokerError, field_table};
use crate::plan::{Action, Change, Object};
use crate::topology::{ALTERNATE_EXCHANGE, DestinationType, QUEUE_TYPE};

/// Whether `change` goes over AMQP.
pub fn handles(change: &Change) -> bool {
    let object = match change.action {
        Action::Delete => change.live.as_ref(),
        _ => change.desired.as_ref(),
    };
    matches!(
        object,
        Some(Object::Exchange(_) | Object::Queue(_) | Object::Binding(_))
    )
}

/// Carries out an exchange, queue or binding change on `channel`.
///
/// # Errors
/// The broker refuses (the channel is then closed) or the connection is
/// gone.
pub async fn run(channel: &Channel, change: &Change) -> Result<(), BrokerError> {
    let doing = format!(
        "{} {} {}",
        super::step::verb(change.action),
        change.kind.as_str(),
        change.name
    );
    let failed = |e: lapin::Error| BrokerError::amqp(doing.clone(), e);
    let object = match change.action {
        Action::Delete => change.live.as_ref(),
        _ => change.desired.as_ref(),
    };
    match (object, change.action) {
        (Some(Object::Exchange(x)), action) => {
            let name = ShortString::from(x.name.as_str());
            if matches!(action, Action::Delete | Action::Replace) {
                channel
                    .exchange_delete(name.clone(), ExchangeDeleteOptions::default())
                    .await
                    .map_err(failed)?;
            }
            if action == Action::Delete {
                return Ok(());
            }
            let mut arguments = x.arguments.clone();
            if let Some(ae) = &x.alternate_exchange {
                arguments.insert(ALTERNATE_EXCHANGE.into(), serde_json::json!(ae));
            }
            let options = ExchangeDeclareOptions {
                durable: x.durable,
                auto_delete: x.auto_delete,
                internal: x.internal,
                ..ExchangeDeclareOptions::default()
            };
            channel
                .exchange_declare(
                    name,
                    exchange_kind(x.kind.as_str()),
                    options,
                    field_table(&arguments),
                )
                .await
                .map_err(failed)
        }
        (Some(Object::Queue(q)), action) => {
            let name = ShortString::from(q.name.as_str());
            if matches!(action, Action::Delete | Action::Replace) {
                // Never if-empty or if-unused: quorum queues answer those
                // with 540 NOT_IMPLEMENTED. Apply checked the counts.
                channel
                    .queue_delete(name.clone(), QueueDeleteOptions::default())
                    .await
                    .map_err(failed)?;
            }
            if action == Action::Delete {
                return Ok(());
            }
            let mut arguments = q.arguments.clone();
            arguments.insert(QUEUE_TYPE.into(), serde_json::json!(q.queue_type.as_str()));
            let options = QueueDeclareOptions {
                durable: q.durable,
                auto_delete: q.auto_delete,
                exclusive: q.exclusive,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(name, options, field_table(&arguments))
                .await
                .map(drop)
                .map_err(failed)
        }
        (Some(Object::Binding(b)), action) => {
            let (source, destination, key, arguments) = (
                ShortString::from(b.source.as_str()),
                ShortString::from(b.destination.as_str()),
                ShortString::from(b.routing_key.as_str()),
                field_table(&b.arguments),
            );
            let done = match (b.destination_type, action) {
                (DestinationType::Queue, Action::Delete) => {
                    channel
                        .queue_unbind(destination, source, key, arguments)
                        .await
                }
                (DestinationType::Queue, _) => {
                    channel
                        .queue_bind(
                            destination,
                            source,
                            key,
                            QueueBindOptions::default(),
                            arguments,
                        )
                        .await
                }
                (DestinationType::Exchange, Action::Delete) => {
                    channel
                        .exchange_unbind(
                            destination,
                            source,
                            key,
                            ExchangeUnbindOptions::default(),
                            arguments,
                        )
                        .await
                }
                (DestinationType::Exchange, _) => {
                    channel
                        .exchange_bind(
                            destination,
                            source,
                            key,
                            ExchangeBindOptions::default(),
                            arguments,
                        )
                        .await
                }
            };
            done.map_err(failed)
        }
        _ => Err(BrokerError::Http {
            doing,
            reason: "not an exchange, queue or binding change".into(),
        }),
    }
}

fn exchange_kind(kind: &str) -> ExchangeKind {
    match kind {
        "direct" => ExchangeKind::Direct,
        "fanout" => ExchangeKind::Fanout,
        "topic" => ExchangeKind::Topic,
        "headers" => ExchangeKind::Headers,
        other => ExchangeKind::Custom(other.to_string()),
    }
}
