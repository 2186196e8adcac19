//! Publishing what a worker sends on: emitted events, retries and dead
//! letters. Every publish is persistent and `mandatory`, on a channel in
//! confirm mode, and counts as done only when the broker acks it without
//! returning it: lapin resolves a returned message as `Ack(Some(..))`.

use lapin::options::BasicPublishOptions;
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel, Confirmation};

use super::{Event, Message};
use crate::topology::{Emit, Service};

/// Why a publish did not land.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The channel or connection is gone: the delivery cannot be settled
    /// either, and the broker will redeliver it.
    #[error("{0}")]
    Connection(#[from] lapin::Error),
    /// The broker answered: no queue took the message, or it refused it.
    #[error("{0}")]
    Refused(String),
    /// The broker nacked it: it did not store the message.
    #[error("the broker refused it (nack)")]
    Nacked,
}

/// A session's confirm channel, opened again when the broker nacks a
/// publish, and that publish repeated once on the new channel.
///
/// Why: a nack is the broker saying it did not store the message, and on a
/// cluster one comes from a channel whose quorum-queue leader went away
/// with its node; such a channel can keep refusing after a new leader is
/// elected, while a new channel publishes at once. A second nack is a real
/// refusal (a full queue with `reject-publish`) and is returned.
pub struct Publisher {
    connection: std::sync::Arc<lapin::Connection>,
    channel: tokio::sync::Mutex<Channel>,
}

impl Publisher {
    /// # Errors
    /// The channel cannot be opened or put in confirm mode.
    pub async fn open(
        connection: std::sync::Arc<lapin::Connection>,
    ) -> Result<Publisher, crate::broker::BrokerError> {
        let channel = crate::broker::confirm_channel(&connection).await?;
        Ok(Publisher {
            connection,
            channel: tokio::sync::Mutex::new(channel),
        })
    }

    /// As [`publish`], on this session's channel.
    ///
    /// # Errors
    /// As [`publish`].
    pub async fn publish(
        &self,
        exchange: &str,
        key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let used = self.channel.lock().await.clone();
        match publish(&used, exchange, key, body, properties.clone()).await {
            Err(PublishError::Nacked) => {
                let fresh = self.reopen(&used).await?;
                publish(&fresh, exchange, key, body, properties).await
            }
            other => other,
        }
    }

    /// A new channel in place of `used`, unless another publish has
    /// replaced it already; the old one is closed.
    async fn reopen(&self, used: &Channel) -> Result<Channel, PublishError> {
        let mut current = self.channel.lock().await;
        if current.id() == used.id() {
            let fresh = crate::broker::confirm_channel(&self.connection)
                .await
                .map_err(|e| PublishError::Refused(e.to_string()))?;
            let old = std::mem::replace(&mut *current, fresh);
            tracing::info!("the broker nacked a publish: publishing on a new channel");
            tokio::spawn(async move {
                let _ = old.close(200, "replaced after a nack".into()).await;
            });
        }
        Ok(current.clone())
    }
}

/// Publishes and waits for the broker's confirm.
///
/// # Errors
/// The broker returned or refused the message, or the channel is gone.
pub async fn publish(
    channel: &Channel,
    exchange: &str,
    key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Result<(), PublishError> {
    let confirm = channel
        .basic_publish(
            ShortString::from(exchange),
            ShortString::from(key),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            body,
            properties.with_delivery_mode(2),
        )
        .await?
        .await?;
    match confirm {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(returned)) => Err(PublishError::Refused(format!(
            "no queue took it (returned: {})",
            returned.reply_text
        ))),
        Confirmation::Nack(_) => Err(PublishError::Nacked),
        Confirmation::NotRequested => Err(PublishError::Refused(
            "the channel is not in confirm mode".into(),
        )),
    }
}

/// An event ready to publish.
#[derive(Debug)]
pub struct Outgoing {
    pub exchange: String,
    pub key: String,
    pub body: Vec<u8>,
    pub properties: BasicProperties,
}

/// The events as messages, after checking each against what `service`
/// declares under `emits:`. All or none: one undeclared key and nothing
/// is published.
///
/// # Errors
/// An event's key is not declared, or its exchange is ambiguous; the text
/// says which and how to fix it.
pub fn prepare(
    service: &Service,
    input: &Message,
    events: &[Event],
) -> Result<Vec<Outgoing>, String> {
    events
        .iter()
        .map(|event| {
            let emit = declared_emit(service, event)?;
            let body = serde_json::to_vec(&event.body).map_err(|e| e.to_string())?;
            Ok(Outgoing {
                exchange: emit.publish_exchange(),
                key: event.key.clone(),
                body,
                properties: properties(input, event),
            })
        })
        .collect()
}

/// The emit an event is: its key on the exchange it names, or on the only
/// exchange its key is declared for. The emit says where to publish
/// (a delayed emit goes to its delay exchange).
pub fn declared_emit<'s>(service: &'s Service, event: &Event) -> Result<&'s Emit, String> {
    let declared: Vec<&Emit> = service
        .emits
        .iter()
        .filter(|e| e.key == event.key)
        .filter(|e| event.exchange.as_deref().is_none_or(|x| x == e.exchange))
        .collect();
    match declared.as_slice() {
        [one] => Ok(one),
        [] => {
            let keys: Vec<&str> = service.emits.iter().map(|e| e.key.as_str()).collect();
            Err(format!(
                "service {:?} does not declare the routing key {:?}{}; it emits {}. Add the key under `emits:` or emit a declared one",
                service.name,
                super::headers::capped(&event.key, 200),
                event
                    .exchange
                    .as_ref()
                    .map(|x| format!(" on exchange {:?}", super::headers::capped(x, 200)))
                    .unwrap_or_default(),
                if keys.is_empty() {
                    "nothing".to_string()
                } else {
                    keys.join(", ")
                }
            ))
        }
        several => Err(format!(
            "service {:?} emits {:?} on several exchanges ({}): name one with \"exchange\"",
            service.name,
            event.key,
            several
                .iter()
                .map(|e| e.exchange.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A new message id, the input's correlation id (or its message id when it
/// has none), JSON, and the event's headers (warren's own left out).
fn properties(input: &Message, event: &Event) -> BasicProperties {
    let headers: crate::routing::Headers = event
        .headers
        .iter()
        .filter(|(name, _)| !super::headers::is_warren(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    json_properties(
        &uuid::Uuid::new_v4().to_string(),
        input
            .correlation_id
            .as_ref()
            .or(input.message_id.as_ref())
            .map(String::as_str),
        &headers,
    )
}

/// The properties of a JSON message warren publishes (an event, or
/// `warren publish`): its message id, a timestamp, the correlation id and
/// headers when there are any.
pub fn json_properties(
    message_id: &str,
    correlation_id: Option<&str>,
    headers: &crate::routing::Headers,
) -> BasicProperties {
    let mut properties = BasicProperties::default()
        .with_message_id(message_id.into())
        .with_content_type("application/json".into())
        .with_timestamp(now_millis() / 1000);
    if let Some(correlation) = correlation_id {
        properties = properties.with_correlation_id(correlation.into());
    }
    if !headers.is_empty() {
        properties = properties.with_headers(crate::broker::amqp_headers(headers));
    }
    properties
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(emits: &[(&str, &str)]) -> Service {
        Service {
            name: "inventory".into(),
            queue: Some("inventory".into()),
            emits: emits
                .iter()
                .map(|(x, k)| Emit {
                    exchange: (*x).into(),
                    key: (*k).into(),
                    delay: None,
                    span: None,
                    exchange_span: None,
                })
                .collect(),
            retry: None,
            prefetch: 10,
            concurrency: 1,
            user: None,
            handler: None,
            timeout: crate::topology::DEFAULT_HANDLER_TIMEOUT,
            idempotency: None,
            origin: Default::default(),
        }
    }

    fn input() -> Message {
        Message {
            service: "inventory".into(),
            exchange: "orders".into(),
            routing_key: "order.created".into(),
            message_id: Some("m-1".into()),
            correlation_id: Some("order-7".into()),
            attempt: 1,
            headers: Default::default(),
            body: serde_json::json!({}),
        }
    }

    #[test]
    fn a_delayed_emit_goes_to_its_delay_exchange() {
        let mut s = service(&[("orders", "order.created"), ("orders", "order.remind")]);
        s.emits[1].delay = Some(crate::vocabulary::Duration::from_millis(5_000));
        let out = prepare(
            &s,
            &input(),
            &[
                Event::new("order.created", serde_json::Value::Null),
                Event::new("order.remind", serde_json::Value::Null),
            ],
        )
        .unwrap();
        assert_eq!(out[0].exchange, "orders");
        assert_eq!(out[1].exchange, "orders.delay.5s");
        assert_eq!(out[1].key, "order.remind");
    }

    #[test]
    fn declared_keys_find_their_exchange_and_undeclared_ones_refuse_the_whole_batch() {
        let s = service(&[
            ("orders", "order.checked"),
            ("audit", "order.checked"),
            ("orders", "order.failed"),
        ]);
        let ok = prepare(
            &s,
            &input(),
            &[Event::new("order.failed", serde_json::json!({"id": 7}))],
        )
        .unwrap();
        assert_eq!(ok[0].exchange, "orders");
        assert_eq!(ok[0].body, br#"{"id":7}"#);
        let props = &ok[0].properties;
        assert_eq!(props.correlation_id().as_ref().unwrap().as_str(), "order-7");
        assert_ne!(props.message_id().as_ref().unwrap().as_str(), "m-1");

        let ambiguous = prepare(
            &s,
            &input(),
            &[Event::new("order.checked", serde_json::Value::Null)],
        );
        assert!(ambiguous.unwrap_err().contains("several exchanges"));
        let mut named = Event::new("order.checked", serde_json::Value::Null);
        named.exchange = Some("audit".into());
        assert_eq!(
            prepare(&s, &input(), &[named]).unwrap()[0].exchange,
            "audit"
        );

        let batch = [
            Event::new("order.failed", serde_json::Value::Null),
            Event::new("order.shipped", serde_json::Value::Null),
        ];
        let refused = prepare(&s, &input(), &batch).unwrap_err();
        assert!(
            refused.contains("does not declare the routing key \"order.shipped\""),
            "{refused}"
        );
    }
}
