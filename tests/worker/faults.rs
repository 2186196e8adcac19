//! Nothing is lost when a worker stops or its connection is cut.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rabbitmq_http_client::commons::VirtualHostLimitTarget;
use rabbitmq_http_client::requests::EnforcedLimitParams;
use serde_json::json;
use warren::worker::{Event, handler};

use super::{Harness, SHIPPING, body};

fn slow_shipper(calls: Arc<AtomicUsize>, pause: Duration) -> impl warren::worker::Handler {
    handler::function(move |m| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(pause).await;
            Ok(vec![Event::new("order.shipped", m.body)])
        }
    })
}

/// Handles orders below 50 at once and holds the rest until `gate` opens:
/// a fault then strikes while deliveries are surely in flight.
fn gated_shipper(
    calls: Arc<AtomicUsize>,
    gate: tokio::sync::watch::Receiver<bool>,
) -> impl warren::worker::Handler {
    handler::function(move |m| {
        calls.fetch_add(1, Ordering::SeqCst);
        let mut gate = gate.clone();
        async move {
            if m.body["order"].as_u64().unwrap_or(0) >= 50 {
                let _ = gate.wait_for(|open| *open).await;
            }
            Ok(vec![Event::new("order.shipped", m.body)])
        }
    })
}

fn orders(shipped: &[lapin::message::BasicGetMessage]) -> BTreeSet<u64> {
    shipped
        .iter()
        .map(|m| body(m)["order"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_finishes_what_is_in_flight_and_loses_nothing() {
    needs_broker!();
    let h = Harness::new("worker-shutdown", SHIPPING).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let running = h.serve(
        "shipping",
        slow_shipper(calls.clone(), Duration::from_millis(100)),
    );
    let all: Vec<_> = (0..60).map(|i| json!({ "order": i })).collect();
    h.publish("orders", "order.paid", &all).await;
    // Stop while handlers are mid-call (4 at once, 100 ms each).
    while calls.load(Ordering::SeqCst) < 10 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.stop().await;
    let done = calls.load(Ordering::SeqCst);
    assert!(
        done < 60,
        "the shutdown came too late to test anything ({done})"
    );
    // Every call that started finished and was emitted; nothing else was
    // taken off the queue.
    let shipped = h.take("shipped", done).await;
    assert_eq!(h.depth("shipped").await, 0, "more emitted than handled");
    let left = h.depth("shipping").await;
    assert_eq!(left as usize + done, 60, "{left} left, {done} handled");
    // A new worker finishes the rest.
    let running = h.serve(
        "shipping",
        slow_shipper(calls.clone(), Duration::from_millis(1)),
    );
    let rest = h.take("shipped", 60 - done).await;
    h.drained("shipping").await;
    running.stop().await;
    let mut every = orders(&shipped);
    every.extend(orders(&rest));
    assert_eq!(every, (0..60).collect());
}

/// Closes every client connection of the harness's vhost; returns how
/// many.
pub async fn close_connections(h: &Harness) -> usize {
    crate::support::broker::close_connections(&h.vhost.http, &h.vhost.name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_mid_stream_loses_nothing_and_the_worker_reconnects() {
    needs_broker!();
    let h = Harness::new("worker-cut", SHIPPING).await;
    let all: Vec<_> = (0..400).map(|i| json!({ "order": i })).collect();
    h.publish("orders", "order.paid", &all).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let (open, gate) = tokio::sync::watch::channel(false);
    let runner = h
        .runner()
        .handler("shipping", gated_shipper(calls.clone(), gate))
        .unwrap();
    let health = runner.health();
    // /metrics and /healthz, served as `warren run --metrics-addr` serves them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server_stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(warren::worker::metrics::serve(
        listener,
        warren::worker::metrics::recorder().unwrap(),
        health.clone(),
        server_stop.clone(),
    ));
    let healthz = |endpoint: String| async move {
        let r = reqwest::get(format!("{endpoint}/healthz")).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    let running = h.start(runner);
    while calls.load(Ordering::SeqCst) < 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(healthz(endpoint.clone()).await.0, 200);
    // The vhost takes no connections until the test says so: the worker
    // stays down for as long as it takes to see it reported down, however
    // fast its reconnect would have been.
    let api = h.vhost.http.api();
    api.set_vhost_limit(
        &h.vhost.name,
        EnforcedLimitParams::new(VirtualHostLimitTarget::MaxConnections, 0),
    )
    .await
    .unwrap();
    let closed = close_connections(&h).await;
    assert!(closed >= 1);
    let at_cut = calls.load(Ordering::SeqCst);
    open.send(true).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, text) = healthz(endpoint.clone()).await;
        if status == 503 {
            assert!(text.contains("shipping"), "{text}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/healthz never said the worker was disconnected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!health.down().is_empty());
    api.clear_vhost_limit(&h.vhost.name, VirtualHostLimitTarget::MaxConnections)
        .await
        .unwrap();
    // Up again on its own once the broker takes connections.
    while !health.down().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker did not reconnect"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(healthz(endpoint.clone()).await.0, 200);
    // Every order shipped at least once; a few may twice (handled, then
    // the ack was lost with the connection).
    let mut shipped = BTreeSet::new();
    let mut copies = 0;
    while shipped.len() < 400 {
        let got = h.take("shipped", 1).await;
        copies += 1;
        shipped.extend(orders(&got));
    }
    h.drained("shipping").await;
    running.stop().await;
    copies += h
        .take("shipped", h.depth("shipped").await as usize)
        .await
        .len();
    assert_eq!(shipped, (0..400).collect());
    assert!(at_cut < 400, "the cut came after the work was done");
    eprintln!("cut after {at_cut} calls; {copies} shipped for 400 orders");
    assert!(copies - 400 <= 40, "{} duplicates", copies - 400);
    let metrics = reqwest::get(format!("{endpoint}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    server_stop.cancel();
    let count = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{service=\"shipping\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
    };
    assert!(count("warren_messages_acked_total") >= 400.0, "{metrics}");
    assert!(count("warren_messages_received_total") >= count("warren_messages_acked_total"));
    assert!(count("warren_events_emitted_total") >= 400.0);
    assert!(
        metrics.contains("warren_handler_seconds_bucket{service=\"shipping\""),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_stopped_and_started_again_loses_nothing() {
    needs_broker!();
    // A node of this test's own: stopping the shared broker would fail
    // every other test running beside this one.
    let Some(node) = tokio::task::spawn_blocking(|| crate::support::node::Node::start("restart"))
        .await
        .unwrap()
    else {
        eprintln!("skipped: rabbitmq-server is not installed here");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, format!("version: 1\n{SHIPPING}")).unwrap();
    crate::support::Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&spec)
        .args(node.flags())
        .success();
    let topology = warren::validate::validate(std::slice::from_ref(&spec))
        .unwrap()
        .topologies
        .remove(0);
    let settings = node.settings();

    let connection = warren::broker::connect(&settings, "/").await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await
        .unwrap();
    for i in 0..300 {
        channel
            .basic_publish(
                "orders".into(),
                "order.paid".into(),
                lapin::options::BasicPublishOptions::default(),
                json!({ "order": i }).to_string().as_bytes(),
                lapin::BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let _ = connection.close(200, "loaded".into()).await;

    let calls = Arc::new(AtomicUsize::new(0));
    let (open, gate) = tokio::sync::watch::channel(false);
    let runner = warren::worker::Runner::new(topology, settings.clone())
        .handler("shipping", gated_shipper(calls.clone(), gate))
        .unwrap();
    let health = runner.health();
    let cancel = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(runner.run(cancel.clone()));
    while calls.load(Ordering::SeqCst) < 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let node = tokio::task::spawn_blocking(move || {
        assert!(node.ctl(&["stop_app"]).status.success());
        std::thread::sleep(Duration::from_secs(2));
        assert!(node.ctl(&["start_app"]).status.success());
        node.await_up();
        node
    })
    .await
    .unwrap();
    let at_restart = calls.load(Ordering::SeqCst);
    assert!(at_restart < 300, "the restart came after the work was done");
    open.send(true).unwrap();

    // Every order shipped at least once, read straight off the node.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let connection = loop {
        match warren::broker::connect(&settings, "/").await {
            Ok(c) => break c,
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    let channel = connection.create_channel().await.unwrap();
    let mut shipped = BTreeSet::new();
    let mut copies = 0;
    while shipped.len() < 300 {
        match channel
            .basic_get(
                "shipped".into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
        {
            Some(m) => {
                copies += 1;
                shipped.insert(
                    serde_json::from_slice::<serde_json::Value>(&m.delivery.data).unwrap()["order"]
                        .as_u64()
                        .unwrap(),
                );
            }
            None => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{} of 300 shipped after the restart",
                    shipped.len()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    assert!(health.down().is_empty(), "reconnected, yet reported down");
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let _ = connection.close(200, "done".into()).await;
    assert_eq!(shipped, (0..300).collect());
    eprintln!("restarted after {at_restart} calls; {copies} shipped for 300 orders");
    drop(node);
}
