//! One service's worker: connect, consume, hand each delivery to
//! `process`, and start over when the connection goes.
//!
//! A session owns one connection with two channels: one consumes (with
//! per-consumer QoS: global QoS is refused from RabbitMQ 4.3), one
//! publishes in confirm mode. Deliveries run concurrently up to the
//! service's `concurrency`; the broker sends at most `prefetch` ahead.
//!
//! Shutdown (the token is cancelled): stop consuming, let the deliveries
//! in flight finish within the shutdown timeout (each waits for its own
//! confirms and ack), then close. Whatever was not settled by then
//! returns to the queue when the connection closes.
//!
//! A lost connection ends the session; the deliveries in flight fail to
//! settle (they return to the queue on the broker's side), and a new
//! session starts after a backoff with jitter.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::emit::SessionPublisher;
use super::metrics::Health;
use super::process::{Context, Link, process};
use crate::broker::Settings;
use crate::topology::{Arguments, Binding};

/// How a service connects and stops.
pub struct Session {
    pub cx: Arc<Context>,
    pub settings: Settings,
    pub vhost: String,
    pub queue: Source,
    pub shutdown_timeout: Duration,
    pub health: Health,
}

/// Where a session's deliveries come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A queue the spec declares, shared by every instance.
    Shared(String),
    /// A server-named exclusive queue each session declares and binds so:
    /// each instance gets every message, and its queue goes with its
    /// connection (messages still in it go too: a broadcast an absent
    /// instance does not need). `arguments` are the template queue's: its
    /// dead-lettering into the service's DLQ when it retries.
    PerInstance {
        bindings: Vec<Binding>,
        arguments: Arguments,
    },
}

/// Why a session ended other than by shutdown.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Lost(String);

/// Runs sessions until `cancel`, reconnecting after each loss.
pub async fn run(session: Session, cancel: CancellationToken) {
    let service = session.cx.service.name.clone();
    let mut backoff = Backoff::default();
    loop {
        match once(&session, &cancel, &mut backoff).await {
            Ok(()) => return,
            Err(Lost(why)) => {
                session.health.set(&service, false);
                if why.contains("frame too large") {
                    // Published around AMQP (the management API's publish),
                    // a message whose headers exceed the frame size is
                    // delivered anyway, and no client can read it.
                    tracing::error!(
                        service,
                        "the broker delivered a message whose headers are larger than the connection's frame size; no AMQP client can read it, and it comes back on every connection: move it out of the queue from the management UI (Get messages, Ack mode: reject)"
                    );
                }
                let wait = backoff.next();
                tracing::warn!(service, "connection lost: {why}; reconnecting in {wait:?}");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

async fn once(s: &Session, cancel: &CancellationToken, backoff: &mut Backoff) -> Result<(), Lost> {
    let service = s.cx.service.name.as_str();
    let lost = |what: &str, e: &dyn std::fmt::Display| Lost(format!("{what}: {e}"));
    // Each node in turn, within the connect timeout each.
    let connection = crate::broker::connect(&s.settings, &s.vhost)
        .await
        .map_err(|e| lost("connect", &e))?;
    let consuming = connection
        .create_channel()
        .await
        .map_err(|e| lost("open a channel", &e))?;
    let connection = Arc::new(connection);
    let publisher = SessionPublisher::open(connection.clone())
        .await
        .map_err(|e| lost("open the publishing channel", &e))?;
    consuming
        .basic_qos(s.cx.service.prefetch, BasicQosOptions { global: false })
        .await
        .map_err(|e| lost("set the prefetch", &e))?;
    let queue = match &s.queue {
        Source::Shared(name) => name.clone(),
        Source::PerInstance {
            bindings,
            arguments,
        } => declare_own(&consuming, bindings, arguments)
            .await
            .map_err(|(what, e)| lost(&what, &e))?,
    };
    let tag = s.cx.service.consumer_tag(std::process::id());
    let mut deliveries = consuming
        .basic_consume(
            ShortString::from(queue.as_str()),
            ShortString::from(tag.as_str()),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| lost(&format!("consume queue {queue:?}"), &e))?;
    let link = Arc::new(Link {
        consuming,
        publisher,
    });
    s.health.set(service, true);
    backoff.reset();
    tracing::info!(service, queue = %queue, prefetch = s.cx.service.prefetch, concurrency = s.cx.service.concurrency, "consuming");

    let permits = Arc::new(Semaphore::new(
        usize::try_from(s.cx.service.concurrency.max(1)).unwrap_or(1),
    ));
    let mut running = JoinSet::new();
    let ended = loop {
        // Reap finished deliveries so the set does not grow.
        while running.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = cancel.cancelled() => break Ok(()),
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break Ok(()),
            },
        };
        let next = tokio::select! {
            () = cancel.cancelled() => break Ok(()),
            next = deliveries.next() => next,
        };
        match next {
            Some(Ok(delivery)) => {
                // Paused while a settled message is held: this delivery
                // waits, unstarted, and nothing more is taken.
                tokio::select! {
                    () = cancel.cancelled() => break Ok(()),
                    () = s.cx.gate.opened() => {}
                }
                let (cx, link) = (s.cx.clone(), link.clone());
                running.spawn(async move {
                    process(&cx, &link, delivery).await;
                    drop(permit);
                });
            }
            Some(Err(e)) => break Err(lost("consuming", &e)),
            None => {
                break Err(Lost(
                    "the broker cancelled the consumer (queue deleted?)".into(),
                ));
            }
        }
    };
    if ended.is_ok() {
        // No new deliveries; those prefetched but not started go back to
        // the queue when the channel closes.
        let _ = link
            .consuming
            .basic_cancel(
                ShortString::from(tag.as_str()),
                BasicCancelOptions::default(),
            )
            .await;
        while running.try_join_next().is_some() {}
        let waiting = running.len();
        if waiting > 0 {
            tracing::info!(service, waiting, "draining the deliveries in flight");
        }
        let left = drain(&mut running, s.shutdown_timeout).await;
        if left > 0 {
            tracing::warn!(
                service,
                left,
                "shutdown timeout: the deliveries still in flight return to the queue"
            );
        }
        let _ = connection.close(200, "shutting down".into()).await;
        s.health.set(service, false);
        tracing::info!(service, "stopped");
    } else {
        s.health.set(service, false);
        // Nothing in flight can settle on a dead channel; let each task
        // see that and end.
        drain(&mut running, Duration::from_secs(5)).await;
        let _ = connection.close(320, "lost".into()).await;
    }
    ended
}

/// Declares this instance's queue (server-named, exclusive, auto-delete)
/// and binds it as the spec says; returns its name.
async fn declare_own(
    channel: &lapin::Channel,
    bindings: &[Binding],
    arguments: &Arguments,
) -> Result<String, (String, lapin::Error)> {
    let queue = channel
        .queue_declare(
            ShortString::from(""),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                durable: false,
                ..QueueDeclareOptions::default()
            },
            crate::broker::field_table(arguments),
        )
        .await
        .map_err(|e| ("declare this instance's queue".to_string(), e))?
        .name()
        .to_string();
    for b in bindings {
        channel
            .queue_bind(
                ShortString::from(queue.as_str()),
                ShortString::from(b.source.as_str()),
                ShortString::from(b.routing_key.as_str()),
                QueueBindOptions::default(),
                crate::broker::field_table(&b.arguments),
            )
            .await
            .map_err(|e| {
                (
                    format!(
                        "bind this instance's queue to exchange {:?} with key {:?}",
                        b.source, b.routing_key
                    ),
                    e,
                )
            })?;
    }
    Ok(queue)
}

/// Waits up to `within` for the deliveries in flight, then aborts the
/// rest (unsettled, they return to the queue); returns how many it aborted.
async fn drain(running: &mut JoinSet<()>, within: Duration) -> usize {
    let _ = tokio::time::timeout(within, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    let left = running.len();
    running.abort_all();
    left
}

/// Exponential backoff, 100 ms doubling to 30 s, each wait drawn between
/// half and all of it so that workers cut off together do not return
/// together.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const BASE: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(30);

    fn next(&mut self) -> Duration {
        let ceiling = Self::BASE
            .saturating_mul(1u32 << self.failures.min(16))
            .min(Self::MAX);
        self.failures = self.failures.saturating_add(1);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(millis / 2..=millis))
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_ceiling_with_jitter_and_resets() {
        let mut b = Backoff::default();
        let first = b.next();
        assert!(
            first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
            "{first:?}"
        );
        for _ in 0..40 {
            assert!(b.next() <= Backoff::MAX);
        }
        assert!(b.next() >= Backoff::MAX / 2);
        b.reset();
        assert!(b.next() <= Duration::from_millis(100));
    }
}
