use serde::Serialize;

use super::Origin;
use crate::source::Span;
use crate::vocabulary::{Duration, Handler};

/// A service as `warren run` and the checks see it: where it reads, what it
/// may publish, how it retries.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Service {
    /// The map key in [`Topology`](super::Topology); not repeated in output.
    #[serde(skip)]
    pub name: String,
    /// The queue it consumes from; `None` for a producer-only service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emits: Vec<Emit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    pub prefetch: u16,
    pub concurrency: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<Handler>,
    #[serde(skip)]
    pub origin: Origin,
}

/// One routing key a service may publish to one exchange.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Emit {
    pub exchange: String,
    pub key: String,
    /// The key as written.
    #[serde(skip)]
    pub span: Option<Span>,
    /// The exchange as written: findings about the exchange point here.
    #[serde(skip)]
    pub exchange_span: Option<Span>,
}

/// The retry chain compile generated for a service.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Retry {
    pub delays: Vec<Duration>,
    /// Direct exchange the worker republishes to, with the delay as key.
    pub exchange: String,
    /// One TTL queue per delay, in the order of `delays`.
    pub delay_queues: Vec<String>,
    pub dead_letter_queue: String,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl Retry {
    /// The routing key on the retry exchange for a delay.
    pub fn key_for(delay: Duration) -> String {
        delay.to_string()
    }
}
