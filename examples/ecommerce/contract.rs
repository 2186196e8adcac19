//! The shop's side of warren's handler contract, for the services that
//! run as processes (`http`, `stdio`, `exec`): what arrives and how each
//! kind answers. The Rust-API services use `warren::worker` directly.

use serde::Deserialize;
use serde_json::{Value, json};

/// A message as warren hands it over (stdio and http add `id`/fields we
/// do not need; unknown fields are ignored).
#[derive(Debug, Deserialize)]
pub struct Delivery {
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub routing_key: String,
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default = "first")]
    pub attempt: u32,
    #[serde(default)]
    pub body: Value,
}

fn first() -> u32 {
    1
}

/// What a service makes of a delivery.
#[derive(Debug)]
pub enum Answer {
    /// Done; publish these events (key, body).
    Emit(Vec<(&'static str, Value)>),
    /// Try again after the next retry delay.
    Transient(String),
    /// Never going to work: to the dead-letter queue.
    Permanent(String),
}

impl Answer {
    pub fn one(key: &'static str, body: impl serde::Serialize) -> Answer {
        Answer::Emit(vec![(
            key,
            serde_json::to_value(body).unwrap_or(Value::Null),
        )])
    }

    /// The JSON reply of `stdio` and `http` handlers.
    pub fn reply(&self, id: Option<u64>) -> Value {
        let mut reply = match self {
            Answer::Emit(events) => json!({
                "emit": events.iter().map(|(k, b)| json!({"key": k, "body": b})).collect::<Vec<_>>()
            }),
            Answer::Transient(reason) => json!({ "error": reason }),
            Answer::Permanent(reason) => json!({ "error": reason, "permanent": true }),
        };
        if let Some(id) = id {
            reply["id"] = json!(id);
        }
        reply
    }
}

/// Serves a `stdio` handler: one request per stdin line, one reply line
/// each. Requests are handled at once, side by side (warren sends as many
/// as the service's concurrency allows and matches replies by id). Ends
/// when warren closes stdin.
pub async fn serve_stdio<F, Fut>(handle: F) -> Result<(), String>
where
    F: Fn(Delivery) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Answer> + Send + 'static,
{
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (replies, mut outbox) = tokio::sync::mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(mut line) = outbox.recv().await {
            line.push('\n');
            if stdout.write_all(line.as_bytes()).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        // warren always sends JSON; anything else has no id to answer.
        let delivery: Delivery =
            serde_json::from_str(&line).map_err(|e| format!("not a request line: {e}"))?;
        let (handle, replies) = (handle.clone(), replies.clone());
        tokio::spawn(async move {
            let id = delivery.id;
            let _ = replies.send(handle(delivery).await.reply(id).to_string());
        });
    }
    drop(replies);
    let _ = writer.await;
    Ok(())
}

/// Prints an answer the way `exec` handlers give it: one event per line
/// and exit 0, exit 65 for a permanent failure, 75 for a transient one.
pub fn exit_with(answer: Answer) -> ! {
    match answer {
        Answer::Emit(events) => {
            for (key, body) in events {
                println!("{}", serde_json::json!({ "key": key, "body": body }));
            }
            std::process::exit(0)
        }
        Answer::Permanent(reason) => {
            eprintln!("{reason}");
            std::process::exit(65)
        }
        Answer::Transient(reason) => {
            eprintln!("{reason}");
            std::process::exit(75)
        }
    }
}
