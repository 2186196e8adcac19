//! What workers count, and the `/metrics` and `/healthz` endpoints.
//! Every metric carries the service's name as the label `service`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const RECEIVED: &str = "warren_messages_received_total";
const ACKED: &str = "warren_messages_acked_total";
const RETRIED: &str = "warren_messages_retried_total";
const DEAD_LETTERED: &str = "warren_messages_dead_lettered_total";
const REJECTED: &str = "warren_messages_rejected_total";
const DUPLICATES: &str = "warren_messages_duplicate_total";
const ABANDONED: &str = "warren_messages_abandoned_total";
const EMITTED: &str = "warren_events_emitted_total";
const HANDLER_SECONDS: &str = "warren_handler_seconds";
const IN_FLIGHT: &str = "warren_handlers_in_flight";
const CONNECTED: &str = "warren_connected";
const PAUSED: &str = "warren_paused";
const HELD: &str = "warren_messages_held_total";

/// Counts a delivery taken from the service's queue.
pub fn received(service: &str) {
    counter!(RECEIVED, "service" => service.to_string()).increment(1);
}
/// Counts a delivery handled and acknowledged.
pub fn acked(service: &str) {
    counter!(ACKED, "service" => service.to_string()).increment(1);
}
/// Counts a delivery sent to its next attempt.
pub fn retried(service: &str) {
    counter!(RETRIED, "service" => service.to_string()).increment(1);
}
/// Counts a message sent to the dead-letter queue, by
/// [`Reason`](crate::worker::Reason) word.
pub fn dead_lettered(service: &str, reason: &'static str) {
    counter!(DEAD_LETTERED, "service" => service.to_string(), "reason" => reason).increment(1);
}
/// Counts a message rejected to its queue's own dead-letter route (the service
/// has no retry chain, or the copy was refused).
pub fn rejected(service: &str, reason: &'static str) {
    counter!(REJECTED, "service" => service.to_string(), "reason" => reason).increment(1);
}
/// Counts a delivery skipped because its idempotency key was handled before.
pub fn duplicate(service: &str) {
    counter!(DUPLICATES, "service" => service.to_string()).increment(1);
}
/// Counts a delivery left unsettled (its channel closed first); the broker
/// delivers it again.
pub fn abandoned(service: &str) {
    counter!(ABANDONED, "service" => service.to_string()).increment(1);
}
/// A settled message whose copy the broker would not take, kept unacked
/// while the service pauses.
pub fn held(service: &str) {
    counter!(HELD, "service" => service.to_string()).increment(1);
}
/// Counts the events a handler call emitted.
pub fn emitted(service: &str, count: usize) {
    counter!(EMITTED, "service" => service.to_string()).increment(count as u64);
}
/// Records how long a handler call took.
pub fn handled(service: &str, took: Duration) {
    histogram!(HANDLER_SECONDS, "service" => service.to_string()).record(took.as_secs_f64());
}

/// Counts a handler call in flight for as long as it lives.
pub struct InFlight(String);

impl InFlight {
    /// Counts a handler call of `service` in flight until the value drops.
    pub fn start(service: &str) -> InFlight {
        gauge!(IN_FLIGHT, "service" => service.to_string()).increment(1.0);
        InFlight(service.to_string())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(IN_FLIGHT, "service" => self.0.clone()).decrement(1.0);
    }
}

/// What `/healthz` reports for each service: healthy while it is
/// connected, not paused, and its deliveries in hand keep completing.
#[derive(Clone, Default)]
pub struct Health(Arc<Mutex<BTreeMap<String, State>>>);

#[derive(Default)]
struct State {
    connected: bool,
    /// Why it takes no deliveries, when it does not.
    paused: Option<String>,
    /// Deliveries between receipt and settlement, less those waiting on
    /// purpose (a held retry's delay, a held dead letter).
    in_hand: usize,
    /// Since when none has completed while some were in hand.
    waiting_since: Option<Instant>,
    /// How long that may last: the handler's timeout.
    stall_after: Option<Duration>,
}

impl Health {
    /// Records whether `service` is connected to the broker.
    pub fn set(&self, service: &str, connected: bool) {
        gauge!(CONNECTED, "service" => service.to_string()).set(if connected { 1.0 } else { 0.0 });
        self.with(service, |s| s.connected = connected);
    }

    /// The service takes no deliveries, and why (`None`: it takes them
    /// again).
    pub fn paused(&self, service: &str, why: Option<String>) {
        gauge!(PAUSED, "service" => service.to_string()).set(if why.is_some() { 1.0 } else { 0.0 });
        self.with(service, |s| s.paused = why);
    }

    /// Watch `service`: unhealthy when deliveries are in hand and none
    /// completes for longer than `stall_after`.
    pub fn watch(&self, service: &str, stall_after: Duration) {
        self.with(service, |s| s.stall_after = Some(stall_after));
    }

    /// A delivery of `service` is in hand until the guard drops.
    pub fn in_hand(&self, service: &str) -> InHand {
        self.with(service, |s| {
            if s.in_hand == 0 {
                s.waiting_since = Some(Instant::now());
            }
            s.in_hand += 1;
        });
        InHand {
            health: self.clone(),
            service: service.to_string(),
        }
    }

    fn with(&self, service: &str, change: impl FnOnce(&mut State)) {
        if let Ok(mut states) = self.0.lock() {
            change(states.entry(service.to_string()).or_default());
        }
    }

    /// The services that are not connected (none: healthy).
    pub fn down(&self) -> Vec<String> {
        self.0.lock().map_or_else(
            |_| vec!["(unknown)".to_string()],
            |s| {
                s.iter()
                    .filter(|(_, state)| !state.connected)
                    .map(|(n, _)| n.clone())
                    .collect()
            },
        )
    }

    /// What is wrong, a line per service (none: healthy): not connected,
    /// paused and why, or stalled.
    pub fn problems(&self) -> Vec<String> {
        let Ok(states) = self.0.lock() else {
            return vec!["(health unknown)".to_string()];
        };
        let mut lines = Vec::new();
        for (name, s) in states.iter() {
            if !s.connected {
                lines.push(format!("{name}: not connected"));
            }
            if let Some(why) = &s.paused {
                lines.push(format!("{name}: paused: {why}"));
            }
            if let (Some(since), Some(limit)) = (s.waiting_since, s.stall_after)
                && s.in_hand > 0
                && since.elapsed() > limit
            {
                lines.push(format!(
                    "{name}: stalled: {} deliveries in hand and none completed for {}s (the handler timeout is {}s)",
                    s.in_hand,
                    since.elapsed().as_secs(),
                    limit.as_secs_f64()
                ));
            }
        }
        lines
    }
}

/// A delivery in hand; dropping it says the delivery left (settled, or
/// set aside on purpose).
pub struct InHand {
    health: Health,
    service: String,
}

impl Drop for InHand {
    fn drop(&mut self) {
        self.health.with(&self.service, |s| {
            s.in_hand = s.in_hand.saturating_sub(1);
            s.waiting_since = (s.in_hand > 0).then(Instant::now);
        });
    }
}

/// The process-wide Prometheus recorder, installed on first use.
///
/// # Errors
/// Another metrics recorder was installed first.
pub fn recorder() -> Result<PrometheusHandle, RecorderError> {
    static HANDLE: OnceLock<Result<PrometheusHandle, RecorderError>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(HANDLER_SECONDS.into()),
                    &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 300.0],
                )
                .map_err(|e| RecorderError(e.to_string()))?
                .install_recorder()
                .map_err(|e| RecorderError(e.to_string()))
        })
        .clone()
}

/// The Prometheus recorder could not be installed (the process has
/// another metrics recorder).
#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct RecorderError(String);

/// Serves `/metrics` and `/healthz` on `listener` until `cancel` (the
/// `metrics-endpoint` feature).
///
/// # Errors
/// The server fails.
#[cfg(feature = "metrics-endpoint")]
pub async fn serve(
    listener: tokio::net::TcpListener,
    prometheus: PrometheusHandle,
    health: Health,
    cancel: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    use axum::http::StatusCode;
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let p = prometheus.clone();
                async move { p.render() }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let problems = health.problems();
                async move {
                    if problems.is_empty() {
                        (StatusCode::OK, "ok\n".to_string())
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("{}\n", problems.join("\n")),
                        )
                    }
                }
            }),
        );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_names_what_is_wrong_and_a_stall_clears_when_work_completes() {
        let health = Health::default();
        health.set("shipping", true);
        health.watch("shipping", Duration::from_millis(20));
        assert!(health.problems().is_empty());
        let (a, b) = (health.in_hand("shipping"), health.in_hand("shipping"));
        assert!(health.problems().is_empty(), "within the handler timeout");
        std::thread::sleep(Duration::from_millis(40));
        let stalled = health.problems();
        assert_eq!(stalled.len(), 1, "{stalled:?}");
        assert!(
            stalled[0].starts_with("shipping: stalled: 2 deliveries in hand"),
            "{stalled:?}"
        );
        // One completes: the clock starts again for the other.
        drop(a);
        assert!(health.problems().is_empty());
        drop(b);
        std::thread::sleep(Duration::from_millis(40));
        assert!(health.problems().is_empty(), "nothing in hand, no stall");
        health.paused("shipping", Some("the DLQ is gone".into()));
        health.set("shipping", false);
        assert_eq!(
            health.problems(),
            [
                "shipping: not connected",
                "shipping: paused: the DLQ is gone"
            ]
        );
        assert_eq!(health.down(), ["shipping"]);
        health.paused("shipping", None);
        health.set("shipping", true);
        assert!(health.problems().is_empty());
    }
}
