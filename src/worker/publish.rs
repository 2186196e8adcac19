//! `warren publish`: one message, checked against the spec before it goes
//! out, and confirmed by the broker after.

use std::collections::BTreeSet;

use serde_json::Value;

use super::emit::{self, PublishError};
use crate::broker::{BrokerError, Settings};
use crate::routing::{Headers, Router};
use crate::topology::{Topology, delay_exchange};
use crate::vocabulary::Duration;

/// What to publish.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Exchange; with `service`, may be left out when its key says which.
    pub exchange: Option<String>,
    /// The routing key.
    pub key: String,
    /// The body, published as JSON.
    pub body: Value,
    /// Headers to publish with.
    pub headers: Headers,
    /// The `message_id` property; `None` generates a UUID.
    pub message_id: Option<String>,
    /// The `correlation_id` property, if any.
    pub correlation_id: Option<String>,
    /// Publish as this service: the key must be one it emits, and the
    /// message goes out as the service's user.
    pub service: Option<String>,
    /// Deliver after this long, through the spec's delay queue for it.
    pub delay: Option<Duration>,
}

/// What went out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// Where it went.
    pub target: Target,
    /// Its `message_id`, given or generated.
    pub message_id: String,
}

/// Why `warren publish` did not send a message, or the broker did not take it.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The spec says the message would be refused or lost.
    #[error("{0}")]
    Refused(String),
    /// The service's user has no password in the environment (or the service is
    /// unknown).
    #[error(transparent)]
    Worker(#[from] super::WorkerError),
    /// The broker could not be reached, or the connection was lost while
    /// publishing.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// The broker did not take the message: no queue took it, it nacked it,
    /// or it closed the channel on it.
    #[error("the broker did not take the message: {0}")]
    NotTaken(String),
}

/// Where a checked request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The exchange the message is published to: `exchange`, or the delay
    /// exchange in front of it.
    pub publish_to: String,
    /// The exchange that routes it to `queues`.
    pub exchange: String,
    /// The delay before delivery, if any.
    pub delay: Option<Duration>,
    /// Where the spec says it lands (after the delay).
    pub queues: BTreeSet<String>,
}

/// Where the request goes and the queues the spec routes it to. A service's
/// emit brings its own delay; `request.delay`, when given, must agree.
///
/// # Errors
/// The service does not emit the key, the exchange is not in the spec, the
/// spec has no delay queue for the delay, or nothing receives the message.
pub fn check(topology: &Topology, request: &Request) -> Result<Target, RequestError> {
    let refused = |text: String| RequestError::Refused(text);
    let (exchange, delay) = match &request.service {
        Some(name) => {
            let service = topology.service(name).map_err(super::WorkerError::from)?;
            let event = super::Event {
                key: request.key.clone(),
                body: Value::Null,
                exchange: request.exchange.clone(),
                headers: Default::default(),
            };
            let emit = emit::declared_emit(service, &event).map_err(|e| refused(e.to_string()))?;
            if let Some(asked) = request.delay
                && emit.delay != Some(asked)
            {
                return Err(refused(format!(
                    "service {name:?} emits {:?} {}, not delayed by {asked}: the spec's emit decides the delay",
                    request.key,
                    emit.delay
                        .map_or("without a delay".to_string(), |d| format!("delayed by {d}"))
                )));
            }
            (emit.exchange.clone(), emit.delay)
        }
        None => (
            request.exchange.clone().ok_or_else(|| {
                refused(
                    "name the exchange (--exchange), or publish as a service (--service)".into(),
                )
            })?,
            request.delay,
        ),
    };
    if !exchange.is_empty() && !topology.exchanges.contains_key(&exchange) {
        return Err(refused(format!(
            "the spec declares no exchange {exchange:?}; the broker would close the channel"
        )));
    }
    let publish_to = match delay {
        Some(d) => {
            let via = delay_exchange(&exchange, d);
            if !topology.exchanges.contains_key(&via) || !topology.queues.contains_key(&via) {
                return Err(refused(format!(
                    "the spec has no delay of {d} into exchange {exchange:?}: give an emit to it `delay: {d}`, apply, and publish again"
                )));
            }
            via
        }
        None => exchange.clone(),
    };
    let route = Router::new(topology)
        .route(&exchange, &request.key, &request.headers)
        .map_err(|e| refused(e.to_string()))?;
    if route.dropped() {
        return Err(refused(format!(
            "nothing in the spec receives key {:?} on exchange {exchange:?}, so the broker would {}; `warren route` shows why",
            request.key,
            if delay.is_some() {
                "drop the message when its delay ends"
            } else {
                "return the message"
            }
        )));
    }
    Ok(Target {
        publish_to,
        exchange,
        delay,
        queues: route.queues,
    })
}

/// Checks, publishes (persistent, `mandatory`, confirmed) and reports.
///
/// # Errors
/// As [`check`]; the service's password is missing; the broker cannot be
/// reached, refuses, or returns the message.
pub async fn send(
    settings: &Settings,
    topology: &Topology,
    request: &Request,
) -> Result<Published, RequestError> {
    let target = check(topology, request)?;
    let exchange = target.publish_to.clone();
    let settings = match &request.service {
        Some(service) => super::settings_for(topology, settings, service)?,
        None => settings.clone(),
    };
    let message_id = request
        .message_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let properties = emit::json_properties(
        &message_id,
        request.correlation_id.as_deref(),
        &request.headers,
    )
    .map_err(|e| RequestError::Refused(e.to_string()))?;
    let body = serde_json::to_vec(&request.body).unwrap_or_default();
    let connection = crate::broker::connect(&settings, &topology.vhost).await?;
    let result = async {
        emit::fits(&properties, connection.configuration().frame_max())
            .map_err(|e| RequestError::Refused(format!("the message {e}")))?;
        let channel = crate::broker::confirm_channel(&connection).await?;
        emit::publish(&channel, &exchange, &request.key, &body, properties)
            .await
            .map_err(|e| not_taken(&exchange, e))?;
        Ok(Published {
            target: target.clone(),
            message_id,
        })
    }
    .await;
    let _ = connection.close(200, "published".into()).await;
    result
}

/// A failed publish to `exchange` as the caller sees it: a lost
/// connection is the broker's ([`RequestError::Broker`], publish again),
/// anything else is the message's.
pub(super) fn not_taken(exchange: &str, e: PublishError) -> RequestError {
    match e {
        PublishError::Connection(e) => RequestError::Broker(BrokerError::amqp(
            format!("publish to exchange {exchange:?}"),
            e,
        )),
        refused => RequestError::NotTaken(refused.to_string()),
    }
}
