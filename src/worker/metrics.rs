//! What workers count, and the `/metrics` and `/healthz` endpoints.
//! Every metric carries the service's name as the label `service`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

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

pub fn received(service: &str) {
    counter!(RECEIVED, "service" => service.to_string()).increment(1);
}
pub fn acked(service: &str) {
    counter!(ACKED, "service" => service.to_string()).increment(1);
}
pub fn retried(service: &str) {
    counter!(RETRIED, "service" => service.to_string()).increment(1);
}
pub fn dead_lettered(service: &str, reason: &'static str) {
    counter!(DEAD_LETTERED, "service" => service.to_string(), "reason" => reason).increment(1);
}
pub fn rejected(service: &str, reason: &'static str) {
    counter!(REJECTED, "service" => service.to_string(), "reason" => reason).increment(1);
}
pub fn duplicate(service: &str) {
    counter!(DUPLICATES, "service" => service.to_string()).increment(1);
}
pub fn abandoned(service: &str) {
    counter!(ABANDONED, "service" => service.to_string()).increment(1);
}
pub fn emitted(service: &str, count: usize) {
    counter!(EMITTED, "service" => service.to_string()).increment(count as u64);
}
pub fn handled(service: &str, took: Duration) {
    histogram!(HANDLER_SECONDS, "service" => service.to_string()).record(took.as_secs_f64());
}

/// Counts a handler call in flight for as long as it lives.
pub struct InFlight(String);

impl InFlight {
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

/// Which services are connected to the broker: `/healthz` is healthy when
/// all of them are.
#[derive(Clone, Default)]
pub struct Health(Arc<Mutex<BTreeMap<String, bool>>>);

impl Health {
    pub fn set(&self, service: &str, connected: bool) {
        gauge!(CONNECTED, "service" => service.to_string()).set(if connected { 1.0 } else { 0.0 });
        if let Ok(mut s) = self.0.lock() {
            s.insert(service.to_string(), connected);
        }
    }

    /// The services that are not connected (none: healthy).
    pub fn down(&self) -> Vec<String> {
        self.0.lock().map_or_else(
            |_| vec!["(unknown)".to_string()],
            |s| {
                s.iter()
                    .filter(|(_, up)| !**up)
                    .map(|(n, _)| n.clone())
                    .collect()
            },
        )
    }
}

/// The process-wide Prometheus recorder, installed on first use.
///
/// # Errors
/// Another metrics recorder was installed first.
pub fn recorder() -> Result<PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(HANDLER_SECONDS.into()),
                    &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 300.0],
                )
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| e.to_string())
        })
        .clone()
}

/// Serves `/metrics` and `/healthz` on `listener` until `cancel`.
///
/// # Errors
/// The server fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    prometheus: PrometheusHandle,
    health: Health,
    cancel: CancellationToken,
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
                let down = health.down();
                async move {
                    if down.is_empty() {
                        (StatusCode::OK, "ok\n".to_string())
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("not connected: {}\n", down.join(", ")),
                        )
                    }
                }
            }),
        );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await
}
