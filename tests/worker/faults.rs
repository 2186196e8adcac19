//! Nothing is lost when a worker stops or its connection is cut.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

fn orders(shipped: &[lapin::message::BasicGetMessage]) -> BTreeSet<u64> {
    shipped
        .iter()
        .map(|m| body(m)["order"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_finishes_what_is_in_flight_and_loses_nothing() {
    if !crate::support::broker::available() {
        return;
    }
    let h = Harness::new("worker-shutdown", SHIPPING).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let running = h.start(
        h.runner()
            .handler(
                "shipping",
                slow_shipper(calls.clone(), Duration::from_millis(100)),
            )
            .unwrap(),
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
    let running = h.start(
        h.runner()
            .handler(
                "shipping",
                slow_shipper(calls.clone(), Duration::from_millis(1)),
            )
            .unwrap(),
    );
    let rest = h.take("shipped", 60 - done).await;
    h.drained("shipping").await;
    running.stop().await;
    let mut every = orders(&shipped);
    every.extend(orders(&rest));
    assert_eq!(every, (0..60).collect());
}

/// Closes every client connection of the vhost through the management
/// API, as `rabbitmqctl close_all_connections` does; returns how many.
pub async fn close_connections(h: &Harness) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let connections = h
            .vhost
            .http
            .api()
            .list_connections_in(&h.vhost.name)
            .await
            .unwrap();
        if !connections.is_empty() {
            for c in &connections {
                let _ = h
                    .vhost
                    .http
                    .api()
                    .close_connection(&c.name, Some("test: connection cut"), true)
                    .await;
            }
            return connections.len();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no connection to close"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_mid_stream_loses_nothing_and_the_worker_reconnects() {
    if !crate::support::broker::available() {
        return;
    }
    let h = Harness::new("worker-cut", SHIPPING).await;
    let all: Vec<_> = (0..400).map(|i| json!({ "order": i })).collect();
    h.publish("orders", "order.paid", &all).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let runner = h
        .runner()
        .handler(
            "shipping",
            slow_shipper(calls.clone(), Duration::from_millis(5)),
        )
        .unwrap();
    let health = runner.health();
    let running = h.start(runner);
    while calls.load(Ordering::SeqCst) < 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let closed = close_connections(&h).await;
    assert!(closed >= 1);
    let at_cut = calls.load(Ordering::SeqCst);
    // Reported down, then up again on its own.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut saw_down = false;
    loop {
        let down = !health.down().is_empty();
        saw_down |= down;
        if saw_down && !down {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker did not reconnect"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
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
}
