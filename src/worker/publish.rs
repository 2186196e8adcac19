//! `warren publish`: one message, checked against the spec before it goes
//! out, and confirmed by the broker after.

use std::collections::BTreeSet;

use serde_json::Value;

use super::emit::{self, PublishError};
use crate::broker::{BrokerError, Settings};
use crate::routing::{Headers, Router};
use crate::topology::Topology;

/// What to publish.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Exchange; with `service`, may be left out when its key says which.
    pub exchange: Option<String>,
    pub key: String,
    pub body: Value,
    pub headers: Headers,
    pub message_id: Option<String>,
    pub correlation_id: Option<String>,
    /// Publish as this service: the key must be one it emits, and the
    /// message goes out as the service's user.
    pub service: Option<String>,
}

/// What went out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub exchange: String,
    pub message_id: String,
    /// Where the spec says it lands.
    pub queues: BTreeSet<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The spec says the message would be refused or lost.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Worker(#[from] super::WorkerError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error("the broker did not take the message: {0}")]
    NotTaken(String),
}

/// The exchange the request goes to and the queues the spec routes it to.
///
/// # Errors
/// The service does not emit the key, the exchange is not in the spec, or
/// nothing receives the message.
pub fn check(
    topology: &Topology,
    request: &Request,
) -> Result<(String, BTreeSet<String>), RequestError> {
    let refused = |text: String| RequestError::Refused(text);
    let exchange = match &request.service {
        Some(name) => {
            let service = topology
                .services
                .get(name)
                .ok_or_else(|| refused(format!("the spec has no service {name:?}")))?;
            let event = super::Event {
                key: request.key.clone(),
                body: Value::Null,
                exchange: request.exchange.clone(),
                headers: Default::default(),
            };
            emit::exchange_for(service, &event).map_err(refused)?
        }
        None => request.exchange.clone().ok_or_else(|| {
            refused("name the exchange (--exchange), or publish as a service (--service)".into())
        })?,
    };
    if !exchange.is_empty() && !topology.exchanges.contains_key(&exchange) {
        return Err(refused(format!(
            "the spec declares no exchange {exchange:?}; the broker would close the channel"
        )));
    }
    let route = Router::new(topology)
        .route(&exchange, &request.key, &request.headers)
        .map_err(|e| refused(e.to_string()))?;
    if route.dropped() {
        return Err(refused(format!(
            "nothing in the spec receives key {:?} on exchange {exchange:?}, so the broker would return the message; `warren route` shows why",
            request.key
        )));
    }
    Ok((exchange, route.queues))
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
    let (exchange, queues) = check(topology, request)?;
    let settings = match &request.service {
        Some(service) => super::settings_for(topology, settings, service)?,
        None => settings.clone(),
    };
    let connection = crate::broker::connect(&settings, &topology.vhost).await?;
    let result = async {
        let channel = crate::broker::confirm_channel(&connection).await?;
        let message_id = request
            .message_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let properties = emit::json_properties(
            &message_id,
            request.correlation_id.as_deref(),
            &request.headers,
        );
        let body = serde_json::to_vec(&request.body).unwrap_or_default();
        emit::publish(&channel, &exchange, &request.key, &body, properties)
            .await
            .map_err(|e| match e {
                PublishError::Connection(e) => RequestError::Broker(BrokerError::amqp(
                    format!("publish to exchange {exchange:?}"),
                    e,
                )),
                PublishError::Refused(r) => RequestError::NotTaken(r),
            })?;
        Ok(Published {
            exchange: exchange.clone(),
            message_id,
            queues,
        })
    }
    .await;
    let _ = connection.close(200, "published".into()).await;
    result
}
