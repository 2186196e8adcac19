//! Delayed emits: held in a TTL queue per target exchange and delay, then
//! dead-lettered into the target with their own key. They arrive after
//! their delay, never before, and a short delay is not held up behind a
//! long one.

use std::time::{Duration, Instant};

use lapin::message::BasicGetMessage;
use lapin::options::BasicGetOptions;
use serde_json::json;
use warren::worker::{Event, handler};

use super::{Harness, body};
use crate::support::Warren;

const DELAYED: &str = r#"
exchanges:
  orders: { type: topic }
queues:
  confirmations:
    external: true
    bindings: [{ exchange: orders, key: order.confirm }]
  late:
    external: true
    bindings: [{ exchange: orders, key: order.late }]
services:
  confirmer:
    consumes: { exchange: orders, keys: [order.created] }
    emits: [{ exchange: orders, keys: [order.confirm], delay: 2s }]
  scheduler:
    emits: [{ exchange: orders, keys: [order.late], delay: 4s }]
"#;

/// The tolerance past a delay: the broker expires a queue's head on a
/// timer, and CI machines are busy.
const LATE_BY_AT_MOST: Duration = Duration::from_secs(5);

/// Takes `count` messages off `queue` as they arrive, with when each came.
async fn arrivals(h: &Harness, queue: &str, count: usize) -> Vec<(Instant, BasicGetMessage)> {
    let connection = warren::broker::connect(&h.vhost.settings, &h.vhost.name)
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < count {
        match channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            Some(m) => got.push((Instant::now(), m)),
            None => {
                assert!(
                    Instant::now() < deadline,
                    "{queue}: {} of {count} after 30s",
                    got.len()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let _ = connection.close(200, "taken".into()).await;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_emit_arrives_after_its_delay_and_not_before() {
    needs_broker!();
    let h = Harness::new("worker-delay", DELAYED).await;
    let running = h.serve(
        "confirmer",
        handler::function(|m| async move {
            Ok(vec![Event::new(
                "order.confirm",
                json!({ "order": m.body["order"] }),
            )])
        }),
    );
    let orders: Vec<_> = (0..10).map(|i| json!({ "order": i })).collect();
    let published = Instant::now();
    h.publish("orders", "order.created", &orders).await;
    let got = arrivals(&h, "confirmations", 10).await;
    h.drained("confirmer").await;
    running.stop().await;
    let mut seen: Vec<u64> = got
        .iter()
        .map(|(_, m)| body(m)["order"].as_u64().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..10).collect::<Vec<u64>>());
    for (at, m) in &got {
        let after = at.duration_since(published);
        assert!(
            after >= Duration::from_secs(2),
            "{:?} arrived {after:?} after the order, before its 2s delay",
            body(m)
        );
        assert!(
            after < Duration::from_secs(2) + LATE_BY_AT_MOST,
            "{:?} arrived {after:?} after the order",
            body(m)
        );
        // Dead-lettered by expiry from the delay queue, with its own key.
        assert_eq!(m.delivery.routing_key.as_str(), "order.confirm");
    }
    assert_eq!(h.depth("orders.delay.2s").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_delay_uses_the_specs_delay_queue_and_a_short_delay_overtakes_a_long_one() {
    needs_broker!();
    let h = Harness::new("worker-publish-delay", DELAYED).await;
    let spec = h.spec();
    let publish = |args: &[&str]| {
        Warren::new()
            .args(["publish"])
            .arg_path(&spec)
            .args(args)
            .args(["--body", r#"{"n": 1}"#])
    };
    // The service's emit brings its delay (4s); published first.
    let first = Instant::now();
    let ran = publish(&["--service", "scheduler", "--key", "order.late"]).success();
    ran.stdout_has("waits 4s in the delay queue \"orders.delay.4s\"");
    // Then a 2s delay through the other delay queue, by hand.
    let second = Instant::now();
    publish(&[
        "--exchange",
        "orders",
        "--key",
        "order.confirm",
        "--delay",
        "2s",
    ])
    .success();
    let (confirmed, _) = arrivals(&h, "confirmations", 1).await.remove(0);
    let (late, _) = arrivals(&h, "late", 1).await.remove(0);
    assert!(confirmed >= second + Duration::from_secs(2));
    assert!(late >= first + Duration::from_secs(4));
    assert!(late < first + Duration::from_secs(4) + LATE_BY_AT_MOST);
    assert!(confirmed < late, "the 2s message waited behind the 4s one");

    // A delay the spec has no queue for, and one that contradicts the
    // service's emit, are refused before connecting.
    let ran = publish(&[
        "--exchange",
        "orders",
        "--key",
        "order.confirm",
        "--delay",
        "3s",
    ])
    .status(1);
    ran.stderr_has("no delay of 3s into exchange \"orders\"");
    let ran = publish(&[
        "--service",
        "scheduler",
        "--key",
        "order.late",
        "--delay",
        "1s",
    ])
    .status(1);
    ran.stderr_has("delayed by 4s");
}
