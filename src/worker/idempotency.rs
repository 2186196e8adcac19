//! Idempotency: a message whose key was handled before is acked without
//! calling the handler again.
//!
//! A key is recorded after the handler's emits are confirmed and before
//! the ack, so a message whose ack was lost is recognised when the broker
//! redelivers it. A duplicate that arrives while the first copy is still
//! in flight finds no record yet and is handled too: idempotency narrows
//! at-least-once delivery, it does not make it exactly once. The handler's
//! own effects (a charge, a row) still want a unique key of their own.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use super::Message;
use crate::topology::{IdempotencyKey, IdempotencyStore};

/// Where handled keys live.
pub enum Store {
    /// Keys kept in the worker process.
    Memory(Mutex<Memory>),
    /// Keys kept in Redis, shared by the service's workers.
    #[cfg(feature = "redis")]
    Redis {
        /// The Redis connection, reconnected as needed.
        connection: redis::aio::ConnectionManager,
        /// Keys are `<prefix><key>`: per vhost and service.
        prefix: String,
    },
}

/// Handled keys with the moment each expires.
#[derive(Default)]
pub struct Memory {
    expiry: HashMap<String, Instant>,
}

/// The store could not be opened or answer: an unreachable Redis, a failed
/// command, or a Redis URL in a program built without the `redis` feature.
#[derive(Debug, thiserror::Error)]
#[error("idempotency store: {0}")]
pub struct StoreError(String);

impl Store {
    /// Opens the store for `service` in `vhost`.
    ///
    /// # Errors
    /// The Redis URL is malformed or the server does not answer.
    #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
    pub async fn open(
        store: &IdempotencyStore,
        vhost: &str,
        service: &str,
    ) -> Result<Store, StoreError> {
        match store {
            IdempotencyStore::Memory => Ok(Store::Memory(Mutex::default())),
            #[cfg(not(feature = "redis"))]
            IdempotencyStore::Redis(url) => Err(StoreError(format!(
                "{}: this program was built without warren's `redis` feature; build it with that feature, or use the memory store",
                crate::printable::redact(url)
            ))),
            #[cfg(feature = "redis")]
            IdempotencyStore::Redis(url) => {
                let shown = crate::printable::redact(url);
                let client = redis::Client::open(url.as_str())
                    .map_err(|e| StoreError(format!("{shown}: {e}")))?;
                let connection = tokio::time::timeout(
                    Duration::from_secs(10),
                    redis::aio::ConnectionManager::new(client),
                )
                .await
                .map_err(|_| StoreError(format!("{shown}: no answer within 10s")))?
                .map_err(|e| StoreError(format!("{shown}: {e}")))?;
                Ok(Store::Redis {
                    connection,
                    prefix: format!("warren:handled:{vhost}:{service}:"),
                })
            }
        }
    }

    /// Whether `key` was handled (and has not expired).
    ///
    /// # Errors
    /// Redis does not answer.
    pub async fn seen(&self, key: &str) -> Result<bool, StoreError> {
        match self {
            Store::Memory(m) => {
                let m = m.lock().await;
                Ok(m.expiry.get(key).is_some_and(|&at| at > Instant::now()))
            }
            #[cfg(feature = "redis")]
            Store::Redis { connection, prefix } => {
                let mut c = connection.clone();
                redis::cmd("EXISTS")
                    .arg(format!("{prefix}{key}"))
                    .query_async::<bool>(&mut c)
                    .await
                    .map_err(|e| StoreError(e.to_string()))
            }
        }
    }

    /// Records `key` as handled for `ttl` (`SET NX PX` on Redis, so the
    /// first record's expiry stands).
    ///
    /// # Errors
    /// Redis does not answer.
    pub async fn record(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        match self {
            Store::Memory(m) => {
                let mut m = m.lock().await;
                let now = Instant::now();
                // Forget expired keys now and then, so memory stays bounded
                // by what the ttl covers.
                if m.expiry.len() % 1024 == 1023 {
                    m.expiry.retain(|_, at| *at > now);
                }
                m.expiry.entry(key.to_string()).or_insert(now + ttl);
                Ok(())
            }
            #[cfg(feature = "redis")]
            Store::Redis { connection, prefix } => {
                let mut c = connection.clone();
                let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                redis::cmd("SET")
                    .arg(format!("{prefix}{key}"))
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis)
                    .query_async::<Option<String>>(&mut c)
                    .await
                    .map(drop)
                    .map_err(|e| StoreError(e.to_string()))
            }
        }
    }
}

/// The idempotency key of `message`, if it has one.
pub fn key_of(key: &IdempotencyKey, message: &Message) -> Option<String> {
    match key {
        IdempotencyKey::MessageId => message.message_id.clone().filter(|m| !m.is_empty()),
        IdempotencyKey::Pointer(pointer) => match message.body.pointer(pointer)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: Option<&str>, body: Value) -> Message {
        Message {
            service: "s".into(),
            exchange: "x".into(),
            routing_key: "k".into(),
            message_id: id.map(Into::into),
            correlation_id: None,
            attempt: 1,
            headers: Default::default(),
            body,
        }
    }

    #[test]
    fn keys_come_from_the_message_id_or_a_pointer_into_the_body() {
        let m = message(
            Some("abc"),
            serde_json::json!({"order": {"id": 42}, "empty": ""}),
        );
        assert_eq!(
            key_of(&IdempotencyKey::MessageId, &m).as_deref(),
            Some("abc")
        );
        let p = |s: &str| IdempotencyKey::Pointer(s.into());
        assert_eq!(key_of(&p("/order/id"), &m).as_deref(), Some("42"));
        assert_eq!(key_of(&p("/order"), &m), None);
        assert_eq!(key_of(&p("/empty"), &m), None);
        assert_eq!(key_of(&p("/missing"), &m), None);
        assert_eq!(
            key_of(&IdempotencyKey::MessageId, &message(None, Value::Null)),
            None
        );
    }

    #[tokio::test]
    async fn the_memory_store_remembers_until_the_ttl_ends() {
        let store = Store::open(&IdempotencyStore::Memory, "/", "s")
            .await
            .unwrap();
        assert!(!store.seen("a").await.unwrap());
        store.record("a", Duration::from_secs(60)).await.unwrap();
        store.record("b", Duration::from_millis(1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(store.seen("a").await.unwrap());
        assert!(!store.seen("b").await.unwrap());
    }
}
