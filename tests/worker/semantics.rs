//! What a worker does with each outcome: emit and ack, retry through the
//! delay queues, dead-letter with the reason, skip duplicates.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::json;
use warren::worker::{Event, Failure, handler};

use super::{Harness, SHIPPING, body, header};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handled_message_emits_its_events_and_is_acked() {
    needs_broker!();
    let h = Harness::new("worker-success", SHIPPING).await;
    let running = h.serve(
        "shipping",
        handler::function(|m| async move {
            Ok(vec![Event::new(
                "order.shipped",
                json!({ "order": m.body["order"], "attempt": m.attempt, "key": m.routing_key }),
            )])
        }),
    );
    let orders: Vec<_> = (0..25).map(|i| json!({ "order": i })).collect();
    h.publish("orders", "order.paid", &orders).await;
    let shipped = h.take("shipped", 25).await;
    h.drained("shipping").await;
    running.stop().await;
    let mut seen: Vec<u64> = shipped
        .iter()
        .map(|m| body(m)["order"].as_u64().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..25).collect::<Vec<u64>>());
    for m in &shipped {
        let b = body(m);
        assert_eq!(
            (b["attempt"].as_u64(), b["key"].as_str()),
            (Some(1), Some("order.paid"))
        );
        let p = &m.delivery.properties;
        let order = b["order"].as_u64().unwrap();
        // A new message id; the input's correlation id.
        assert_ne!(
            p.message_id().as_ref().unwrap().as_str(),
            format!("id-{order}")
        );
        assert_eq!(
            p.correlation_id().as_ref().unwrap().as_str(),
            format!("corr-{order}")
        );
        assert_eq!(p.delivery_mode(), &Some(2));
    }
    assert_eq!(h.depth("shipping.dlq").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_is_retried_through_each_delay_until_it_succeeds() {
    needs_broker!();
    let h = Harness::new("worker-retry", SHIPPING).await;
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let seen = attempts.clone();
    let running = h.serve(
        "shipping",
        handler::function(move |m| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push((m.attempt, m.routing_key.clone(), m.exchange.clone()));
                if m.attempt < 3 {
                    return Err(Failure::transient("payment service busy"));
                }
                Ok(vec![Event::new(
                    "order.shipped",
                    json!({ "attempt": m.attempt }),
                )])
            }
        }),
    );
    let started = std::time::Instant::now();
    h.publish("orders", "order.paid", &[json!({ "order": 1 })])
        .await;
    let shipped = h.take("shipped", 1).await;
    let took = started.elapsed();
    running.stop().await;
    assert_eq!(body(&shipped[0])["attempt"], 3);
    // Every attempt saw where the message was first published, not the
    // delay queue it came back from.
    let attempts = attempts.lock().unwrap().clone();
    assert_eq!(
        attempts,
        (1..=3)
            .map(|a| (a, "order.paid".to_string(), "orders".to_string()))
            .collect::<Vec<_>>()
    );
    // Both delays were waited (200ms, then 400ms).
    assert!(took >= std::time::Duration::from_millis(600), "{took:?}");
    assert_eq!(h.depth("shipping.dlq").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_and_last_attempts_land_in_the_dlq_with_their_reasons() {
    needs_broker!();
    let h = Harness::new("worker-dlq", SHIPPING).await;
    let long_error = "x".repeat(100_000);
    let running = h.serve(
        "shipping",
        handler::function(move |m| {
            let long_error = long_error.clone();
            async move {
                match m.body["kind"].as_str() {
                    Some("permanent") => Err(Failure::permanent("order 7 does not exist")),
                    Some("huge") => Err(Failure::permanent(long_error)),
                    _ => Err(Failure::transient("warehouse offline")),
                }
            }
        }),
    );
    h.publish(
        "orders",
        "order.paid",
        &[
            json!({ "kind": "permanent" }),
            json!({ "kind": "transient" }),
            json!({ "kind": "huge" }),
        ],
    )
    .await;
    let dead = h.take("shipping.dlq", 3).await;
    h.drained("shipping").await;
    running.stop().await;
    let by_kind: BTreeMap<String, _> = dead
        .iter()
        .map(|m| (body(m)["kind"].as_str().unwrap().to_string(), m))
        .collect();
    let permanent = by_kind["permanent"];
    assert_eq!(
        header(permanent, "x-warren-reason").as_deref(),
        Some("permanent-failure")
    );
    assert_eq!(
        header(permanent, "x-warren-error").as_deref(),
        Some("order 7 does not exist")
    );
    assert_eq!(header(permanent, "x-warren-attempt").as_deref(), Some("1"));
    assert_eq!(
        header(permanent, "x-warren-exchange").as_deref(),
        Some("orders")
    );
    assert_eq!(
        header(permanent, "x-warren-routing-key").as_deref(),
        Some("order.paid")
    );
    assert_eq!(
        header(permanent, "x-warren-service").as_deref(),
        Some("shipping")
    );
    assert!(header(permanent, "x-warren-dead-lettered-at").is_some());
    // The message itself is kept as it was published.
    assert_eq!(
        permanent
            .delivery
            .properties
            .message_id()
            .as_ref()
            .unwrap()
            .as_str(),
        "id-0"
    );

    let last = by_kind["transient"];
    assert_eq!(
        header(last, "x-warren-reason").as_deref(),
        Some("attempts-exhausted")
    );
    assert_eq!(header(last, "x-warren-attempt").as_deref(), Some("3"));
    assert_eq!(
        header(last, "x-warren-error").as_deref(),
        Some("warehouse offline")
    );
    assert_eq!(
        header(last, "x-warren-routing-key").as_deref(),
        Some("order.paid")
    );

    // A 100 kB error is capped: the connection survived to dead-letter it.
    let huge = header(by_kind["huge"], "x-warren-error").unwrap();
    assert!(
        huge.len() <= 1024 && huge.ends_with("..."),
        "{}",
        huge.len()
    );
    assert_eq!(h.depth("shipped").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_emit_and_bad_input_are_dead_lettered_without_emitting() {
    needs_broker!();
    let h = Harness::new("worker-refuse", SHIPPING).await;
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let running = h.serve(
        "shipping",
        handler::function(move |_| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                Ok(vec![
                    Event::new("order.shipped", json!({})),
                    Event::new("order.refunded", json!({})),
                ])
            }
        }),
    );
    let json_type = lapin::BasicProperties::default().with_content_type("application/json".into());
    h.publish_raw(
        "orders",
        "order.paid",
        vec![
            (
                b"{\"order\": 1}".to_vec(),
                json_type.clone().with_message_id("emits".into()),
            ),
            (
                b"{not json".to_vec(),
                json_type.clone().with_message_id("malformed".into()),
            ),
            (
                b"hello".to_vec(),
                lapin::BasicProperties::default()
                    .with_content_type("text/plain".into())
                    .with_message_id("text".into()),
            ),
            (
                vec![b' '; 5 * 1024 * 1024],
                json_type.with_message_id("huge".into()),
            ),
        ],
    )
    .await;
    let dead = h.take("shipping.dlq", 4).await;
    h.drained("shipping").await;
    running.stop().await;
    let reasons: BTreeMap<String, (String, String)> = dead
        .iter()
        .map(|m| {
            (
                m.delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .unwrap()
                    .to_string(),
                (
                    header(m, "x-warren-reason").unwrap(),
                    header(m, "x-warren-error").unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(reasons["emits"].0, "undeclared-emit");
    assert!(
        reasons["emits"].1.contains("\"order.refunded\""),
        "{}",
        reasons["emits"].1
    );
    assert_eq!(reasons["malformed"].0, "malformed-body");
    assert_eq!(reasons["text"].0, "unsupported-content-type");
    assert_eq!(reasons["huge"].0, "oversized-body");
    // Only the well-formed message reached the handler, and none of its
    // events went out: a batch with an undeclared key is refused whole.
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(h.depth("shipped").await, 0);
}

/// `SHIPPING` with idempotency on the message id, in `store`.
fn idempotent(store: &str) -> String {
    SHIPPING.replace(
        "    concurrency: 4\n",
        &format!("    concurrency: 4\n    idempotency: {{ key: message_id, store: {store:?}, ttl: 10m }}\n"),
    )
}

async fn duplicates_are_skipped(name: &str, store: &str) {
    let h = Harness::new(name, &idempotent(store)).await;
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let make = |calls: Arc<std::sync::atomic::AtomicUsize>| {
        handler::function(move |m| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok(vec![Event::new("order.shipped", m.body)]) }
        })
    };
    let running = h.serve("shipping", make(calls.clone()));
    let orders: Vec<_> = (0..10).map(|i| json!({ "order": i })).collect();
    h.publish("orders", "order.paid", &orders).await;
    h.take("shipped", 10).await;
    // The same ten message ids again: acked, not handled.
    h.publish("orders", "order.paid", &orders).await;
    h.drained("shipping").await;
    running.stop().await;
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 10);
    assert_eq!(h.depth("shipped").await, 0);
    if store.starts_with("redis") {
        // A new worker process shares the store: still duplicates.
        let running = h.serve("shipping", make(calls.clone()));
        h.publish("orders", "order.paid", &orders[..3]).await;
        h.drained("shipping").await;
        running.stop().await;
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 10);
        // Remove what this vhost left in Redis.
        let client = redis::Client::open(store).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("warren:handled:{}:*", h.vhost.name))
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(keys.len(), 10);
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut c)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_skipped_with_the_memory_store() {
    needs_broker!();
    duplicates_are_skipped("worker-idem-memory", "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_skipped_with_the_redis_store_across_worker_restarts() {
    needs_broker!();
    duplicates_are_skipped("worker-idem-redis", "redis://127.0.0.1:6379").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_fails_its_message_not_the_worker() {
    needs_broker!();
    let h = Harness::new("worker-panic", SHIPPING).await;
    let running = h.serve(
        "shipping",
        handler::function(|m| async move {
            if m.body["order"] == 1 && m.attempt == 1 {
                panic!("bug in order 1");
            }
            Ok(vec![Event::new(
                "order.shipped",
                json!({ "order": m.body["order"], "attempt": m.attempt }),
            )])
        }),
    );
    h.publish(
        "orders",
        "order.paid",
        &[json!({ "order": 1 }), json!({ "order": 2 })],
    )
    .await;
    let shipped = h.take("shipped", 2).await;
    running.stop().await;
    let attempts: BTreeMap<u64, u64> = shipped
        .iter()
        .map(|m| {
            (
                body(m)["order"].as_u64().unwrap(),
                body(m)["attempt"].as_u64().unwrap(),
            )
        })
        .collect();
    // The panic was a transient failure: retried after the first delay.
    assert_eq!(attempts, BTreeMap::from([(1, 2), (2, 1)]));
}
