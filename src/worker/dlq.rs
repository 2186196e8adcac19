//! `warren dlq`: what is in a service's dead-letter queue, and putting it
//! back. Both move messages one at a time with a publisher confirm before
//! the ack, so nothing is lost if either side fails midway.
//!
//! Listing cannot peek (AMQP has no such operation), and returning
//! messages to a quorum queue unacked counts as a delivery against its
//! delivery limit (20 by default from RabbitMQ 4.0). So `list` takes each
//! dead letter and republishes it, unchanged, to the back of the same
//! queue: a full listing keeps the order, a partial one moves the listed
//! messages behind the rest.

use lapin::Channel;
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::types::ShortString;
use serde::Serialize;

use super::delivery::{self, without_warren_headers};
use super::emit::{self, PublishError};
use super::headers;
use crate::broker::{BrokerError, Settings};
use crate::topology::{Retry, Topology};

/// One dead letter, as `dlq list` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct DeadLetter {
    /// The message's `message_id` property, if it has one.
    pub message_id: Option<String>,
    /// Why it was dead-lettered: warren's [`Reason`](crate::worker::Reason)
    /// word, or the broker's own reason when the broker dead-lettered it.
    pub reason: Option<String>,
    /// The handler's error text, if it failed with one.
    pub error: Option<String>,
    /// The attempt that failed last (1 for the first delivery).
    pub attempt: u32,
    /// The exchange the message was first published to.
    pub exchange: String,
    /// The routing key it was first published with.
    pub routing_key: String,
    /// When it was dead-lettered, in Unix milliseconds; `None` when the header
    /// is absent.
    pub dead_lettered_at: Option<u64>,
    /// The whole body as text (invalid UTF-8 replaced): scripts read it,
    /// and the CLI clips it for people.
    pub body: String,
}

/// Why `warren dlq` could not list or replay a service's dead letters.
#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    /// The spec has no such service.
    #[error(transparent)]
    UnknownService(#[from] crate::topology::UnknownService),
    /// The service does not retry, so it has no dead-letter queue; holds the
    /// service's name.
    #[error(
        "service {0:?} has no retry chain, so no dead-letter queue: add `retry:` to the service"
    )]
    NoDeadLetterQueue(String),
    /// Another `warren dlq` is reading the queue (named); only one may at a
    /// time.
    #[error(
        "another `warren dlq` is still reading {0:?}; try again when it is done (its lock goes with its connection)"
    )]
    Busy(String),
    /// The broker could not be reached, or refused a request.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// Moving a message failed part way; what was moved stays moved.
    #[error("{done} moved; then {doing}: {reason} (the rest stay where they are)")]
    Stopped {
        /// How many messages were moved before.
        done: usize,
        /// What was being done ("publish to ...", "take from ...").
        doing: String,
        /// Why it failed.
        reason: String,
    },
}

/// The service's retry chain and queue.
fn chain<'t>(topology: &'t Topology, service: &str) -> Result<(&'t Retry, &'t str), DlqError> {
    let s = topology.service(service)?;
    match (&s.retry, &s.queue) {
        (Some(r), Some(q)) => Ok((r, q)),
        _ => Err(DlqError::NoDeadLetterQueue(service.to_string())),
    }
}

/// A confirm channel that alone reads `dlq`: listing and replaying move
/// each message to the back of the queue or out of it, so two at once
/// would each see some messages twice and miss others. The lock is an
/// exclusive queue of the connection; another `list` or `replay` waits for
/// it, up to the settings' timeout.
async fn channel(
    settings: &Settings,
    vhost: &str,
    dlq: &str,
) -> Result<(lapin::Connection, Channel), DlqError> {
    let connection = crate::broker::connect(settings, vhost).await?;
    let lock = dlq_lock(dlq);
    let deadline = std::time::Instant::now() + settings.timeout;
    loop {
        // A refused declare closes its channel: each try has a new one.
        let channel = crate::broker::confirm_channel(&connection).await?;
        let taken = crate::broker::exclusive_lock(&channel, &lock, Default::default())
            .await
            .map_err(|e| BrokerError::amqp(format!("take the lock {lock:?}"), e))?;
        if taken {
            return Ok((connection, channel));
        }
        if std::time::Instant::now() >= deadline {
            let _ = connection.close(200, "busy".into()).await;
            return Err(DlqError::Busy(dlq.to_string()));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The lock queue's name for `dlq`, within AMQP's 255 bytes.
fn dlq_lock(dlq: &str) -> String {
    let name = format!("warren.dlq.lock.{dlq}");
    if name.len() <= 255 {
        return name;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(dlq, &mut h);
    format!("warren.dlq.lock.{:016x}", std::hash::Hasher::finish(&h))
}

/// Up to `limit` dead letters of `service`, oldest first.
///
/// # Errors
/// The service has no DLQ, or the broker fails (what was moved so far is
/// safely at the back of the queue).
pub async fn list(
    settings: &Settings,
    topology: &Topology,
    service: &str,
    limit: usize,
) -> Result<Vec<DeadLetter>, DlqError> {
    let (retry, _) = chain(topology, service)?;
    let dlq = retry.dead_letter_queue.as_str();
    let (connection, channel) = channel(settings, &topology.vhost, dlq).await?;
    let depth = queue_depth(&channel, dlq).await?;
    let mut found = Vec::new();
    // Never more than were there at the start: listed messages come back
    // at the back of the queue.
    while found.len() < limit.min(depth) {
        let Some(message) = get(&channel, dlq, found.len(), settings.timeout).await? else {
            break;
        };
        let d = &message.delivery;
        found.push(shown(d));
        move_to(&channel, d, "", dlq, d.properties.clone(), found.len() - 1).await?;
    }
    let _ = connection.close(200, "listed".into()).await;
    Ok(found)
}

/// Moves up to `limit` dead letters of `service` back to its queue, each
/// with its attempt count reset (warren's failure headers removed; where
/// it was first published kept). Returns how many moved.
///
/// # Errors
/// As [`list`]; each message is confirmed in the service's queue before
/// its dead letter is acked.
pub async fn replay(
    settings: &Settings,
    topology: &Topology,
    service: &str,
    limit: usize,
) -> Result<usize, DlqError> {
    let (retry, queue) = chain(topology, service)?;
    let dlq = retry.dead_letter_queue.as_str();
    let (connection, channel) = channel(settings, &topology.vhost, dlq).await?;
    // Never more than were there at the start: a replayed message that
    // fails again comes back to this queue, and is not replayed twice.
    let depth = queue_depth(&channel, dlq).await?;
    let mut moved = 0;
    while moved < limit.min(depth) {
        let Some(message) = get(&channel, dlq, moved, settings.timeout).await? else {
            break;
        };
        let d = &message.delivery;
        let (exchange, routing_key) =
            delivery::origin(d.exchange.as_str(), d.routing_key.as_str(), &d.properties);
        let mut table = without_warren_headers(&d.properties.headers().clone().unwrap_or_default());
        for (name, value) in [
            (headers::EXCHANGE, exchange),
            (headers::ROUTING_KEY, routing_key),
        ] {
            table = delivery::with_header(
                &table,
                name,
                lapin::types::AMQPValue::LongString(value.as_str().into()),
            );
        }
        move_to(
            &channel,
            d,
            "",
            queue,
            d.properties.clone().with_headers(table),
            moved,
        )
        .await?;
        moved += 1;
    }
    let _ = connection.close(200, "replayed".into()).await;
    Ok(moved)
}

async fn queue_depth(channel: &Channel, queue: &str) -> Result<usize, DlqError> {
    let q = channel
        .queue_declare(
            ShortString::from(queue),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
        .map_err(|e| {
            BrokerError::amqp(
                format!("find queue {queue:?} (has the spec been applied?)"),
                e,
            )
        })?;
    Ok(q.message_count() as usize)
}

/// The next message of `queue`, within `within`: a message whose header
/// frame is larger than the connection's frame size (a dead letter whose
/// headers grew past it when the broker added `x-death`) ends the client's
/// connection without an error, and the answer never comes.
async fn get(
    channel: &Channel,
    queue: &str,
    done: usize,
    within: std::time::Duration,
) -> Result<Option<lapin::message::BasicGetMessage>, DlqError> {
    let stopped = |reason: String| DlqError::Stopped {
        done,
        doing: format!("take from {queue:?}"),
        reason,
    };
    let taking = channel.basic_get(ShortString::from(queue), BasicGetOptions { no_ack: false });
    match tokio::time::timeout(within, taking).await {
        Ok(got) => got.map_err(|e| stopped(e.to_string())),
        Err(_) => Err(stopped(format!(
            "no answer within {}s; a message whose headers are larger than the frame size cannot be read over AMQP: move it from the management UI (Get messages) or with rabbitmqadmin",
            within.as_secs()
        ))),
    }
}

/// Publishes `d` to `key` on `exchange` with `properties`, confirmed, then
/// acks it.
async fn move_to(
    channel: &Channel,
    d: &lapin::message::Delivery,
    exchange: &str,
    key: &str,
    properties: lapin::BasicProperties,
    done: usize,
) -> Result<(), DlqError> {
    let stopped = |doing: String, reason: String| DlqError::Stopped {
        done,
        doing,
        reason,
    };
    emit::publish(channel, exchange, key, &d.data, properties)
        .await
        .map_err(|e| match e {
            PublishError::Connection(e) => stopped(format!("publish to {key:?}"), e.to_string()),
            refused => stopped(format!("publish to {key:?}"), refused.to_string()),
        })?;
    channel
        .basic_ack(d.delivery_tag, BasicAckOptions::default())
        .await
        .map_err(|e| stopped("ack the dead letter".into(), e.to_string()))
}

fn shown(d: &lapin::message::Delivery) -> DeadLetter {
    let text = |name: &str| {
        d.properties
            .headers()
            .as_ref()
            .and_then(|t| t.inner().get(name))
            .and_then(delivery::as_text)
    };
    let number = |name: &str| {
        d.properties
            .headers()
            .as_ref()
            .and_then(|t| t.inner().get(name))
            .and_then(|v| match delivery::to_json(v) {
                serde_json::Value::Number(n) => n.as_u64(),
                _ => None,
            })
    };
    let (exchange, routing_key) =
        delivery::origin(d.exchange.as_str(), d.routing_key.as_str(), &d.properties);
    DeadLetter {
        message_id: d.properties.message_id().as_ref().map(|m| m.to_string()),
        reason: text(headers::REASON).or_else(|| text(BROKER_REASON_HEADER)),
        error: text(headers::ERROR),
        attempt: delivery::attempt(&d.properties, None),
        exchange,
        routing_key,
        dead_lettered_at: number(headers::DEAD_LETTERED_AT),
        body: String::from_utf8_lossy(&d.data).into_owned(),
    }
}

/// The broker's own reason, on a message it dead-lettered itself (a
/// worker's fallback when the DLQ did not take its copy).
const BROKER_REASON_HEADER: &str = "x-first-death-reason";
