//! AMQP 0-9-1 connections (lapin).

use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Connection, ConnectionProperties};

use serde_json::Value;

use super::{BrokerError, Settings};
use crate::routing::Headers;

/// Opens a connection to `vhost` on the first node, in order, that takes
/// it: a cluster's nodes fail over to the next, so a worker reconnecting
/// after its node went away lands on another.
///
/// # Errors
/// No node accepts; the message names the vhost and each URL tried,
/// without credentials.
pub async fn connect(settings: &Settings, vhost: &str) -> Result<Connection, BrokerError> {
    let mut tried = Vec::new();
    let mut last = None;
    for url in settings.amqp_urls() {
        let shown = super::settings::shown(url);
        let doing = format!("connect to {shown} vhost {vhost:?}");
        let attempt = tokio::time::timeout(
            settings.connect_timeout,
            Connection::connect(
                &settings.amqp_uri_at(url, vhost),
                ConnectionProperties::default(),
            ),
        )
        .await;
        match attempt {
            Ok(Ok(connection)) => {
                if !tried.is_empty() {
                    tracing::info!(url = %shown, "connected after {} did not answer", tried.join(", "));
                }
                return Ok(connection);
            }
            Ok(Err(e)) => last = Some(BrokerError::amqp(doing, e)),
            Err(_) => {
                last = Some(BrokerError::ConnectTimeout {
                    doing,
                    after: settings.connect_timeout,
                });
            }
        }
        tried.push(shown);
    }
    Err(last.expect("settings always hold one AMQP URL"))
}

/// A new channel on `connection` in confirm mode: every publish on it is
/// answered by the broker (ack, nack, or a return before the ack).
///
/// # Errors
/// The channel cannot be opened or confirms cannot be turned on.
pub async fn confirm_channel(connection: &Connection) -> Result<lapin::Channel, BrokerError> {
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| BrokerError::amqp("open a channel", e))?;
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await
        .map_err(|e| BrokerError::amqp("turn on publisher confirms", e))?;
    Ok(channel)
}

/// Messages and consumers of `queues` in `vhost` as the broker counts them
/// at this moment (a passive declare each, on one channel; a queue that
/// is gone counts nothing).
///
/// # Errors
/// The broker cannot be reached.
pub async fn queue_counts<'q>(
    settings: &Settings,
    vhost: &str,
    queues: impl IntoIterator<Item = &'q str>,
) -> Result<std::collections::BTreeMap<String, (u64, u64)>, BrokerError> {
    use lapin::options::QueueDeclareOptions;
    let connection = connect(settings, vhost).await?;
    let mut counts = std::collections::BTreeMap::new();
    let mut channel = None;
    for queue in queues {
        if channel.is_none() {
            channel = Some(
                connection
                    .create_channel()
                    .await
                    .map_err(|e| BrokerError::amqp("open a channel to count messages", e))?,
            );
        }
        let Some(ch) = &channel else { continue };
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        match ch
            .queue_declare(ShortString::from(queue), passive, FieldTable::default())
            .await
        {
            Ok(q) => {
                counts.insert(
                    queue.to_string(),
                    (u64::from(q.message_count()), u64::from(q.consumer_count())),
                );
            }
            // A refused passive declare closes the channel: the next queue
            // gets a new one.
            Err(_) => channel = None,
        }
    }
    let _ = connection.close(200, "counted".into()).await;
    Ok(counts)
}

/// `work` (AMQP requests), given up after `after`: lapin itself waits
/// for a reply forever, and a broker busy with quorum queues can leave a
/// declaration unanswered for minutes.
///
/// # Errors
/// `work`'s own error, or a timeout that says what was being done.
pub async fn bounded<T>(
    after: std::time::Duration,
    doing: &str,
    work: impl std::future::Future<Output = Result<T, BrokerError>>,
) -> Result<T, BrokerError> {
    tokio::time::timeout(after, work).await.unwrap_or_else(|_| {
        Err(BrokerError::Timeout {
            doing: doing.to_string(),
            after,
        })
    })
}

/// Declares `name` as a lock: an exclusive queue, which the broker gives
/// to one connection and deletes when it goes, so a crashed holder
/// releases it by itself. False when another connection holds it (the
/// broker then closed `channel`).
///
/// # Errors
/// Any other refusal.
pub async fn exclusive_lock(
    channel: &lapin::Channel,
    name: &str,
    arguments: FieldTable,
) -> Result<bool, lapin::Error> {
    let declared = channel
        .queue_declare(
            ShortString::from(name),
            lapin::options::QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                durable: false,
                ..lapin::options::QueueDeclareOptions::default()
            },
            arguments,
        )
        .await;
    match declared {
        Ok(_) => Ok(true),
        // 405 RESOURCE_LOCKED: exclusive to another connection.
        Err(e) if matches!(e.kind(), lapin::ErrorKind::ProtocolError(p) if p.get_id() == 405) => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Queue, exchange or binding arguments as an AMQP field table.
pub fn field_table(arguments: &crate::topology::Arguments) -> FieldTable {
    let mut table = FieldTable::default();
    for (name, value) in arguments {
        // Names come from the settings table or a spec's `arguments:`; a
        // name AMQP cannot carry is sent empty, and the broker refuses it.
        let name = ShortString::try_new(name.as_str()).unwrap_or_default();
        table.insert(name, amqp_value(value).unwrap_or(AMQPValue::Void));
    }
    table
}

/// A header name (or a key inside a header's table) AMQP cannot carry: a
/// name is a short string, at most 255 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("header name {name:?} is {len} bytes long; AMQP allows at most 255")]
pub struct HeaderNameTooLong {
    /// The name's first 40 characters.
    pub name: String,
    /// Its length in bytes.
    pub len: usize,
}

/// Message headers as AMQP field values, typed as RabbitMQ compares them:
/// strings, 64-bit integers, booleans, doubles.
///
/// # Errors
/// A name, at any depth, is longer than 255 bytes.
pub fn amqp_headers(headers: &Headers) -> Result<FieldTable, HeaderNameTooLong> {
    let mut table = FieldTable::default();
    for (name, value) in headers {
        table.insert(short_name(name)?, amqp_value(value)?);
    }
    Ok(table)
}

fn short_name(name: &str) -> Result<ShortString, HeaderNameTooLong> {
    ShortString::try_new(name).map_err(|_| HeaderNameTooLong {
        name: name.chars().take(40).chain("...".chars()).collect(),
        len: name.len(),
    })
}

fn amqp_value(value: &Value) -> Result<AMQPValue, HeaderNameTooLong> {
    Ok(match value {
        Value::Bool(b) => AMQPValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AMQPValue::LongLongInt(i),
            None => AMQPValue::Double(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => AMQPValue::LongString(LongString::from(s.as_str())),
        Value::Null => AMQPValue::Void,
        Value::Array(items) => AMQPValue::FieldArray(
            items
                .iter()
                .map(amqp_value)
                .collect::<Result<Vec<_>, _>>()?
                .into(),
        ),
        Value::Object(map) => {
            let mut table = FieldTable::default();
            for (k, v) in map {
                table.insert(short_name(k)?, amqp_value(v)?);
            }
            AMQPValue::FieldTable(table)
        }
    })
}
