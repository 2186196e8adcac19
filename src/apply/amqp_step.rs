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

use crate::broker::field_table;
use crate::topology::{Binding, DestinationType, Exchange, QUEUE_TYPE, Queue};

/// Declares `x`, deleting the live exchange first when `replace`.
pub async fn declare_exchange(
    channel: &Channel,
    x: &Exchange,
    replace: bool,
) -> Result<(), lapin::Error> {
    if replace {
        delete_exchange(channel, x).await?;
    }
    let arguments = x.declared_arguments();
    let options = ExchangeDeclareOptions {
        durable: x.durable,
        auto_delete: x.auto_delete,
        internal: x.internal,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            ShortString::from(x.name.as_str()),
            exchange_kind(x.kind.as_str()),
            options,
            field_table(&arguments),
        )
        .await
}

pub async fn delete_exchange(channel: &Channel, x: &Exchange) -> Result<(), lapin::Error> {
    channel
        .exchange_delete(
            ShortString::from(x.name.as_str()),
            ExchangeDeleteOptions::default(),
        )
        .await
}

/// Declares `q`, deleting the live queue first when `replace`.
pub async fn declare_queue(
    channel: &Channel,
    q: &Queue,
    replace: bool,
) -> Result<(), lapin::Error> {
    if replace {
        delete_queue(channel, q).await?;
    }
    let mut arguments = q.declared_arguments();
    arguments.insert(QUEUE_TYPE.into(), serde_json::json!(q.queue_type.as_str()));
    let options = QueueDeclareOptions {
        durable: q.durable,
        auto_delete: q.auto_delete,
        exclusive: q.exclusive,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(
            ShortString::from(q.name.as_str()),
            options,
            field_table(&arguments),
        )
        .await
        .map(drop)
}

/// Never if-empty or if-unused: quorum queues answer those with 540
/// NOT_IMPLEMENTED. Apply checked the counts.
pub async fn delete_queue(channel: &Channel, q: &Queue) -> Result<(), lapin::Error> {
    channel
        .queue_delete(
            ShortString::from(q.name.as_str()),
            QueueDeleteOptions::default(),
        )
        .await
        .map(drop)
}

/// Binds (`bind`) or unbinds `b`, to a queue or an exchange.
pub async fn bind(channel: &Channel, b: &Binding, bind: bool) -> Result<(), lapin::Error> {
    let (source, destination, key, arguments) = (
        ShortString::from(b.source.as_str()),
        ShortString::from(b.destination.as_str()),
        ShortString::from(b.routing_key.as_str()),
        field_table(&b.arguments),
    );
    match (b.destination_type, bind) {
        (DestinationType::Queue, false) => {
            channel
                .queue_unbind(destination, source, key, arguments)
                .await
        }
        (DestinationType::Queue, true) => {
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
        (DestinationType::Exchange, false) => {
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
        (DestinationType::Exchange, true) => {
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
