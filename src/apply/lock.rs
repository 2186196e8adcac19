//! The per-vhost apply lock: an exclusive queue. The broker gives an
//! exclusive queue to one connection and deletes it when that connection
//! goes, so a crashed or killed apply releases the lock by itself. The
//! queue's arguments say who holds it.

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
    /// Another apply holds the lock: the lock queue exists and is
    /// exclusive to another connection.
    #[error(
        "another apply holds the lock on vhost {vhost:?} ({holder}); wait for it to finish, or stop it: the lock goes with its connection"
    )]
    Held {
        /// The vhost whose lock is taken.
        vhost: String,
        /// Who holds it, from the lock queue's arguments: host, pid, since
        /// when (unix time) and how long ago, or "holder unknown".
        holder: String,
    },
    /// A queue with the lock's name exists but is not exclusive, so it
    /// never goes away by itself.
    #[error(
        "a queue {LOCK_QUEUE:?} that is not exclusive is in vhost {vhost:?} (restored from a definitions export?), and blocks the apply lock for ever: delete that queue, then apply again"
    )]
    Stale {
        /// The vhost holding the stray lock queue.
        vhost: String,
    },
    /// The lock taken over AMQP is not visible through the management API:
    /// the two URLs reach different brokers.
    #[error(
        "the AMQP endpoint {amqp} and the management API {http} reach different brokers: the lock taken over AMQP is not seen through the management API, so apply would declare on one broker and check another. Give --amqp-url and --http-url of the same cluster; nothing was changed"
    )]
    OtherBroker {
        /// The AMQP endpoint the lock was taken on.
        amqp: String,
        /// The management API that did not see the lock.
        http: String,
    },
    /// The broker could not be reached, or refused a request.
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
    let me = holder_now();
    let mut arguments = FieldTable::default();
    arguments.insert(
        ShortString::from(HOLDER),
        AMQPValue::LongString(LongString::from(me.as_str())),
    );
    let declared = crate::broker::exclusive_lock(&channel, LOCK_QUEUE, arguments).await;
    match declared {
        Ok(true) => {
            let lock = Lock {
                connection,
                timeout: settings.timeout,
            };
            if seen_through(http, vhost, &me).await {
                return Ok(lock);
            }
            lock.release().await;
            Err(LockError::OtherBroker {
                amqp: settings.amqp_url.to_string(),
                http: settings.http_url.to_string(),
            })
        }
        Ok(false) => {
            let _ = connection.close(200, "lock held".into()).await;
            match lock_queue(http, vhost).await {
                Some(q) if !q.exclusive => Err(LockError::Stale {
                    vhost: vhost.to_string(),
                }),
                q => Err(LockError::Held {
                    vhost: vhost.to_string(),
                    holder: q
                        .and_then(|q| q.holder())
                        .map_or_else(|| "holder unknown".into(), |h| with_age(&h)),
                }),
            }
        }
        Err(e) => {
            Err(BrokerError::amqp(format!("take the apply lock on vhost {vhost:?}"), e).into())
        }
    }
}

/// The lock queue as the management API shows it.
#[derive(serde::Deserialize)]
struct LockQueue {
    #[serde(default)]
    arguments: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    exclusive: bool,
}

impl LockQueue {
    /// Who holds the lock, from the queue's arguments.
    fn holder(&self) -> Option<String> {
        let holder = self.arguments.get(HOLDER)?.as_str()?;
        Some(crate::printable::for_people(holder))
    }
}

async fn lock_queue(http: &Http, vhost: &str) -> Option<LockQueue> {
    let path = format!("queues/{}/{}", segment(vhost), segment(LOCK_QUEUE));
    http.get_json(&path, "read the apply lock").await.ok()
}

/// Whether the management API sees the lock `me` took over AMQP: the two
/// endpoints reach one cluster. A cluster's metadata reaches its other
/// nodes shortly after, not at once, so it is asked a few times.
async fn seen_through(http: &Http, vhost: &str, me: &str) -> bool {
    for wait in [0, 100, 200, 400, 800, 1500] {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        if lock_queue(http, vhost)
            .await
            .is_some_and(|q| q.arguments.get(HOLDER).and_then(|h| h.as_str()) == Some(me))
        {
            return true;
        }
    }
    false
}
