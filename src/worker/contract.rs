//! The handler's side of the contract, for handlers written in Rust that
//! the worker runs as processes (`stdio`, `exec`) or calls over HTTP
//! (`http`): what arrives and how to answer, in the very types the worker
//! reads, so the two sides cannot drift apart. A handler inside the worker
//! process implements [`super::Handler`] instead.
//!
//! Every kind answers with an [`Outcome`]: the events to emit, or a
//! [`Failure`] (transient: retried after the next delay; permanent: to the
//! dead-letter queue).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Failure, Message, Outcome, Reply};

/// The exit code of an `exec` handler whose failure is permanent
/// (EX_DATAERR). Any other non-zero exit, or a signal, is transient.
pub const PERMANENT_EXIT: i32 = 65;

/// The exit code [`exit_with`] gives a transient failure (EX_TEMPFAIL).
pub const TRANSIENT_EXIT: i32 = 75;

/// The environment an `exec` handler's metadata arrives in.
pub mod env {
    /// The service the message is for.
    pub const SERVICE: &str = "WARREN_SERVICE";
    /// The exchange the message was first published to.
    pub const EXCHANGE: &str = "WARREN_EXCHANGE";
    /// The routing key it was first published with.
    pub const ROUTING_KEY: &str = "WARREN_ROUTING_KEY";
    /// Empty when the message has none.
    pub const MESSAGE_ID: &str = "WARREN_MESSAGE_ID";
    /// Empty when the message has none.
    pub const CORRELATION_ID: &str = "WARREN_CORRELATION_ID";
    /// 1 for the first delivery, 2 after the first retry, and so on.
    pub const ATTEMPT: &str = "WARREN_ATTEMPT";
    /// The headers as a JSON object.
    pub const HEADERS: &str = "WARREN_HEADERS";
}

/// What a `stdio` or `http` handler is sent: the message, and for `stdio`
/// the id its reply must carry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Request {
    /// The id the reply must carry (`stdio`); absent for `http`.
    #[serde(default)]
    pub id: Option<u64>,
    /// The message itself.
    #[serde(flatten)]
    pub message: Message,
}

/// The status an `http` handler answers `outcome` with; the worker reads
/// a 4xx (but 408 and 429) as permanent and any other error as transient.
pub fn http_status(outcome: &Outcome) -> u16 {
    match outcome {
        Ok(_) => 200,
        Err(Failure {
            permanent: true, ..
        }) => 422,
        Err(_) => 503,
    }
}

/// Serves a `stdio` handler: one request per line of stdin, one reply line
/// each on stdout. Requests are handled side by side, as the worker sends
/// as many as the service's concurrency allows and matches the replies by
/// id. Returns when the worker closes stdin, after the last reply.
///
/// # Errors
/// stdin cannot be read, or a line is not a request (the worker sends
/// nothing else, so something other than the worker is writing).
pub async fn serve_stdio<F, Fut>(handle: F) -> std::io::Result<()>
where
    F: Fn(Message) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Outcome> + Send + 'static,
{
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (replies, mut outbox) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(mut line) = outbox.recv().await {
            line.push(b'\n');
            if stdout.write_all(&line).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut handling = tokio::task::JoinSet::new();
    while let Some(line) = lines.next_line().await? {
        let request: Request = serde_json::from_str(&line).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not a request line: {e}"),
            )
        })?;
        let (handle, replies) = (handle.clone(), replies.clone());
        handling.spawn(async move {
            let reply = Reply::answer(request.id, handle(request.message).await);
            let _ = replies.send(serde_json::to_vec(&reply).unwrap_or_default());
        });
    }
    while handling.join_next().await.is_some() {}
    drop(replies);
    let _ = writer.await;
    Ok(())
}

/// The message an `exec` handler was started for: the body from stdin
/// (JSON, or a string when it is not JSON), the rest from the environment.
///
/// # Errors
/// stdin cannot be read.
pub fn exec_message() -> std::io::Result<Message> {
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut body)?;
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let given = |name: &str| Some(var(name)).filter(|v| !v.is_empty());
    Ok(Message {
        service: var(env::SERVICE),
        exchange: var(env::EXCHANGE),
        routing_key: var(env::ROUTING_KEY),
        message_id: given(env::MESSAGE_ID),
        correlation_id: given(env::CORRELATION_ID),
        attempt: var(env::ATTEMPT).parse().unwrap_or(1),
        headers: serde_json::from_str::<Map<String, Value>>(&var(env::HEADERS)).unwrap_or_default(),
        body: serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
    })
}

/// Ends an `exec` handler with `outcome`: each event printed as a line and
/// exit 0; a failure's reason on stderr and [`PERMANENT_EXIT`] or
/// [`TRANSIENT_EXIT`].
pub fn exit_with(outcome: Outcome) -> ! {
    match outcome {
        Ok(events) => {
            for event in events {
                println!("{}", serde_json::to_string(&event).unwrap_or_default());
            }
            std::process::exit(0)
        }
        Err(failure) => {
            eprintln!("{}", failure.reason);
            std::process::exit(if failure.permanent {
                PERMANENT_EXIT
            } else {
                TRANSIENT_EXIT
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::Event;

    #[test]
    fn a_reply_reads_back_as_the_outcome_it_carries() {
        let outcomes = [
            Ok(vec![Event::new("order.done", serde_json::json!({"id": 1}))]),
            Ok(Vec::new()),
            Err(Failure::transient("database down")),
            Err(Failure::permanent("no such order")),
        ];
        for outcome in outcomes {
            let line = serde_json::to_string(&Reply::answer(Some(7), outcome.clone())).unwrap();
            let back: Reply = serde_json::from_str(&line).unwrap();
            assert_eq!(back.id, Some(7), "{line}");
            assert_eq!(back.outcome(), outcome, "{line}");
        }
    }

    #[test]
    fn a_request_reads_what_the_worker_sends() {
        let message = Message {
            service: "shipping".into(),
            exchange: "order_events".into(),
            routing_key: "order.paid".into(),
            message_id: Some("m-1".into()),
            correlation_id: None,
            attempt: 2,
            headers: Map::new(),
            body: serde_json::json!({"order_id": "o-1"}),
        };
        let sent = serde_json::to_vec(&crate::worker::handler::Request {
            id: Some(3),
            message: &message,
        })
        .unwrap();
        let request: Request = serde_json::from_slice(&sent).unwrap();
        assert_eq!(request.id, Some(3));
        assert_eq!(request.message, message);
    }

    #[test]
    fn statuses_read_back_as_the_failure_kind() {
        assert_eq!(http_status(&Ok(Vec::new())), 200);
        assert_eq!(http_status(&Err(Failure::permanent("x"))), 422);
        assert_eq!(http_status(&Err(Failure::transient("x"))), 503);
    }
}
