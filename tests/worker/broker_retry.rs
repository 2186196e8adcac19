//! `retry: { via: broker }` on RabbitMQ 4.3: the worker rejects a failed
//! delivery back to its quorum queue, which holds it for `min × failures`
//! (at most `max`) before redelivering it; the attempt comes from the
//! queue's delivery count; the last attempt goes to the DLQ with warren's
//! reason headers, and the queue's delivery limit dead-letters a message
//! nobody settles. Skipped (with a note) on older releases, which ignore
//! the queue's delayed-retry settings.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lapin::options::{BasicConsumeOptions, BasicRejectOptions};
use serde_json::json;
use warren::vocabulary::Version;
use warren::worker::{Event, Failure, handler};

use super::{Harness, body, header};

const DELAYED_RETRY: Version = Version::new(4, 3);

/// Whether the broker delays redeliveries itself; says so when not.
async fn delays_redeliveries(test: &str) -> bool {
    crate::support::broker::release_at_least(DELAYED_RETRY, test).await
}

fn spec(min: &str, max: &str, attempts: u32) -> String {
    format!(
        r#"
broker: {{ version: "4.3" }}
defaults: {{ queue_type: quorum }}
exchanges:
  orders: {{ type: topic }}
queues:
  shipped:
    external: true
    bindings: [{{ exchange: orders, key: order.shipped }}]
services:
  shipping:
    consumes: {{ exchange: orders, keys: [order.paid] }}
    emits: [{{ exchange: orders, keys: [order.shipped] }}]
    retry: {{ via: broker, min: {min}, max: {max}, attempts: {attempts} }}
    prefetch: 10
    concurrency: 4
"#
    )
}

/// The broker's tolerance past a delay on a busy machine.
const LATE_BY_AT_MOST: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_waits_longer_and_the_last_attempt_lands_in_the_dlq() {
    if !delays_redeliveries("broker-retry").await {
        return;
    }
    let h = Harness::new("broker-retry", &spec("400ms", "1s", 4)).await;
    // Installed before anything counts (each test is a process of its own).
    let prometheus = warren::worker::metrics::recorder().unwrap();
    // No delay queues: the service's own queue does the waiting.
    let retry = h.topology.services["shipping"].retry.clone().unwrap();
    assert!(retry.delay_queues.is_empty());
    let calls: Arc<Mutex<Vec<(String, u32, Instant)>>> = Arc::default();
    let seen = calls.clone();
    let running = h.serve(
        "shipping",
        handler::function(move |m| {
            let seen = seen.clone();
            async move {
                let kind = m.body["kind"].as_str().unwrap_or_default().to_string();
                seen.lock()
                    .unwrap()
                    .push((kind.clone(), m.attempt, Instant::now()));
                match kind.as_str() {
                    "recovers" if m.attempt >= 3 => Ok(vec![Event::new(
                        "order.shipped",
                        json!({ "attempt": m.attempt }),
                    )]),
                    "permanent" => Err(Failure::permanent("no such order")),
                    _ => Err(Failure::transient("warehouse offline")),
                }
            }
        }),
    );
    h.publish(
        "orders",
        "order.paid",
        &[
            json!({ "kind": "recovers" }),
            json!({ "kind": "fails" }),
            json!({ "kind": "permanent" }),
        ],
    )
    .await;
    let shipped = h.take("shipped", 1).await;
    let dead = h.take("shipping.dlq", 2).await;
    h.drained("shipping").await;
    running.stop().await;

    assert_eq!(body(&shipped[0])["attempt"], 3);
    let calls = calls.lock().unwrap().clone();
    let of = |kind: &str| -> Vec<(u32, Instant)> {
        calls
            .iter()
            .filter(|(k, ..)| k == kind)
            .map(|(_, a, t)| (*a, *t))
            .collect()
    };
    // The attempts count 1, 2, 3 … from the queue's delivery count.
    let fails = of("fails");
    assert_eq!(
        fails.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        of("recovers").iter().map(|(a, _)| *a).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(of("permanent").len(), 1);
    // Each wait is the broker's: 400ms, 800ms, then capped at 1s; never
    // sooner.
    let broker = retry.broker.unwrap();
    for (n, pair) in fails.windows(2).enumerate() {
        let waited = pair[1].1 - pair[0].1;
        let due = Duration::from_millis(broker.delay_after(n as u32 + 1).millis);
        assert!(
            waited >= due - Duration::from_millis(50) && waited <= due + LATE_BY_AT_MOST,
            "retry {}: waited {waited:?}, due {due:?}",
            n + 1
        );
    }
    // The worker dead-letters the last attempt itself, with its reasons.
    let by_kind = |kind: &str| {
        dead.iter()
            .find(|m| body(m)["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in the DLQ"))
    };
    let exhausted = by_kind("fails");
    assert_eq!(
        header(exhausted, "x-warren-reason").as_deref(),
        Some("attempts-exhausted")
    );
    assert_eq!(header(exhausted, "x-warren-attempt").as_deref(), Some("4"));
    assert_eq!(
        header(exhausted, "x-warren-routing-key").as_deref(),
        Some("order.paid")
    );
    let permanent = by_kind("permanent");
    assert_eq!(
        header(permanent, "x-warren-reason").as_deref(),
        Some("permanent-failure")
    );
    assert_eq!(header(permanent, "x-warren-attempt").as_deref(), Some("1"));
    assert_eq!(h.depth("shipping").await, 0);
    // Each requeue the broker took is counted as a retry (3 of "fails", 2
    // of "recovers"): a reject that was not sent would not be.
    let rendered = prometheus.render();
    let retried = crate::support::metric(&rendered, "warren_messages_retried_total", "shipping");
    assert_eq!(retried, 5.0, "{rendered}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_limit_dead_letters_what_no_worker_settles() {
    if !delays_redeliveries("broker-retry-limit").await {
        return;
    }
    // attempts: 2 sets x-delivery-limit 2: a consumer that rejects every
    // delivery (a crashing worker does the same) sees it three times.
    let h = Harness::new("broker-retry-limit", &spec("100ms", "100ms", 2)).await;
    h.publish("orders", "order.paid", &[json!({ "order": 1 })])
        .await;
    let connection = warren::broker::connect(&h.vhost.settings, &h.vhost.name)
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let mut consumer = channel
        .basic_consume(
            "shipping".into(),
            "rejecter".into(),
            BasicConsumeOptions::default(),
            Default::default(),
        )
        .await
        .unwrap();
    let mut deliveries = 0;
    let dead = loop {
        tokio::select! {
            next = futures_util::StreamExt::next(&mut consumer) => {
                let delivery = next.expect("the consumer stays open").unwrap();
                deliveries += 1;
                assert!(deliveries <= 3, "delivered past the limit");
                delivery.reject(BasicRejectOptions { requeue: true }).await.unwrap();
            }
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if h.depth("shipping.dlq").await == 1 {
                    break h.take("shipping.dlq", 1).await;
                }
            }
        }
    };
    let _ = connection.close(200, "done".into()).await;
    assert_eq!(deliveries, 3);
    assert_eq!(
        header(&dead[0], "x-first-death-reason").as_deref(),
        Some("delivery_limit")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_the_messages_the_queue_holds_back() {
    if !delays_redeliveries("broker-retry-status").await {
        return;
    }
    // One failure, then a minute's wait: long enough to be seen.
    let h = Harness::new("broker-retry-status", &spec("1m", "1m", 3)).await;
    let running = h.serve(
        "shipping",
        handler::function(|_| async { Err(Failure::transient("busy")) }),
    );
    h.publish("orders", "order.paid", &[json!({ "order": 1 })])
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let shipping = loop {
        let status = warren::broker::status::status(&h.vhost.http, &h.topology)
            .await
            .unwrap();
        let shipping = status
            .services
            .into_iter()
            .find(|s| s.service == "shipping")
            .unwrap();
        // The management API refreshes its counts every few seconds.
        if shipping.retrying() == 1 || Instant::now() > deadline {
            break shipping;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    running.stop().await;
    assert!(shipping.retries());
    assert_eq!(
        (shipping.queue.delayed, shipping.retrying()),
        (1, 1),
        "{shipping:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_broker_retry_replaces_the_queue_and_plan_says_why() {
    if !delays_redeliveries("broker-retry-plan").await {
        return;
    }
    let h = Harness::new("broker-retry-plan", &spec("1s", "4s", 3)).await;
    let spec = std::fs::read_to_string(h.spec()).unwrap();
    let changed = spec.replace("min: 1s, max: 4s", "min: 2s, max: 4s");
    assert_ne!(spec, changed);
    std::fs::write(h.spec(), changed).unwrap();
    let ran = crate::support::Warren::new()
        .args(["plan", "--json", "--detailed-exitcode"])
        .arg_path(&h.spec())
        .status(2);
    let plan: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let change = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "queue" && c["name"] == "shipping")
        .unwrap_or_else(|| panic!("no change of queue shipping: {plan:#}"));
    assert_eq!(change["action"], "replace", "{change:#}");
    let attribute = change["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "arguments.x-delayed-retry-min")
        .unwrap_or_else(|| panic!("the replace does not name the delay: {change:#}"));
    assert_eq!(
        (&attribute["before"], &attribute["after"]),
        (&json!(1000), &json!(2000))
    );
}
