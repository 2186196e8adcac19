//! The per-vhost apply lock: an exclusive queue. The broker gives an
//! exclusive queue to one connection and deletes it when that connection
//! goes, so a crashed or killed apply releases the lock by itself. The
//! queue's arguments say who holds it.

use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

use crate::broker::{BrokerError, Http, Settings, connect, segment};

/// The lock queue's name. Exclusive queues are never observed, so plans
/// do not see it.
pub const LOCK_QUEUE: &str = "warren.apply.lock";
const HOLDER: &str = "x-warren-holder";

/// Held while the value lives; dropping it closes the connection and the
/// broker deletes the queue.
pub struct Lock {
    connection: lapin::Connection,
    timeout: std::time::Duration,
}

impl Lock {
    /// Releases the lock now (the broker also does when the process ends).
    pub async fn release(self) {
        let closing = self.connection.close(200, "apply done".into());
        let _ = tokio::time::timeout(self.timeout, closing).await;
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another apply holds the lock on vhost {vhost:?} ({holder}); wait for it to finish, or stop it: the lock goes with its connection"
    )]
    Held { vhost: String, holder: String },
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// "host example, pid 4242, since 1764633600 (12 s ago)"
fn holder_now() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown host".into());
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!("host {host}, pid {}, since {since}", std::process::id())
}

/// Adds how long ago the lock was taken to a holder text.
fn with_age(holder: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    match holder
        .rsplit_once("since ")
        .and_then(|(_, t)| t.parse::<u64>().ok())
    {
        Some(since) => format!("{holder} (unix time, {} s ago)", now.saturating_sub(since)),
        None => holder.to_string(),
    }
}

/// Takes the lock on `vhost`, which must exist.
///
/// # Errors
/// Another apply holds it (the error says who), or the broker cannot be
/// reached.
pub async fn acquire(settings: &Settings, http: &Http, vhost: &str) -> Result<Lock, LockError> {
    let doing = format!("take the apply lock on vhost {vhost:?}");
    match tokio::time::timeout(settings.timeout, take(settings, http, vhost)).await {
        Ok(taken) => taken,
        Err(_) => Err(LockError::Broker(BrokerError::Timeout {
            doing,
            after: settings.timeout,
        })),
    }
}

async fn take(settings: &Settings, http: &Http, vhost: &str) -> Result<Lock, LockError> {
    let connection = connect(settings, vhost).await?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| BrokerError::amqp("open a channel for the apply lock", e))?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        ShortString::from(HOLDER),
        AMQPValue::LongString(LongString::from(holder_now())),
    );
    let declared = channel
        .queue_declare(
            ShortString::from(LOCK_QUEUE),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                durable: false,
                ..QueueDeclareOptions::default()
            },
            arguments,
        )
        .await;
    match declared {
        Ok(_) => Ok(Lock {
            connection,
            timeout: settings.timeout,
        }),
        Err(e) if is_locked(&e) => {
            let _ = connection.close(200, "lock held".into()).await;
            Err(LockError::Held {
                vhost: vhost.to_string(),
                holder: holder(http, vhost).await,
            })
        }
        Err(e) => {
            Err(BrokerError::amqp(format!("take the apply lock on vhost {vhost:?}"), e).into())
        }
    }
}

fn is_locked(e: &lapin::Error) -> bool {
    matches!(e.kind(), lapin::ErrorKind::ProtocolError(p) if p.get_id() == 405)
}

/// Who holds the lock, from the lock queue's arguments.
async fn holder(http: &Http, vhost: &str) -> String {
    #[derive(serde::Deserialize)]
    struct LockQueue {
        #[serde(default)]
        arguments: serde_json::Map<String, serde_json::Value>,
    }
    let path = format!("queues/{}/{}", segment(vhost), segment(LOCK_QUEUE));
    match http
        .get_json::<LockQueue>(&path, "read the apply lock")
        .await
    {
        Ok(q) => match q.arguments.get(HOLDER).and_then(|h| h.as_str()) {
            Some(h) => with_age(&crate::printable::for_people(h)),
            None => "holder unknown".into(),
        },
        Err(_) => "holder unknown".into(),
    }
}
