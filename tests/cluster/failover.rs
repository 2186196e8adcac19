//! Workers and publishers while the node they are connected to stops.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lapin::BasicProperties;
use lapin::options::BasicGetOptions;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use warren::worker::{Event, Runner, handler};

use super::{NODES, on, settings, start, stop};

const SPEC: &str = r#"
defaults: { queue_type: quorum }
exchanges:
  orders: { type: topic }
queues:
  shipped:
    external: true
    bindings: [{ exchange: orders, key: order.shipped }]
services:
  shipping:
    consumes: { exchange: orders, keys: [order.paid] }
    emits: [{ exchange: orders, keys: [order.shipped] }]
    retry: { delays: [1s, 5s] }
    prefetch: 20
    concurrency: 4
"#;

/// Publishes `order.paid` for `ids`, each confirmed, on whichever node
/// takes the connection; a publish cut off by a stopping node is repeated
/// on the next connection (at least once, as any careful publisher).
async fn publish(settings: &warren::broker::Settings, vhost: &str, ids: std::ops::Range<u64>) {
    let mut channel = None;
    for id in ids {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if channel.is_none()
                && let Ok(c) = warren::broker::connect(settings, vhost).await
            {
                channel = warren::broker::confirm_channel(&c)
                    .await
                    .ok()
                    .map(|ch| (c, ch));
            }
            let sent = match &channel {
                Some((_, ch)) => warren::worker::emit::publish(
                    ch,
                    "orders",
                    "order.paid",
                    json!({ "order": id }).to_string().as_bytes(),
                    BasicProperties::default()
                        .with_content_type("application/json".into())
                        .with_message_id(format!("paid-{id}").into()),
                )
                .await
                .is_ok(),
                None => false,
            };
            if sent {
                break;
            }
            channel = None;
            assert!(Instant::now() < deadline, "order {id} never published");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_node_stops_reconnects_to_another_and_loses_nothing() {
    if !super::available() {
        return;
    }
    let (vhost, _dir, spec) = super::vhost_with("cluster-failover", SPEC).await;
    on(&NODES, &["apply", "--yes"], &spec).success();
    let topology = warren::validate::validate(std::slice::from_ref(&spec))
        .unwrap()
        .topologies
        .remove(0);

    // The worker and the publisher both start on node 1, the first URL.
    let cluster = settings(&NODES);
    let runner = Runner::new(topology, cluster.clone())
        .handler(
            "shipping",
            handler::function(|m| async move {
                Ok(vec![Event::new(
                    "order.shipped",
                    json!({ "order": m.body["order"] }),
                )])
            }),
        )
        .unwrap();
    let cancel = CancellationToken::new();
    let running = tokio::spawn(runner.run(cancel.clone()));
    publish(&cluster, &vhost.name, 0..300).await;

    // Node 1 goes away mid-flow; publishing goes on against the others.
    let stopping = tokio::task::spawn_blocking(|| stop(1));
    publish(&cluster, &vhost.name, 300..600).await;
    stopping.await.unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", super::amqp_port(1))).is_err(),
        "node 1 still takes connections"
    );
    publish(&cluster, &vhost.name, 600..800).await;

    // Every order shipped at least once, read back through node 2.
    let on_two = settings(&[2, 3]);
    let connection = warren::broker::connect(&on_two, &vhost.name).await.unwrap();
    let mut channel = connection.create_channel().await.unwrap();
    let mut shipped = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while shipped.len() < 800 {
        let got = channel
            .basic_get("shipped".into(), BasicGetOptions { no_ack: true })
            .await;
        // While the queue's leader moves off the stopped node the broker
        // answers a get with "nodedown", closing the channel: read on
        // through a new one.
        let got = match got {
            Ok(got) => got,
            Err(e) => {
                assert!(Instant::now() < deadline, "reading shipped: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
                channel = connection.create_channel().await.unwrap();
                continue;
            }
        };
        match got {
            Some(m) => {
                let body: serde_json::Value = serde_json::from_slice(&m.delivery.data).unwrap();
                shipped.insert(body["order"].as_u64().unwrap());
            }
            None => {
                assert!(
                    Instant::now() < deadline,
                    "{} of 800 orders shipped; missing from {:?}",
                    shipped.len(),
                    (0..800).find(|i| !shipped.contains(i))
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let counts = warren::broker::queue_counts(&on_two, &vhost.name, ["shipping.dlq"])
        .await
        .unwrap();
    assert_eq!(counts.get("shipping.dlq").map_or(0, |c| c.0), 0);
    let _ = connection.close(200, "read".into()).await;
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the runner stops")
        .unwrap()
        .unwrap();

    // Node 1 comes back and its members catch up.
    tokio::task::spawn_blocking(|| start(1)).await.unwrap();
    super::await_all_online(&vhost, &["shipping", "shipped", "shipping.dlq"]).await;
    // `warren status` on the cluster shows each queue's members; a node
    // just back may report its own member late.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ran = on(&NODES, &["status", "--json"], &spec).success();
        let status: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
        let queue = &status["services"][0]["queue"];
        let count = |field: &str| queue[field].as_array().map(Vec::len);
        assert_eq!(count("members"), Some(3), "{status:#}");
        if count("online") == Some(3) {
            break;
        }
        assert!(Instant::now() < deadline, "{status:#}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
