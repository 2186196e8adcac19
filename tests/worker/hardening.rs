//! The worker under hostile conditions: events AMQP cannot carry, a DLQ or
//! an exchange deleted behind warren's back, connections cut while
//! messages are prefetched, a handler process that a message crashes.
//! Each test counts the handler's runs per message: nothing lost, and no
//! message handled again for another message's fault.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use warren::worker::{Event, Failure, handler};

use super::{Harness, SHIPPING, body, header};
use crate::support::Warren;

/// Handler runs per order.
#[derive(Clone, Default)]
struct Runs(Arc<Mutex<BTreeMap<u64, usize>>>);

impl Runs {
    fn count(&self, message: &warren::worker::Message) -> u64 {
        let order = message.body["order"].as_u64().unwrap();
        *self.0.lock().unwrap().entry(order).or_default() += 1;
        order
    }
    fn of(&self, order: u64) -> usize {
        self.0.lock().unwrap().get(&order).copied().unwrap_or(0)
    }
    fn total(&self) -> usize {
        self.0.lock().unwrap().values().sum()
    }

    /// A runner for `h`'s `shipping` whose handler counts each run by the
    /// body's order, then answers as `answer` says for that order.
    fn shipping<F, Fut>(&self, h: &Harness, answer: F) -> warren::worker::Runner
    where
        F: Fn(u64, warren::worker::Message) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = warren::worker::Outcome> + Send + 'static,
    {
        let counted = self.clone();
        h.runner()
            .handler(
                "shipping",
                handler::function(move |m| answer(counted.count(&m), m)),
            )
            .unwrap()
    }
}

async fn until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The orders of `messages`, in order.
fn sorted_orders(messages: &[lapin::message::BasicGetMessage]) -> Vec<u64> {
    let mut orders: Vec<u64> = messages
        .iter()
        .map(|m| body(m)["order"].as_u64().unwrap())
        .collect();
    orders.sort_unstable();
    orders
}

fn orders(range: std::ops::Range<u64>) -> Vec<serde_json::Value> {
    range.map(|i| json!({ "order": i })).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_amqp_cannot_carry_is_dead_lettered_and_costs_the_others_nothing() {
    needs_broker!();
    let h = Harness::new("worker-poison-event", SHIPPING).await;
    let runs = Runs::default();
    let runner = runs.shipping(&h, move |order, _| {
        async move {
            let mut event = Event::new("order.shipped", json!({ "order": order }));
            match order {
                // Headers far past the frame size: the broker would
                // close the connection on them.
                3 => {
                    event
                        .headers
                        .insert("big".into(), json!("x".repeat(300_000)));
                }
                // A header name AMQP cannot encode.
                5 => {
                    event.headers.insert("n".repeat(300), json!(1));
                }
                _ => {}
            }
            Ok(vec![event])
        }
    });
    let running = h.start(runner);
    h.publish("orders", "order.paid", &orders(0..10)).await;
    let shipped = h.take("shipped", 8).await;
    let dead = h.take("shipping.dlq", 2).await;
    h.drained("shipping").await;
    running.stop().await;
    assert_eq!(sorted_orders(&shipped), [0, 1, 2, 4, 6, 7, 8, 9]);
    for m in &dead {
        assert_eq!(
            header(m, "x-warren-reason").as_deref(),
            Some("invalid-event")
        );
        let error = header(m, "x-warren-error").unwrap();
        assert!(error.contains("frame") || error.contains("255"), "{error}");
    }
    // No connection was lost: every message, the two culprits too, ran
    // exactly once.
    for order in 0..10 {
        assert_eq!(runs.of(order), 1, "order {order}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_dlq_pauses_the_service_holds_the_message_and_resumes_once_it_is_back() {
    needs_broker!();
    let h = Harness::new("worker-missing-dlq", SHIPPING).await;
    h.vhost
        .http
        .api()
        .delete_queue(&h.vhost.name, "shipping.dlq", false)
        .await
        .unwrap();
    let runs = Runs::default();
    let runner = runs
        .shipping(&h, move |order, _| async move {
            if order == 0 {
                return Err(Failure::permanent("no such order"));
            }
            Ok(vec![Event::new("order.shipped", json!({ "order": order }))])
        })
        .hold_limit(Duration::from_secs(5));
    let health = runner.health();
    let running = h.start(runner);
    h.publish("orders", "order.paid", &orders(0..1)).await;
    until("the service never paused", Duration::from_secs(30), || {
        health.problems().iter().any(|p| p.contains("paused"))
    })
    .await;
    let problem = health.problems().join("\n");
    assert!(
        problem.contains("shipping: paused") && problem.contains("\"dlq\""),
        "{problem}"
    );
    // `status` flags the missing queue, and --fail-on-dlq fails on it.
    let status = Warren::new()
        .args(["status", "--fail-on-dlq"])
        .arg_path(&h.spec())
        .status(2);
    status.stdout_has("retry chain missing");

    // While paused, nothing new is handled.
    let later: Vec<_> = (1..6).map(|i| json!({ "order": i })).collect();
    h.publish("orders", "order.paid", &later).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(runs.total(), 1, "handled while paused");
    // Past the hold limit the message goes back to its queue, comes back,
    // fails again and is held again: handled twice, never lost.
    until(
        "the held message was not returned",
        Duration::from_secs(30),
        || runs.of(0) >= 2,
    )
    .await;
    // Released, it is held again; the others, whose copies land, were
    // free to run in between, each once.
    until(
        "the service did not pause again",
        Duration::from_secs(30),
        || health.problems().iter().any(|p| p.contains("paused")),
    )
    .await;

    // Applying the spec again brings the DLQ back; the held copy lands and
    // the service resumes by itself.
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&h.spec())
        .success();
    let dead = h.take("shipping.dlq", 1).await;
    assert_eq!(body(&dead[0]), json!({ "order": 0 }));
    assert_eq!(
        header(&dead[0], "x-warren-reason").as_deref(),
        Some("permanent-failure")
    );
    let shipped = h.take("shipped", 5).await;
    assert_eq!(shipped.len(), 5);
    h.drained("shipping").await;
    until("still paused", Duration::from_secs(10), || {
        health.problems().is_empty()
    })
    .await;
    running.stop().await;
    for order in 1..6 {
        assert_eq!(runs.of(order), 1, "order {order}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_the_broker_closes_the_channel_on_fails_that_message_alone() {
    needs_broker!();
    // SHIPPING, emitting to an exchange of its own.
    let spec = SHIPPING
        .replace(
            "orders: { type: topic }",
            "orders: { type: topic }\n  outbound: { type: topic }",
        )
        .replace(
            "{ exchange: orders, key: order.shipped }",
            "{ exchange: outbound, key: order.shipped }",
        )
        .replace("emits: [{ exchange: orders", "emits: [{ exchange: outbound");
    let h = Harness::new("worker-channel-closed", &spec).await;
    let runs = Runs::default();
    let runner = runs.shipping(&h, move |order, _| async move {
        Ok(vec![Event::new("order.shipped", json!({ "order": order }))])
    });
    let running = h.start(runner);
    // The exchange the service emits to is deleted: each publish to it is
    // answered by closing the channel (404).
    h.vhost
        .http
        .api()
        .delete_exchange(&h.vhost.name, "outbound", false)
        .await
        .unwrap();
    h.publish("orders", "order.paid", &orders(0..3)).await;
    // Each reaches the DLQ. A copy whose confirm was lost when another
    // message's publish closed the channel is sent again, so a retry or
    // dead letter may arrive twice (at least once).
    let mut dead = std::collections::BTreeSet::new();
    while dead.len() < 3 {
        for m in h.take("shipping.dlq", 1).await {
            assert_eq!(
                header(&m, "x-warren-reason").as_deref(),
                Some("attempts-exhausted")
            );
            let error = header(&m, "x-warren-error").unwrap();
            assert!(error.contains("closed the channel"), "{error}");
            dead.insert(body(&m)["order"].as_u64().unwrap());
        }
    }
    // The service did not wedge: with the exchange back, work flows.
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&h.spec())
        .success();
    let more: Vec<_> = (10..15).map(|i| json!({ "order": i })).collect();
    h.publish("orders", "order.paid", &more).await;
    assert_eq!(h.take("shipped", 5).await.len(), 5);
    h.drained("shipping").await;
    running.stop().await;
    for order in 0..3 {
        assert!(runs.of(order) >= 3, "order {order}: one run per attempt");
    }
    for order in 10..15 {
        assert_eq!(runs.of(order), 1, "order {order}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_cut_no_handler_starts_on_the_dead_channel() {
    needs_broker!();
    let spec = SHIPPING.replace("concurrency: 4", "concurrency: 2");
    let h = Harness::new("worker-cut-bound", &spec).await;
    let runs = Runs::default();
    let runner = runs.shipping(&h, move |order, _| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(vec![Event::new("order.shipped", json!({ "order": order }))])
    });
    let running = h.start(runner);
    const MESSAGES: usize = 200;
    h.publish("orders", "order.paid", &orders(0..MESSAGES as u64))
        .await;
    let mut cuts = 0;
    for at in [40, 120] {
        let r = runs.clone();
        until(
            "the worker stopped working",
            Duration::from_secs(60),
            move || r.total() >= at,
        )
        .await;
        super::faults::close_connections(&h).await;
        cuts += 1;
    }
    let mut shipped = std::collections::BTreeSet::new();
    while shipped.len() < MESSAGES {
        for m in h.take("shipped", 1).await {
            shipped.insert(body(&m)["order"].as_u64().unwrap());
        }
    }
    h.drained("shipping").await;
    running.stop().await;
    // At most the deliveries in hand at each cut run twice: the
    // service's concurrency, and as many whose ack the cut swallowed.
    let in_flight = 2 * 2;
    let total = runs.total();
    eprintln!("{total} handler runs for {MESSAGES} messages and {cuts} cuts");
    assert!(
        total <= MESSAGES + cuts * in_flight,
        "{total} runs for {MESSAGES} messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_crashes_the_stdio_process_fails_alone() {
    needs_broker!();
    let h = Harness::new("worker-stdio-crash", SHIPPING).await;
    let script = h.dir.path().join("handler.py");
    std::fs::write(
        &script,
        r#"
import json, os, sys, time
for line in sys.stdin:
    request = json.loads(line)
    if request["body"].get("crash"):
        time.sleep(0.05)
        os._exit(3)
    time.sleep(0.1)
    reply = {"id": request["id"], "emit": [{"key": "order.shipped", "body": request["body"]}]}
    print(json.dumps(reply), flush=True)
"#,
    )
    .unwrap();
    let running = h.serve(
        "shipping",
        handler::Stdio::new(vec!["python3".into(), script.display().to_string()]),
    );
    let mut all = orders(0..8);
    all[3] = json!({ "order": 3, "crash": true });
    h.publish("orders", "order.paid", &all).await;
    let shipped = h.take("shipped", 7).await;
    let dead = h.take("shipping.dlq", 1).await;
    h.drained("shipping").await;
    running.stop().await;
    assert_eq!(
        sorted_orders(&shipped),
        [0, 1, 2, 4, 5, 6, 7],
        "each innocent once"
    );
    assert_eq!(body(&dead[0])["order"], 3);
    assert_eq!(
        header(&dead[0], "x-warren-reason").as_deref(),
        Some("attempts-exhausted")
    );
    assert_eq!(
        h.depth("shipping.dlq").await,
        0,
        "an innocent dead-lettered"
    );
    assert_eq!(h.depth("shipped").await, 0, "an innocent shipped twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_refuses_what_amqp_cannot_carry_instead_of_panicking() {
    needs_broker!();
    let h = Harness::new("worker-publish-hostile", SHIPPING).await;
    let long = "n".repeat(300);
    let header_name = format!("{long}=1");
    let cases: [(&[&str], &str); 4] = [
        (&["--header", &header_name], "255"),
        (&["--message-id", &long], "message id"),
        (&["--correlation-id", &long], "correlation id"),
        (&["--message-id", ""], "message id is empty"),
    ];
    for (args, says) in cases {
        let ran = Warren::new()
            .args(["publish"])
            .arg_path(&h.spec())
            .args([
                "--exchange",
                "orders",
                "--key",
                "order.paid",
                "--body",
                "{}",
            ])
            .args(args)
            .status_any();
        assert_eq!(ran.code, Some(1), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
    }
    // Headers larger than a frame (too long for a command line).
    let request = warren::worker::publish::Request {
        exchange: Some("orders".into()),
        key: "order.paid".into(),
        headers: [("big".to_string(), json!("x".repeat(300_000)))].into(),
        ..Default::default()
    };
    let refused = warren::worker::publish::send(&h.vhost.settings, &h.topology, &request)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("frame"), "{refused}");
    assert_eq!(h.depth("shipping").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_cannot_forge_warren_s_headers() {
    needs_broker!();
    let h = Harness::new("worker-forged", SHIPPING).await;
    let running = h.serve(
        "shipping",
        handler::function(|m| async move {
            Err(Failure::permanent(format!(
                "{} {} {}",
                m.exchange, m.routing_key, m.attempt
            )))
        }),
    );
    let mut forged = lapin::types::FieldTable::default();
    for (name, value) in [
        ("x-warren-exchange", "payments"),
        ("x-warren-routing-key", "payment.refunded"),
    ] {
        forged.insert(
            name.into(),
            lapin::types::AMQPValue::LongString(value.into()),
        );
    }
    forged.insert(
        "x-warren-attempt".into(),
        lapin::types::AMQPValue::LongLongInt(99),
    );
    let properties = lapin::BasicProperties::default()
        .with_content_type("application/json".into())
        .with_headers(forged);
    h.publish_raw(
        "orders",
        "order.paid",
        vec![(br#"{"order": 1}"#.to_vec(), properties)],
    )
    .await;
    let dead = h.take("shipping.dlq", 1).await;
    running.stop().await;
    // The handler and the dead letter see where it really came from.
    assert_eq!(
        header(&dead[0], "x-warren-error").as_deref(),
        Some("orders order.paid 1")
    );
    assert_eq!(
        header(&dead[0], "x-warren-exchange").as_deref(),
        Some("orders")
    );
    assert_eq!(header(&dead[0], "x-warren-attempt").as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_delays_share_one_delay_queue_and_retry_each_time() {
    needs_broker!();
    let spec = SHIPPING.replace("delays: [200ms, 400ms]", "delays: [100ms, 100ms, 100ms]");
    let h = Harness::new("worker-equal-delays", &spec).await;
    let retry = h.topology.services["shipping"].retry.clone().unwrap();
    assert_eq!(retry.delays.len(), 3);
    assert_eq!(retry.delay_queues, ["shipping.retry.100ms"]);
    let runs = Runs::default();
    let runner = runs.shipping(&h, move |order, m| async move {
        match m.attempt {
            1..=3 => Err(Failure::transient(format!("try {}", m.attempt))),
            _ => Ok(vec![Event::new("order.shipped", json!({ "order": order }))]),
        }
    });
    let running = h.start(runner);
    h.publish("orders", "order.paid", &orders(0..2)).await;
    assert_eq!(h.take("shipped", 2).await.len(), 2);
    h.drained("shipping").await;
    running.stop().await;
    assert_eq!((runs.of(0), runs.of(1)), (4, 4));
    assert_eq!(h.depth("shipping.dlq").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_lists_at_once_each_see_every_dead_letter_once() {
    needs_broker!();
    let h = Harness::new("worker-dlq-concurrent", SHIPPING).await;
    let letters: Vec<_> = (0..30)
        .map(|i| {
            (
                serde_json::to_vec(&json!({ "order": i })).unwrap(),
                lapin::BasicProperties::default()
                    .with_content_type("application/json".into())
                    .with_message_id(format!("dead-{i}").into()),
            )
        })
        .collect();
    h.publish_raw("", "shipping.dlq", letters).await;
    let spec = h.spec();
    let lists: Vec<_> = (0..3)
        .map(|_| {
            let spec = spec.clone();
            std::thread::spawn(move || {
                Warren::new()
                    .args(["dlq", "list"])
                    .arg_path(&spec)
                    .args(["shipping", "--json"])
                    .success()
                    .stdout
            })
        })
        .collect();
    for list in lists {
        let found: serde_json::Value = serde_json::from_str(&list.join().unwrap()).unwrap();
        let mut ids: Vec<&str> = found
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["message_id"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 30, "{found}");
    }
    assert_eq!(h.depth("shipping.dlq").await, 30);
}

/// What a cut and a returned (held past the limit) message cost on a
/// quorum queue, in `x-delivery-count`, on the release under test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_cut_and_a_return_cost_in_delivery_count() {
    use futures_util::StreamExt;
    use lapin::options::{BasicConsumeOptions, BasicGetOptions, BasicNackOptions};
    needs_broker!();
    let spec = "queues:\n  work: { type: quorum, external: true }\n";
    let h = Harness::new("worker-delivery-count", spec).await;
    h.publish_raw(
        "",
        "work",
        vec![(b"{}".to_vec(), lapin::BasicProperties::default())],
    )
    .await;
    let count = |m: &lapin::message::BasicGetMessage| {
        header(m, "x-delivery-count").map_or(0, |c| c.parse::<u64>().unwrap())
    };
    // A consumer takes it and its connection is cut.
    let cut = warren::broker::connect(&h.vhost.settings, &h.vhost.name)
        .await
        .unwrap();
    let channel = cut.create_channel().await.unwrap();
    let mut consumer = channel
        .basic_consume(
            "work".into(),
            "probe".into(),
            BasicConsumeOptions::default(),
            Default::default(),
        )
        .await
        .unwrap();
    consumer.next().await.unwrap().unwrap();
    cut.close(320, "cut".into()).await.unwrap();
    let after_cut = h.take("work", 1).await;
    // Put it back for the next probe: returned with a nack, as a held
    // message past the hold limit is.
    h.publish_raw(
        "",
        "work",
        vec![(b"{}".to_vec(), lapin::BasicProperties::default())],
    )
    .await;
    let connection = warren::broker::connect(&h.vhost.settings, &h.vhost.name)
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let got = channel
        .basic_get("work".into(), BasicGetOptions { no_ack: false })
        .await
        .unwrap()
        .unwrap();
    got.acker
        .nack(BasicNackOptions {
            requeue: true,
            multiple: false,
        })
        .await
        .unwrap();
    let after_nack = h.take("work", 1).await;
    let _ = connection.close(200, "done".into()).await;
    let release = crate::support::broker::release().await;
    let (cut, nack) = (count(&after_cut[0]), count(&after_nack[0]));
    eprintln!(
        "RabbitMQ {release}: a cut adds {cut}, a nack with requeue adds {nack} to x-delivery-count"
    );
    // The costs docs/workers.md states: a cut counts on every release; a
    // nack with requeue counts before 4.3, which counts only a reject as
    // a failed delivery.
    let nack_counts = release < warren::vocabulary::Version::parse("4.3").unwrap();
    assert_eq!(
        (cut, nack),
        (1, u64::from(nack_counts)),
        "RabbitMQ {release}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_whose_headers_leave_no_room_keeps_its_body_and_stays_readable() {
    needs_broker!();
    let h = Harness::new("worker-fat-headers", SHIPPING).await;
    let runs = Runs::default();
    let runner = runs.shipping(&h, |_, _| async {
        Err(Failure::permanent("no such order"))
    });
    let running = h.start(runner);
    // Headers that just fit a frame: warren's own would not fit beside.
    let mut fat = lapin::types::FieldTable::default();
    fat.insert(
        "document".into(),
        lapin::types::AMQPValue::LongString("x".repeat(130_850).into()),
    );
    h.publish_raw(
        "orders",
        "order.paid",
        vec![(
            br#"{"order": 7}"#.to_vec(),
            lapin::BasicProperties::default()
                .with_content_type("application/json".into())
                .with_message_id("fat-1".into())
                .with_headers(fat),
        )],
    )
    .await;
    let dead = h.take("shipping.dlq", 1).await;
    running.stop().await;
    assert_eq!(body(&dead[0]), json!({ "order": 7 }));
    assert!(
        header(&dead[0], "document").is_none(),
        "the message's own header was kept"
    );
    assert_eq!(
        header(&dead[0], "x-warren-reason").as_deref(),
        Some("permanent-failure")
    );
    let error = header(&dead[0], "x-warren-error").unwrap();
    assert!(
        error.starts_with("no such order") && error.contains("own headers were dropped"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_copy_lost_with_the_connection_is_left_to_the_broker_not_held() {
    needs_broker!();
    let h = Harness::new("worker-cut-copy", SHIPPING).await;
    // Installed before anything counts (each test is a process of its own).
    let prometheus = warren::worker::metrics::recorder().unwrap();
    let runs = Runs::default();
    let (cut, watch) = tokio::sync::watch::channel(false);
    let counted = runs.clone();
    // The first run of order 0 fails once the connection is gone, so its
    // retry copy meets a dead connection; every other run ships.
    let runner = runs.shipping(&h, move |order, _| {
        let (mut watch, first) = (watch.clone(), counted.of(order) == 1);
        async move {
            if order == 0 && first {
                let _ = watch.wait_for(|gone| *gone).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
                return Err(Failure::transient("warehouse offline"));
            }
            Ok(vec![Event::new("order.shipped", json!({ "order": order }))])
        }
    });
    let running = h.start(runner);
    h.publish("orders", "order.paid", &orders(0..1)).await;
    let r = runs.clone();
    until("order 0 started", Duration::from_secs(30), move || {
        r.of(0) >= 1
    })
    .await;
    super::faults::close_connections(&h).await;
    cut.send(true).unwrap();
    // The broker delivers order 0 again to the next session, which ships it.
    let shipped = h.take("shipped", 1).await;
    assert_eq!(body(&shipped[0])["order"], 0);
    h.drained("shipping").await;
    running.stop().await;
    let rendered = prometheus.render();
    // Abandoned to the broker at once: a copy lost with the connection is
    // not a refusal, so nothing was held and the service never paused.
    assert_eq!(
        crate::support::metric(&rendered, "warren_messages_held_total", "shipping"),
        0.0,
        "{rendered}"
    );
    assert!(
        crate::support::metric(&rendered, "warren_messages_abandoned_total", "shipping") >= 1.0,
        "{rendered}"
    );
    assert_eq!(runs.of(0), 2);
    assert_eq!(h.depth("shipping.dlq").await, 0);
}
