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
    /// The channel or connection is gone. Through a [`SessionPublisher`]: the
    /// connection is, so the delivery cannot be settled either, and the
    /// broker will deliver it again.
    #[error("{0}")]
    Connection(#[from] lapin::Error),
    /// The broker answered: no queue took the message, or it refused it.
    #[error("{0}")]
    Refused(String),
    /// The broker nacked it: it did not store the message.
    #[error("the broker refused it (nack)")]
    Nacked,
    /// The broker closed the channel on this message, also on a fresh
    /// channel (an exchange that does not exist, a body over the
    /// broker's maximum message size).
    #[error("the broker closed the channel on it: {0}")]
    Closed(String),
    /// Never sent: AMQP cannot carry it (a name over 255 bytes, headers
    /// larger than a frame, which would close the whole connection).
    #[error("it cannot be sent: {0}")]
    Invalid(String),
}

/// A session's confirm channel, opened again when the broker nacks a
/// publish or closes the channel, and that publish repeated once on the
/// new channel.
///
/// Why: a nack is the broker saying it did not store the message, and on a
/// cluster one comes from a channel whose quorum-queue leader went away
/// with its node; such a channel can keep refusing after a new leader is
/// elected, while a new channel publishes at once. A channel the broker
/// closed fails every publish in flight on it, each message's own and the
/// others'; on a fresh channel only the message that caused it fails
/// again. A second nack or close is a real refusal and is returned.
pub struct SessionPublisher {
    connection: std::sync::Arc<lapin::Connection>,
    channel: tokio::sync::Mutex<Channel>,
}

impl SessionPublisher {
    /// # Errors
    /// The channel cannot be opened or put in confirm mode.
    pub async fn open(
        connection: std::sync::Arc<lapin::Connection>,
    ) -> Result<SessionPublisher, crate::broker::BrokerError> {
        let channel = crate::broker::confirm_channel(&connection).await?;
        Ok(SessionPublisher {
            connection,
            channel: tokio::sync::Mutex::new(channel),
        })
    }

    /// Whether the connection is up: a publish that failed while it is
    /// was refused for its own message.
    pub fn connected(&self) -> bool {
        self.connection.status().connected()
    }

    /// As [`publish`], on this session's channel, after checking that the
    /// message fits the connection's frame size.
    ///
    /// # Errors
    /// As [`publish`]; [`PublishError::Closed`] when the broker closed
    /// the channel on this message twice.
    pub async fn publish(
        &self,
        exchange: &str,
        key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        fits(&properties, self.connection.configuration().frame_max())?;
        let mut used = self.channel.lock().await.clone();
        if !used.status().connected() && self.connected() {
            used = self.reopen(&used, "it was closed").await?;
        }
        match publish(&used, exchange, key, body, properties.clone()).await {
            Err(PublishError::Nacked) => {
                let fresh = self.reopen(&used, "the broker nacked a publish").await?;
                publish(&fresh, exchange, key, body, properties).await
            }
            Err(PublishError::Connection(_)) if self.connected() => {
                let fresh = self.reopen(&used, "the broker closed it").await?;
                match publish(&fresh, exchange, key, body, properties).await {
                    Err(PublishError::Connection(e)) if self.connected() => {
                        Err(PublishError::Closed(e.to_string()))
                    }
                    other => other,
                }
            }
            other => other,
        }
    }

    /// A new channel in place of `used`, unless another publish has
    /// replaced it already; the old one is closed.
    async fn reopen(&self, used: &Channel, why: &str) -> Result<Channel, PublishError> {
        let mut current = self.channel.lock().await;
        if current.id() == used.id() {
            let fresh = crate::broker::confirm_channel(&self.connection)
                .await
                .map_err(|e| PublishError::Closed(format!("no new channel opened: {e}")))?;
            let old = std::mem::replace(&mut *current, fresh);
            tracing::info!("publishing on a new channel: {why}");
            tokio::spawn(async move {
                let _ = old.close(200, "replaced".into()).await;
            });
        }
        Ok(current.clone())
    }
}

/// Bytes of a content header frame besides the properties: the frame's
/// own header and end (8), class, weight and body size (12).
const HEADER_FRAME_OVERHEAD: usize = 20;

/// Checks that `properties` fit in one frame of `frame_max` bytes, as
/// lapin will encode them: headers cannot span frames, and the broker
/// answers an oversized header frame by closing the whole connection,
/// which would bring the message (and every other in flight) back to be
/// handled again.
///
/// # Errors
/// [`PublishError::Invalid`], saying how large they are.
pub fn fits(properties: &BasicProperties, frame_max: u32) -> Result<(), PublishError> {
    let encoded = cookie_factory::gen_simple(
        lapin::protocol::basic::gen_properties(properties),
        Vec::new(),
    )
    .map_err(|e| PublishError::Invalid(format!("its properties cannot be encoded: {e}")))?;
    let limit = usize::try_from(frame_max)
        .unwrap_or(usize::MAX)
        .saturating_sub(HEADER_FRAME_OVERHEAD);
    if encoded.len() > limit {
        return Err(PublishError::Invalid(format!(
            "its headers and properties take {} bytes, more than the {limit} a frame of {frame_max} bytes holds; send large data in the body",
            encoded.len()
        )));
    }
    Ok(())
}

/// Publishes and waits for the broker's confirm.
///
/// # Errors
/// The broker returned or refused the message, the channel is gone, or
/// the exchange or key is longer than AMQP allows.
pub async fn publish(
    channel: &Channel,
    exchange: &str,
    key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Result<(), PublishError> {
    let short =
        |what, text| short_string(what, text).map_err(|e| PublishError::Invalid(e.to_string()));
    let confirm = channel
        .basic_publish(
            short("exchange name", exchange)?,
            short("routing key", key)?,
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
    /// The exchange to publish to: the emit's, or the delay exchange in
    /// front of it.
    pub exchange: String,
    /// The routing key to publish with.
    pub key: String,
    /// The body, as JSON bytes.
    pub body: Vec<u8>,
    /// Its properties: a new message id, the JSON content type, a timestamp,
    /// the correlation id (the input's, or its message id) and the event's
    /// headers.
    pub properties: BasicProperties,
}

/// Why a handler's events are not published; the text says which event
/// and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsendable {
    /// Its key is not declared under `emits:`, or its exchange is
    /// ambiguous.
    #[error("{0}")]
    Undeclared(String),
    /// AMQP cannot carry it (a header name over 255 bytes).
    #[error("{0}")]
    Invalid(String),
}

/// The events as messages, after checking each against what `service`
/// declares under `emits:`. All or none: one bad event and nothing is
/// published.
///
/// # Errors
/// An event's key is not declared, its exchange is ambiguous, or a
/// header name is longer than AMQP allows.
pub fn prepare(
    service: &Service,
    input: &Message,
    events: &[Event],
) -> Result<Vec<Outgoing>, Unsendable> {
    events
        .iter()
        .map(|event| {
            let emit = declared_emit(service, event)?;
            let body =
                serde_json::to_vec(&event.body).map_err(|e| Unsendable::Invalid(e.to_string()))?;
            let properties = properties(input, event).map_err(|e| {
                Unsendable::Invalid(format!(
                    "the event {:?} cannot be sent: {e}",
                    super::headers::capped(&event.key, 200)
                ))
            })?;
            Ok(Outgoing {
                exchange: emit.publish_exchange(),
                key: event.key.clone(),
                body,
                properties,
            })
        })
        .collect()
}

/// The emit an event is: its key on the exchange it names, or on the only
/// exchange its key is declared for. The emit says where to publish
/// (a delayed emit goes to its delay exchange).
///
/// # Errors
/// [`Unsendable::Undeclared`]: no emit, or several, fit the event.
pub fn declared_emit<'s>(service: &'s Service, event: &Event) -> Result<&'s Emit, Unsendable> {
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
            Err(Unsendable::Undeclared(format!(
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
            )))
        }
        several => Err(Unsendable::Undeclared(format!(
            "service {:?} emits {:?} on several exchanges ({}): name one with \"exchange\"",
            service.name,
            event.key,
            several
                .iter()
                .map(|e| e.exchange.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// A new message id, the input's correlation id (or its message id when it
/// has none), JSON, and the event's headers (warren's own left out).
fn properties(input: &Message, event: &Event) -> Result<BasicProperties, Unsendable> {
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
///
/// # Errors
/// [`Unsendable::Invalid`]: an empty id, or an id or a header name longer
/// than AMQP's 255 bytes.
pub fn json_properties(
    message_id: &str,
    correlation_id: Option<&str>,
    headers: &crate::routing::Headers,
) -> Result<BasicProperties, Unsendable> {
    if message_id.is_empty() {
        return Err(Unsendable::Invalid(
            "the message id is empty: give one, or leave it out for a new one".into(),
        ));
    }
    let mut properties = BasicProperties::default()
        .with_message_id(short_string("message id", message_id)?)
        .with_content_type("application/json".into())
        .with_timestamp(now_millis() / 1000);
    if let Some(correlation) = correlation_id {
        properties = properties.with_correlation_id(short_string("correlation id", correlation)?);
    }
    if !headers.is_empty() {
        properties = properties.with_headers(
            crate::broker::amqp_headers(headers).map_err(|e| Unsendable::Invalid(e.to_string()))?,
        );
    }
    Ok(properties)
}

/// `text` as an AMQP short string, or why it cannot be one; `what` names
/// it in the error.
fn short_string(what: &str, text: &str) -> Result<ShortString, Unsendable> {
    ShortString::try_new(text).map_err(|_| {
        Unsendable::Invalid(format!(
            "the {what} is {} bytes long; AMQP allows at most 255",
            text.len()
        ))
    })
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
            asserts: Vec::new(),
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
        let Err(Unsendable::Undeclared(ambiguous)) = ambiguous else {
            panic!("{ambiguous:?}")
        };
        assert!(ambiguous.contains("several exchanges"));
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
        let Err(Unsendable::Undeclared(refused)) = prepare(&s, &input(), &batch) else {
            panic!("undeclared")
        };
        assert!(
            refused.contains("does not declare the routing key \"order.shipped\""),
            "{refused}"
        );
    }
}
