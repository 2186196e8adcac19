//! `--migrate`: replacing a queue without losing what it holds, while
//! publishers keep publishing.
//!
//! 1. [`hold`]: a holding queue takes the old queue's bindings, then the old
//!    queue gives them up, so new messages land in the holding queue; the
//!    old queue's messages move there.
//! 2. The plan deletes the old queue, declares the new one and binds it
//!    (its ordinary replace and rebinding steps).
//! 3. [`release`]: the holding queue gives up the bindings and its messages
//!    move into the new queue; then it is deleted.
//!
//! At every moment some queue is bound to every source, so nothing
//! published is unroutable. A message is acked from where it was only
//! after the broker confirmed it where it goes, so nothing is lost; a
//! message published while both the holding and the new queue are bound
//! (the moment between binding one and unbinding the other) reaches both,
//! so it may arrive twice: the delivery is at least once. A moved message
//! is republished through the default exchange, so it keeps its body,
//! properties and headers; its original exchange and routing key go into
//! the headers `x-warren-exchange` and `x-warren-routing-key`.
//!
//! An apply interrupted between 1 and 3 leaves a holding queue bound and
//! holding messages. The next apply finds it ([`unfinished`]) and finishes
//! step 3 with the bindings the holding queue has on the broker.

use lapin::Channel;
use lapin::Confirmation;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

use std::collections::BTreeMap;
use std::time::Duration;

use crate::broker::{BrokerError, bounded, field_table};
use crate::topology::{Binding, DestinationType, Topology};

const HOLDING_SUFFIX: &str = ".warren-migrate";

/// The holding queue of `queue`.
pub fn holding(queue: &str) -> String {
    format!("{queue}{HOLDING_SUFFIX}")
}

/// The queue `name` holds messages for, when it is the holding queue of a
/// queue `desired` declares.
pub fn holds_for<'d>(name: &str, desired: &'d Topology) -> Option<&'d str> {
    let queue = name.strip_suffix(HOLDING_SUFFIX)?;
    desired.queues.get_key_value(queue).map(|(k, _)| k.as_str())
}

/// The holding queues an interrupted migration left on the broker (`live`),
/// for queues `desired` declares, each with the bindings it still has:
/// what [`release`] gives back.
pub fn unfinished(live: &Topology, desired: &Topology) -> BTreeMap<String, Vec<Binding>> {
    desired
        .queues
        .keys()
        .filter(|q| live.queues.contains_key(&holding(q)))
        .map(|q| {
            let hold = holding(q);
            let bindings = live
                .bindings
                .iter()
                .filter(|b| b.destination_type == DestinationType::Queue && b.destination == hold)
                .filter(|b| !b.source.is_empty())
                .cloned()
                .collect();
            (q.clone(), bindings)
        })
        .collect()
}

/// One queue's migration on one channel: each step is bounded by `after`
/// and named in its error.
struct Migration<'a> {
    channel: &'a Channel,
    after: Duration,
    queue: &'a str,
    hold: String,
}

impl<'a> Migration<'a> {
    fn new(channel: &'a Channel, after: Duration, queue: &'a str) -> Migration<'a> {
        Migration {
            channel,
            after,
            queue,
            hold: holding(queue),
        }
    }

    async fn step<T>(
        &self,
        what: &str,
        work: impl Future<Output = Result<T, lapin::Error>>,
    ) -> Result<T, BrokerError> {
        let doing = format!("migrate queue {:?}: {what}", self.queue);
        let work = async { work.await.map_err(|e| BrokerError::amqp(doing.clone(), e)) };
        bounded(self.after, &doing, work).await
    }

    async fn move_all(&self, from: &str, to: &str) -> Result<u64, BrokerError> {
        move_all(self.channel, self.after, from, to).await
    }
}

/// Step 1 for `queue`, fed by `bindings`. Returns how many messages moved.
///
/// # Errors
/// The broker refuses, or a moved message is not confirmed (it stays in
/// the old queue, unacked, and returns there when the channel closes).
pub async fn hold(
    channel: &Channel,
    after: Duration,
    queue: &str,
    bindings: &[Binding],
) -> Result<u64, BrokerError> {
    let m = Migration::new(channel, after, queue);
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let declare = channel.queue_declare(m.hold.as_str().into(), durable, FieldTable::default());
    m.step("declare the holding queue", declare).await?;
    // Every bind before any unbind: some queue is always bound.
    let bind = rebind(channel, &m.hold, bindings, true);
    m.step("bind the holding queue", bind).await?;
    let unbind = rebind(channel, queue, bindings, false);
    m.step("unbind the old queue", unbind).await?;
    m.move_all(queue, &m.hold).await
}

/// Step 3 for `queue`, whose bindings are `bindings`. Returns how many
/// messages moved.
///
/// # Errors
/// As [`hold`]; the holding queue is kept until it is empty.
pub async fn release(
    channel: &Channel,
    after: Duration,
    queue: &str,
    bindings: &[Binding],
) -> Result<u64, BrokerError> {
    let m = Migration::new(channel, after, queue);
    let unbind = rebind(channel, &m.hold, bindings, false);
    m.step("unbind the holding queue", unbind).await?;
    let moved = m.move_all(&m.hold, queue).await?;
    let if_empty = QueueDeleteOptions {
        if_empty: true,
        ..QueueDeleteOptions::default()
    };
    let delete = channel.queue_delete(m.hold.as_str().into(), if_empty);
    m.step("delete the empty holding queue", delete).await?;
    Ok(moved)
}

/// Binds `queue` with each of `bindings` (their sources, keys and
/// arguments), or unbinds it.
async fn rebind(
    channel: &Channel,
    queue: &str,
    bindings: &[Binding],
    bind: bool,
) -> Result<(), lapin::Error> {
    for b in bindings {
        let (queue, source, key, arguments) = (
            ShortString::from(queue),
            ShortString::from(b.source.as_str()),
            ShortString::from(b.routing_key.as_str()),
            field_table(&b.arguments),
        );
        if bind {
            channel
                .queue_bind(queue, source, key, QueueBindOptions::default(), arguments)
                .await?;
        } else {
            channel.queue_unbind(queue, source, key, arguments).await?;
        }
    }
    Ok(())
}

/// Moves every message of `from` into `to`: get, publish with a confirm,
/// and ack only once the broker confirmed it routed and stored.
/// Each message's round trip is bounded by `after`.
async fn move_all(
    channel: &Channel,
    after: Duration,
    from: &str,
    to: &str,
) -> Result<u64, BrokerError> {
    let doing = format!("move the messages of queue {from:?} to {to:?}");
    let mut moved = 0;
    while bounded(after, &doing, move_one(channel, &doing, from, to)).await? {
        moved += 1;
    }
    Ok(moved)
}

/// Moves the next message of `from`, if there is one.
async fn move_one(
    channel: &Channel,
    doing: &str,
    from: &str,
    to: &str,
) -> Result<bool, BrokerError> {
    let failed = |e: lapin::Error| BrokerError::amqp(doing.to_string(), e);
    let got = channel
        .basic_get(ShortString::from(from), BasicGetOptions { no_ack: false })
        .await
        .map_err(failed)?;
    {
        let Some(message) = got else {
            return Ok(false);
        };
        let delivery = message.delivery;
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        for (name, value) in [
            ("x-warren-exchange", delivery.exchange.as_str()),
            ("x-warren-routing-key", delivery.routing_key.as_str()),
        ] {
            if !headers.inner().contains_key(name) {
                headers.insert(
                    ShortString::from(name),
                    AMQPValue::LongString(LongString::from(value)),
                );
            }
        }
        let properties = delivery.properties.clone().with_headers(headers);
        let confirm = channel
            .basic_publish(
                ShortString::from(""),
                ShortString::from(to),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &delivery.data,
                properties,
            )
            .await
            .map_err(failed)?
            .await
            .map_err(failed)?;
        // A returned message still confirms as Ack(Some(returned)): only a
        // plain ack means it is stored.
        if !matches!(confirm, Confirmation::Ack(None)) {
            return Err(BrokerError::Http {
                doing: doing.to_string(),
                reason: format!(
                    "the broker did not take a message into {to:?}; it stays in {from:?}"
                ),
            });
        }
        channel
            .basic_ack(delivery.delivery_tag, BasicAckOptions::default())
            .await
            .map_err(failed)?;
    }
    Ok(true)
}
