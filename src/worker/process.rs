//! One delivery, from receipt to settlement, along one path:
//!
//! 1. [`handle`] decides an [`Outcome`]: it reads the delivery
//!    ([`delivery::read`]; bad input is dead-lettered at once), skips a
//!    duplicate, calls the handler within the service's timeout and
//!    publishes the events it emits, each confirmed, and takes
//!    [`verdict`]'s word on a failure;
//! 2. [`settle`] carries the outcome out, the one place a delivery is
//!    acked, rejected, forwarded to a retry or the DLQ, or left unsettled.
//!
//! A delivery whose channel has closed is never handled: it is already on
//! its way back to the queue. When the connection goes mid-way, the
//! delivery is abandoned wherever it is: it is unacked, so the broker
//! delivers it again (at least once). A failure shared by every message
//! in flight (a crashed handler process, a lost connection) is charged
//! only to a message that meets it alone ([`super::suspects`]).

use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;

use lapin::BasicProperties;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use lapin::types::{AMQPValue, LongString};
use tokio_util::sync::CancellationToken;

use super::delivery::{self, with_header};
use super::emit::{self, PublishError, SessionPublisher};
use super::handler::Handler;
use super::hold::{self, Gate};
use super::idempotency::{self, Store};
use super::metrics::{self, Health};
use super::settle::{Reason, Verdict, not_retried, verdict};
use super::suspects::{self, MAX_SOLO_LOSSES, Suspects};
use super::{Failure, Message, headers};
use crate::topology::{Retry, Service};

/// What every delivery of one service needs, for the worker's life.
pub struct Context {
    pub service: Service,
    /// Cancelled at shutdown: a held retry stops waiting then.
    pub shutdown: CancellationToken,
    pub handler: Arc<dyn Handler>,
    pub idempotency: Option<Store>,
    pub health: Health,
    /// Closed while a settled message's copy is held ([`hold`]).
    pub gate: Gate,
    pub suspects: Suspects,
    /// How long a held message is kept before it is returned.
    pub hold_limit: std::time::Duration,
}

/// The session a delivery came on: its consuming channel, and the
/// confirm channel beside it on the same connection.
pub struct Link {
    pub consuming: lapin::Channel,
    pub publisher: SessionPublisher,
}

impl Link {
    /// Whether the delivery can still be settled.
    fn alive(&self) -> bool {
        self.consuming.status().connected()
    }
}

/// How a delivery ends.
enum Outcome {
    /// Handled before (idempotency): ack without counting it handled.
    Duplicate,
    /// What [`verdict`] decided, with the failure's text.
    Settle {
        verdict: Verdict,
        error: String,
        attempt: u32,
    },
    /// Leave it unsettled: the channel is gone, and the broker delivers it
    /// again.
    Abandon(String),
}

impl Outcome {
    fn settle(verdict: Verdict, error: impl Into<String>, attempt: u32) -> Outcome {
        Outcome::Settle {
            verdict,
            error: error.into(),
            attempt,
        }
    }
}

/// Handles one delivery and settles it.
pub async fn process(cx: &Context, link: &Link, mut delivery: Delivery) {
    let service = cx.service.name.as_str();
    metrics::received(service);
    if !moved_by_warren(&cx.service, &delivery) {
        // A publisher's own x-warren-* headers would forge the message's
        // origin or attempt: only a message warren moved carries them.
        if let Some(table) = delivery.properties.headers() {
            let kept = delivery::without_warren_headers(table);
            delivery.properties = delivery.properties.clone().with_headers(kept);
        }
    }
    let id = suspects::identity(
        delivery
            .properties
            .message_id()
            .as_ref()
            .map(|s| s.as_str()),
        &delivery.data,
    );
    let in_hand = cx.health.in_hand(service);
    let outcome = if link.alive() {
        handle(cx, link, &delivery, id).await
    } else {
        Outcome::Abandon("its channel closed before it was handled".into())
    };
    drop(in_hand);
    settle(cx, link, &delivery, id, outcome).await;
}

/// Whether the delivery came back through warren's own routes: a delay
/// queue or a migration (the default exchange), or the service's retry
/// exchange.
fn moved_by_warren(service: &Service, delivery: &Delivery) -> bool {
    let exchange = delivery.exchange.as_str();
    exchange.is_empty()
        || service
            .retry
            .as_ref()
            .is_some_and(|r| r.exchange == exchange)
}

/// Decides what becomes of a delivery; sends nothing but the handler's
/// events.
async fn handle(cx: &Context, link: &Link, delivery: &Delivery, id: u64) -> Outcome {
    let service = cx.service.name.as_str();
    let retry = cx.service.retry.as_ref();
    let mut attempt = delivery::attempt(&delivery.properties, retry);
    if cx.suspects.losses(id).unwrap_or(0) >= MAX_SOLO_LOSSES {
        let text = format!(
            "the connection was lost each of the {MAX_SOLO_LOSSES} times this message was handled alone; look at what its handler emits"
        );
        return Outcome::settle(not_retried(Reason::KillsConnection, retry), text, attempt);
    }
    let message = match delivery::read(
        service,
        delivery.exchange.as_str(),
        delivery.routing_key.as_str(),
        &delivery.properties,
        &delivery.data,
        attempt,
    ) {
        Ok(m) => m,
        Err((reason, text)) => return Outcome::settle(not_retried(reason, retry), text, attempt),
    };
    let key = match (&cx.idempotency, &cx.service.idempotency) {
        (Some(store), Some(settings)) => {
            let Some(key) = idempotency::key_of(&settings.key, &message) else {
                let text = format!(
                    "service {service:?} is idempotent on {:?}, and the message has no such key",
                    settings.key
                );
                return Outcome::settle(
                    not_retried(Reason::MissingIdempotencyKey, retry),
                    text,
                    attempt,
                );
            };
            match store.seen(&key).await {
                Ok(true) => {
                    metrics::duplicate(service);
                    tracing::debug!(service, key, "duplicate skipped");
                    return Outcome::Duplicate;
                }
                Ok(false) => Some((store, key, settings.ttl)),
                Err(e) => {
                    let failure = Failure::transient(e.to_string());
                    let v = verdict(Some(&failure), attempt, retry);
                    return Outcome::settle(v, failure.reason, attempt);
                }
            }
        }
        _ => None,
    };

    loop {
        let turn = cx.suspects.turn(id).await;
        if !link.alive() {
            return Outcome::Abandon("its channel closed while it waited its turn".into());
        }
        let failure = match call(cx, &link.publisher, &message).await {
            Called::Done(Some(f)) if f.crashed && !turn.alone() => {
                // Perhaps another message's doing: run it again, alone,
                // without charging an attempt.
                tracing::info!(
                    service,
                    "{}; running the message again alone",
                    headers::capped(&f.reason, 200)
                );
                cx.suspects.suspect(id, false);
                continue;
            }
            Called::Done(failure) => failure,
            Called::Refused(reason, text) => {
                return Outcome::settle(not_retried(reason, retry), text, attempt);
            }
            Called::Lost(why) => {
                // A frame the broker sent too large for the connection is
                // another message's doing (see consume.rs), never this one's.
                let incoming = why.contains("frame too large");
                cx.suspects.suspect(id, turn.alone() && !incoming);
                return Outcome::Abandon(why);
            }
        };
        drop(turn);
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
                    return Outcome::settle(Verdict::DeadLetter(Reason::RetryInterrupted), text, attempt);
                }
                () = tokio::time::sleep(wait) => {}
            }
            metrics::retried(service);
            attempt = attempt.saturating_add(1);
            continue;
        }
        return Outcome::settle(verdict, text, attempt);
    }
}

/// How one call of the handler ended.
enum Called {
    /// Its events are out (no failure), or it failed.
    Done(Option<Failure>),
    /// Its events cannot be sent as they are (an undeclared key, a header
    /// AMQP cannot carry); nothing was sent.
    Refused(Reason, String),
    /// The connection went while its events were being sent.
    Lost(String),
}

/// Calls the handler within the service's timeout and publishes what it
/// emits, each event confirmed.
async fn call(cx: &Context, publisher: &SessionPublisher, message: &Message) -> Called {
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
        Err(emit::Unsendable::Undeclared(text)) => {
            return Called::Refused(Reason::UndeclaredEmit, text);
        }
        Err(emit::Unsendable::Invalid(text)) => return Called::Refused(Reason::InvalidEvent, text),
        Ok(outgoing) => outgoing,
    };
    let count = outgoing.len();
    match publish_all(publisher, outgoing).await {
        Ok(()) => {
            metrics::emitted(service, count);
            Called::Done(None)
        }
        Err(e) if !publisher.connected() => Called::Lost(e.to_string()),
        Err(PublishError::Invalid(text)) => Called::Refused(
            Reason::InvalidEvent,
            format!("an emitted event cannot be sent: {text}"),
        ),
        Err(refused) => Called::Done(Some(Failure::transient(format!(
            "an emitted event was not taken: {refused}"
        )))),
    }
}

/// Publishes every outgoing event at once and waits for all the confirms.
async fn publish_all(
    publisher: &SessionPublisher,
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

/// Carries out `outcome` on `delivery`: the one place a delivery is
/// settled.
async fn settle(cx: &Context, link: &Link, delivery: &Delivery, id: u64, outcome: Outcome) {
    let service = cx.service.name.as_str();
    let retry = cx.service.retry.as_ref();
    let (verdict, error, attempt) = match outcome {
        Outcome::Abandon(why) => return abandon(service, &why),
        Outcome::Duplicate => {
            ack(service, delivery).await;
            return cx.suspects.clear(id);
        }
        Outcome::Settle {
            verdict,
            error,
            attempt,
        } => (verdict, error, attempt),
    };
    if !matches!(verdict, Verdict::Retry { .. } | Verdict::Requeue) {
        cx.suspects.clear(id);
    }
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
            let copy = Copy {
                exchange: &retry.exchange,
                key: &key,
                properties,
            };
            if forward(cx, link, delivery, &copy).await {
                metrics::retried(service);
            }
        }
        (Verdict::DeadLetter(reason), Some(retry)) => {
            let text = |s: &str| AMQPValue::LongString(LongString::from(s));
            let properties = carried(
                delivery,
                &[
                    (headers::REASON, text(reason.as_str())),
                    (
                        headers::ERROR,
                        text(&headers::capped(&error, headers::MAX_ERROR_TEXT)),
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
                "dead-lettering: {}",
                headers::capped(&error, 500)
            );
            let copy = Copy {
                exchange: &retry.exchange,
                key: Retry::DEAD_LETTER_KEY,
                properties,
            };
            if forward(cx, link, delivery, &copy).await {
                metrics::dead_lettered(service, reason.as_str());
            }
        }
        (Verdict::Requeue, _) => {
            // The queue counts this failure and delays the redelivery.
            if reject(service, delivery, true).await {
                metrics::retried(service);
            }
        }
        (Verdict::Reject(reason), _) | (Verdict::DeadLetter(reason), None) => {
            tracing::warn!(
                service,
                reason = reason.as_str(),
                "rejected (the service has no retry chain; the queue's dead-letter settings apply): {}",
                headers::capped(&error, 500)
            );
            if reject(service, delivery, false).await {
                metrics::rejected(service, reason.as_str());
            }
        }
        (Verdict::Retry { .. }, None) => {
            // verdict() gives a retry only to a service with a chain.
            reject(service, delivery, false).await;
        }
    }
}

/// A copy of a delivery for its retry or dead-letter queue.
struct Copy<'a> {
    exchange: &'a str,
    key: &'a str,
    properties: BasicProperties,
}

/// Republishes `delivery` as `copy`, then acks it; true when both
/// happened.
///
/// When the broker does not take the copy, the message is held and the
/// service paused until it does ([`hold`]). A copy that cannot be sent as
/// it is (the original's headers leave no room for warren's in a frame)
/// goes without the original's own headers, and says so: rejected instead,
/// the broker would add `x-death` and make it larger still, past what any
/// client can read.
async fn forward(cx: &Context, link: &Link, delivery: &Delivery, copy: &Copy<'_>) -> bool {
    let service = cx.service.name.as_str();
    let send = || {
        link.publisher.publish(
            copy.exchange,
            copy.key,
            &delivery.data,
            copy.properties.clone(),
        )
    };
    let mut sent = send().await;
    if let Err(PublishError::Invalid(why)) = &sent {
        let slim = slimmed(&copy.properties, why);
        sent = link
            .publisher
            .publish(copy.exchange, copy.key, &delivery.data, slim)
            .await;
    }
    let refused = match sent {
        Ok(()) => return ack(service, delivery).await,
        Err(e) if !link.publisher.connected() => {
            abandon(service, &e.to_string());
            return false;
        }
        Err(PublishError::Invalid(text)) => {
            tracing::error!(
                service,
                exchange = copy.exchange,
                key = copy.key,
                "the copy cannot be sent ({text}); rejecting the message into its queue's dead-letter route"
            );
            if reject(service, delivery, false).await {
                metrics::rejected(service, "forward-refused");
            }
            return false;
        }
        Err(refused) => refused.to_string(),
    };
    // Held: the message stays unacked and the service takes nothing new.
    let paused = cx.gate.pause();
    metrics::held(service);
    let why = format!(
        "the broker does not take messages for {:?} on exchange {:?} ({refused}); {} stays unacked and is tried again every {}s",
        copy.key,
        copy.exchange,
        delivery
            .properties
            .message_id()
            .as_ref()
            .map_or("the message".to_string(), |m| format!(
                "message {:?}",
                headers::capped(m.as_str(), 80)
            )),
        hold::RETRY_EVERY.as_secs()
    );
    tracing::error!(service, "paused: {why}");
    cx.health.paused(service, Some(why));
    let started = Instant::now();
    let done = loop {
        tokio::select! {
            () = cx.shutdown.cancelled() => {
                abandon(service, "shut down while the message was held");
                break false;
            }
            () = tokio::time::sleep(hold::RETRY_EVERY) => {}
        }
        if !link.alive() {
            abandon(service, "its channel closed while the message was held");
            break false;
        }
        match send().await {
            Ok(()) => {
                tracing::info!(service, "the held message's copy landed; resuming");
                break ack(service, delivery).await;
            }
            Err(e) if !link.publisher.connected() => {
                abandon(service, &e.to_string());
                break false;
            }
            Err(_) if started.elapsed() >= cx.hold_limit => {
                tracing::warn!(
                    service,
                    "held for {}s: returning the message to its queue before the broker's consumer timeout",
                    started.elapsed().as_secs()
                );
                nack_requeue(service, delivery).await;
                break false;
            }
            Err(_) => {}
        }
    };
    drop(paused);
    if cx.gate.is_open() {
        cx.health.paused(service, None);
    }
    done
}

/// `properties` with warren's headers only, the error saying why the
/// message's own were dropped.
fn slimmed(properties: &BasicProperties, why: &str) -> BasicProperties {
    let kept = delivery::warren_headers(&properties.headers().clone().unwrap_or_default(), true);
    let error = kept
        .inner()
        .get(headers::ERROR)
        .and_then(delivery::as_text)
        .unwrap_or_default();
    let note = format!(
        "{} [the message's own headers were dropped: {}]",
        error,
        headers::capped(why, 300)
    );
    let kept = with_header(
        &kept,
        headers::ERROR,
        AMQPValue::LongString(LongString::from(headers::capped(
            &note,
            headers::MAX_ERROR_TEXT + 400,
        ))),
    );
    properties.clone().with_headers(kept)
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
    sent(
        service,
        "ack",
        delivery.acker.ack(BasicAckOptions::default()).await,
    )
}

/// Rejects; with `requeue`, a reject (not a nack): RabbitMQ 4.3 counts it
/// as a failed delivery, which a broker retry delays and counts.
async fn reject(service: &str, delivery: &Delivery, requeue: bool) -> bool {
    let result = delivery.acker.reject(BasicRejectOptions { requeue }).await;
    sent(service, "reject", result)
}

/// Returns a held message to its queue.
async fn nack_requeue(service: &str, delivery: &Delivery) -> bool {
    let options = BasicNackOptions {
        requeue: true,
        multiple: false,
    };
    sent(service, "nack", delivery.acker.nack(options).await)
}

fn sent(service: &str, what: &str, result: Result<bool, lapin::Error>) -> bool {
    match result {
        Ok(true) => true,
        Ok(false) => {
            abandon(service, &format!("the channel closed before the {what}"));
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
