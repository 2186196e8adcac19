//! The handler contract (docs/design.md section 5), the same for every
//! handler kind: what a handler is given, what it may emit, and how it
//! says it failed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A consumed message as a handler sees it. `exchange` and `routing_key`
/// are where it was first published, also after a retry brought it back
/// through a delay queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The service handling it.
    pub service: String,
    /// The exchange it was first published to.
    pub exchange: String,
    /// The routing key it was first published with.
    pub routing_key: String,
    /// The `message_id` property, if the publisher set one.
    pub message_id: Option<String>,
    /// The `correlation_id` property, if the publisher set one.
    pub correlation_id: Option<String>,
    /// 1 for the first delivery, 2 after the first retry, and so on.
    pub attempt: u32,
    /// The message's headers, warren's own (`x-warren-*`) left out.
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// The body, parsed as JSON.
    pub body: Value,
}

/// An event a handler asks the worker to publish.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// A routing key the service declares under `emits:`.
    pub key: String,
    /// The body to publish as JSON; `null` when absent.
    #[serde(default)]
    pub body: Value,
    /// Needed only when the service emits to more than one exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Headers to publish the event with; warren's own (`x-warren-*`) are
    /// left out.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub headers: Map<String, Value>,
}

impl Event {
    /// An event with `key` and `body`, no headers, and no exchange (the key
    /// says which).
    pub fn new(key: impl Into<String>, body: Value) -> Event {
        Event {
            key: key.into(),
            body,
            exchange: None,
            headers: Map::new(),
        }
    }

    /// Reads one line a handler printed: an event object.
    ///
    /// # Errors
    /// The line is not an event; the text says what is wrong with it.
    pub fn from_line(line: &str) -> Result<Event, NotAnEvent> {
        serde_json::from_str(line).map_err(|e| NotAnEvent {
            reason: e.to_string(),
            line: crate::worker::headers::capped(line, 200).to_string(),
        })
    }
}

/// A line a handler printed that is not an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the handler printed a line that is not an event ({reason}): {line}; print one {{\"key\": ..., \"body\": ...}} object per line"
)]
pub struct NotAnEvent {
    pub reason: String,
    /// The line, cut to 200 characters.
    pub line: String,
}

/// How a handler call failed. A transient failure is retried after the
/// service's next delay; a permanent one goes to the dead-letter queue at
/// once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Whether retrying cannot help: the message goes to the dead-letter queue
    /// at once.
    pub permanent: bool,
    /// What went wrong, carried by the dead letter.
    pub reason: String,
    /// The failure struck every message in flight at once (the handler
    /// process died): it is charged to a message only when that message
    /// meets it alone.
    pub crashed: bool,
}

impl Failure {
    /// A failure a later attempt may not meet: retried after the service's
    /// next delay.
    pub fn transient(reason: impl Into<String>) -> Failure {
        Failure {
            permanent: false,
            reason: reason.into(),
            crashed: false,
        }
    }

    /// A failure no retry can fix: dead-lettered at once.
    pub fn permanent(reason: impl Into<String>) -> Failure {
        Failure {
            permanent: true,
            reason: reason.into(),
            crashed: false,
        }
    }

    /// A transient failure shared by every message in flight.
    pub fn crashed(reason: impl Into<String>) -> Failure {
        Failure {
            crashed: true,
            ..Failure::transient(reason)
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// What a handler call gives back: the events to emit, or a failure.
pub type Outcome = Result<Vec<Event>, Failure>;

/// What `http` and `stdio` handlers may answer: events to emit, or an
/// error (transient unless `permanent`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The request this answers (`stdio` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// The events to emit, when the call succeeded.
    #[serde(default)]
    pub emit: Vec<Event>,
    /// What went wrong; `None` when the call succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With `error`: retrying cannot help.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub permanent: bool,
}

impl Reply {
    /// The reply that carries `outcome`, for request `id` (`stdio`).
    pub fn answer(id: Option<u64>, outcome: Outcome) -> Reply {
        match outcome {
            Ok(emit) => Reply {
                id,
                emit,
                ..Reply::default()
            },
            Err(failure) => Reply {
                id,
                error: Some(failure.reason),
                permanent: failure.permanent,
                ..Reply::default()
            },
        }
    }

    /// What the reply carries: the events, or the failure.
    pub fn outcome(self) -> Outcome {
        match self.error {
            Some(reason) if self.permanent => Err(Failure::permanent(reason)),
            Some(reason) => Err(Failure::transient(reason)),
            None => Ok(self.emit),
        }
    }
}
