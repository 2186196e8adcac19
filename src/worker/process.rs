//! One delivery, from receipt to settlement:
//!
//! 1. read it ([`delivery::read`]); bad input is dead-lettered at once;
//! 2. skip it if its idempotency key was handled before;
//! 3. call the handler, within the service's timeout;
//! 4. publish the events it emits, each confirmed;
//! 5. record the idempotency key;
//! 6. settle as [`verdict`] says: ack, retry through a delay queue (or
//!    back to a queue that delays it, `via: broker`), or dead-letter with
//!    the reason; a retry or dead letter is confirmed before the delivery
//!    is acked.
//!
//! When the connection goes, a delivery is abandoned wherever it is: it
//! is unacked, so the broker delivers it again (at least once).

use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;

use lapin::BasicProperties;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicRejectOptions};
use lapin::types::{AMQPValue, LongString};
use tokio_util::sync::CancellationToken;

use super::delivery::{self, with_header};
use super::emit::{self, PublishError, Publisher};
use super::handler::Handler;
use super::idempotency::{self, Store};
use super::settle::{Reason, Verdict, not_retried, verdict};
use super::{Failure, Message, headers, metrics};
use crate::topology::{Retry, Service};

/// What every delivery of one service needs.
pub struct Context {
    pub service: Service,
    /// Cancelled at shutdown: a held retry stops waiting then.
    pub shutdown: CancellationToken,
    pub handler: Arc<dyn Handler>,
    pub idempotency: Option<Store>,
}

/// Handles one delivery; `publisher` is a channel in confirm mode on the
/// same connection.
pub async fn process(cx: &Context, publisher: &Publisher, delivery: Delivery) {
    let service = cx.service.name.as_str();
    metrics::received(service);
    let retry = cx.service.retry.as_ref();
    let mut attempt = delivery::attempt(&delivery.properties, retry);
    let message = match delivery::read(
        service,
        delivery.exchange.as_str(),
        delivery.routing_key.as_str(),
        &delivery.properties,
        &delivery.data,
        attempt,
    ) {
        Ok(m) => m,
        Err((reason, text)) => {
            return settle(
                cx,
                publisher,
                &delivery,
                not_retried(reason, retry),
                &text,
                attempt,
            )
            .await;
        }
    };
    let key = match (&cx.idempotency, &cx.service.idempotency) {
        (Some(store), Some(settings)) => {
            let Some(key) = idempotency::key_of(&settings.key, &message) else {
                let text = format!(
                    "service {service:?} is idempotent on {:?}, and the message has no such key",
                    settings.key
                );
                let verdict = not_retried(Reason::MissingIdempotencyKey, retry);
                return settle(cx, publisher, &delivery, verdict, &text, attempt).await;
            };
            match store.seen(&key).await {
                Ok(true) => {
                    metrics::duplicate(service);
                    tracing::debug!(service, key, "duplicate skipped");
                    ack(service, &delivery).await;
                    return;
                }
                Ok(false) => Some((store, key, settings.ttl)),
                Err(e) => {
                    let failure = Failure::transient(e.to_string());
                    let v = verdict(Some(&failure), attempt, retry);
                    return settle(cx, publisher, &delivery, v, &failure.reason, attempt).await;
                }
            }
        }
        _ => None,
    };

    loop {
        let failure = match call(cx, publisher, &message).await {
            Called::Done(failure) => failure,
            Called::Undeclared(text) => {
                let verdict = not_retried(Reason::UndeclaredEmit, retry);
                return settle(cx, publisher, &delivery, verdict, &text, attempt).await;
            }
            Called::Lost(why) => return abandon(service, &why),
        };
        if failure.is_none()
            && let Some((store, key, ttl)) = &key
            && let Err(e) = store
                .record(key, std::time::Duration::from_millis(ttl.millis))
                .await
        {
            // The emits are out: acking is right. Only a redelivery of this
            // message would now run the handler twice.
            tracing::warn!(service, key, "could not record the message as handled: {e}");
        }
        let text = failure
            .as_ref()
            .map(|f| f.reason.clone())
            .unwrap_or_default();
        if let Some(f) = &failure {
            tracing::info!(
                service,
                attempt,
                permanent = f.permanent,
                "handler failed: {}",
                headers::capped(&f.reason, 500)
            );
        }
        let verdict = verdict(failure.as_ref(), attempt, retry);
        // A held retry waits here, its delivery unacked, and calls again.
        if let (Verdict::Retry { delay }, Some(r)) = (verdict, retry)
            && r.held
        {
            let wait = std::time::Duration::from_millis(r.delays[delay].millis);
            tokio::select! {
                () = cx.shutdown.cancelled() => {
                    let text = format!("{text} (the instance shut down before its retry in {})", r.delays[delay]);
                    let verdict = Verdict::DeadLetter(Reason::RetryInterrupted);
                    return settle(cx, publisher, &delivery, verdict, &text, attempt).await;
                }
                () = tokio::time::sleep(wait) => {}
            }
            metrics::retried(service);
            attempt = attempt.saturating_add(1);
            continue;
        }
        return settle(cx, publisher, &delivery, verdict, &text, attempt).await;
    }
}

/// How one call of the handler ended.
enum Called {
    /// Its events are out (no failure), or it failed.
    Done(Option<Failure>),
    /// It emitted a key its service does not declare; nothing was sent.
    Undeclared(String),
    /// The connection went while its events were being sent.
    Lost(String),
}

/// Calls the handler within the service's timeout and publishes what it
/// emits, each event confirmed.
async fn call(cx: &Context, publisher: &Publisher, message: &Message) -> Called {
    let service = cx.service.name.as_str();
    let started = Instant::now();
    let in_flight = metrics::InFlight::start(service);
    let timeout = std::time::Duration::from_millis(cx.service.timeout.millis);
    // A handler that panics fails its message (transient), never the worker.
    let call = std::panic::AssertUnwindSafe(cx.handler.call(message.clone())).catch_unwind();
    let outcome = match tokio::time::timeout(timeout, call).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(panic)) => Err(Failure::transient(format!(
            "the handler panicked: {}",
            panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        ))),
        Err(_) => Err(Failure::transient(format!(
            "the handler did not finish within {}",
            cx.service.timeout
        ))),
    };
    drop(in_flight);
    metrics::handled(service, started.elapsed());
    let events = match outcome {
        Err(failure) => return Called::Done(Some(failure)),
        Ok(events) => events,
    };
    let outgoing = match emit::prepare(&cx.service, message, &events) {
        Err(text) => return Called::Undeclared(text),
        Ok(outgoing) => outgoing,
    };
    let count = outgoing.len();
    match publish_all(publisher, outgoing).await {
        Ok(()) => {
            metrics::emitted(service, count);
            Called::Done(None)
        }
        Err(PublishError::Connection(e)) => Called::Lost(e.to_string()),
        Err(refused) => Called::Done(Some(Failure::transient(format!(
            "an emitted event was not taken: {refused}"
        )))),
    }
}

/// Publishes every outgoing event at once and waits for all the confirms.
async fn publish_all(
    publisher: &Publisher,
    outgoing: Vec<emit::Outgoing>,
) -> Result<(), PublishError> {
    let sends = outgoing.into_iter().map(|o| async move {
        publisher
            .publish(&o.exchange, &o.key, &o.body, o.properties)
            .await
    });
    for result in futures_util::future::join_all(sends).await {
        result?;
    }
    Ok(())
}

/// Carries out `verdict` on `delivery`; `error` is the failure's text.
async fn settle(
    cx: &Context,
    publisher: &Publisher,
    delivery: &Delivery,
    verdict: Verdict,
    error: &str,
    attempt: u32,
) {
    let service = cx.service.name.as_str();
    let retry = cx.service.retry.as_ref();
    match (verdict, retry) {
        (Verdict::Ack, _) => {
            if ack(service, delivery).await {
                metrics::acked(service);
            }
        }
        (Verdict::Retry { delay }, Some(retry)) => {
            let key = Retry::key_for(retry.delays[delay]);
            let attempt = attempt.saturating_add(1);
            let properties = carried(
                delivery,
                &[(headers::ATTEMPT, AMQPValue::LongLongInt(attempt.into()))],
            );
            forward(
                cx,
                publisher,
                delivery,
                &retry.exchange,
                &key,
                properties,
                || {
                    metrics::retried(service);
                },
            )
            .await;
        }
        (Verdict::DeadLetter(reason), Some(retry)) => {
            let text = |s: &str| AMQPValue::LongString(LongString::from(s));
            let properties = carried(
                delivery,
                &[
                    (headers::REASON, text(reason.as_str())),
                    (
                        headers::ERROR,
                        text(&headers::capped(error, headers::MAX_ERROR_TEXT)),
                    ),
                    (headers::ATTEMPT, AMQPValue::LongLongInt(attempt.into())),
                    (headers::SERVICE, text(service)),
                    (
                        headers::DEAD_LETTERED_AT,
                        AMQPValue::LongLongInt(
                            i64::try_from(emit::now_millis()).unwrap_or(i64::MAX),
                        ),
                    ),
                ],
            );
            tracing::warn!(
                service,
                reason = reason.as_str(),
                "dead-lettered: {}",
                headers::capped(error, 500)
            );
            forward(
                cx,
                publisher,
                delivery,
                &retry.exchange,
                Retry::DEAD_LETTER_KEY,
                properties,
                || {
                    metrics::dead_lettered(service, reason.as_str());
                },
            )
            .await;
        }
        (Verdict::Requeue, _) => {
            // The queue counts this failure and delays the redelivery.
            if requeue(service, delivery).await {
                metrics::retried(service);
            }
        }
        (Verdict::Reject(reason), _) | (Verdict::DeadLetter(reason), None) => {
            tracing::warn!(
                service,
                reason = reason.as_str(),
                "rejected (the service has no retry chain; the queue's dead-letter settings apply): {}",
                headers::capped(error, 500)
            );
            if reject(service, delivery).await {
                metrics::rejected(service, reason.as_str());
            }
        }
        (Verdict::Retry { .. }, None) => {
            // verdict() gives a retry only to a service with a chain.
            reject(service, delivery).await;
        }
    }
}

/// Republishes `delivery` to `exchange` with `properties`, then acks it.
/// When the broker does not take the copy, the delivery is rejected
/// instead: its queue dead-letters to the service's DLQ, so the broker
/// itself moves it there.
async fn forward(
    cx: &Context,
    publisher: &Publisher,
    delivery: &Delivery,
    exchange: &str,
    key: &str,
    properties: BasicProperties,
    counted: impl FnOnce(),
) {
    let service = cx.service.name.as_str();
    match publisher
        .publish(exchange, key, &delivery.data, properties)
        .await
    {
        Ok(()) => {
            if ack(service, delivery).await {
                counted();
            }
        }
        Err(PublishError::Connection(e)) => abandon(service, &e.to_string()),
        Err(refused) => {
            let text = refused.to_string();
            tracing::error!(
                service,
                exchange,
                key,
                "the broker did not take the message ({text}); rejecting it into the queue's dead-letter queue"
            );
            if reject(service, delivery).await {
                metrics::rejected(service, "forward-refused");
            }
        }
    }
}

/// The delivery's properties with `set` headers, and where it was first
/// published (kept from an earlier retry, or taken from the delivery).
fn carried(delivery: &Delivery, set: &[(&str, AMQPValue)]) -> BasicProperties {
    let (exchange, routing_key) = delivery::origin(
        delivery.exchange.as_str(),
        delivery.routing_key.as_str(),
        &delivery.properties,
    );
    let mut table = delivery.properties.headers().clone().unwrap_or_default();
    for (name, value) in [
        (headers::EXCHANGE, exchange),
        (headers::ROUTING_KEY, routing_key),
    ] {
        table = with_header(&table, name, AMQPValue::LongString(LongString::from(value)));
    }
    for (name, value) in set {
        table = with_header(&table, name, value.clone());
    }
    delivery.properties.clone().with_headers(table)
}

/// Acks; false (and a warning) when the ack could not be sent, because
/// the channel closed: the broker then delivers the message again.
async fn ack(service: &str, delivery: &Delivery) -> bool {
    match delivery.acker.ack(BasicAckOptions::default()).await {
        Ok(true) => true,
        Ok(false) => {
            abandon(service, "the channel closed before the ack");
            false
        }
        Err(e) => {
            abandon(service, &e.to_string());
            false
        }
    }
}

async fn reject(service: &str, delivery: &Delivery) -> bool {
    reject_with(service, delivery, false).await
}

/// A reject (not a nack): RabbitMQ 4.3 counts it as a failed delivery,
/// which a broker retry delays and counts.
async fn requeue(service: &str, delivery: &Delivery) -> bool {
    reject_with(service, delivery, true).await
}

async fn reject_with(service: &str, delivery: &Delivery, requeue: bool) -> bool {
    match delivery.acker.reject(BasicRejectOptions { requeue }).await {
        Ok(true) => true,
        Ok(false) => {
            abandon(service, "the channel closed before the reject");
            false
        }
        Err(e) => {
            abandon(service, &e.to_string());
            false
        }
    }
}

fn abandon(service: &str, why: &str) {
    metrics::abandoned(service);
    tracing::warn!(
        service,
        "delivery left unsettled ({why}); the broker delivers it again"
    );
}
