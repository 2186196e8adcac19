//! The order flow while things go wrong: each test breaks one thing
//! several times mid-run and then checks that everything still adds up
//! (`assert_adds_up`): nothing lost, one final state per order, no double
//! charge or shipment, and the workers back on their own.

use std::time::Duration;

use super::{Broker, ORDERS, Shop, assert_adds_up};

/// Waits until `share` of the batch has been placed, so that a fault
/// lands mid-run rather than before it.
pub async fn placed(db: &tokio_postgres::Client, share: f64) {
    loop {
        let n: i64 = db
            .query_one("SELECT count(*) FROM orders", &[])
            .await
            .map(|r| r.get(0))
            .unwrap_or(0);
        if n as f64 >= ORDERS as f64 * share {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const MID_RUN: [f64; 3] = [0.2, 0.5, 0.8];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_with_sigkill_mid_run_lose_nothing() {
    if !crate::support::broker::available() {
        return;
    }
    let mut shop = Shop::started("sigkill", &[]).await;
    let db = shop.db().await;
    let load = shop.spawn_load(ORDERS);
    for share in MID_RUN {
        placed(&db, share).await;
        // The worker process (and with it the stdio handlers) and the
        // audit service, unannounced: their unacked deliveries go back.
        shop.kill("run");
        shop.kill("audit");
        tokio::time::sleep(Duration::from_millis(500)).await;
        shop.start("run");
        shop.start("audit");
    }
    let summary = shop.summary(load.await.unwrap());
    assert_adds_up(&shop, &summary).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_force_closed_mid_run_lose_nothing() {
    if !crate::support::broker::available() {
        return;
    }
    let shop = Shop::started("cut", &[]).await;
    let db = shop.db().await;
    let load = shop.spawn_load(ORDERS);
    for share in MID_RUN {
        placed(&db, share).await;
        // Only this test's vhost: other tests share the broker.
        let http = warren::broker::http_client(&shop.broker.settings()).unwrap();
        crate::support::broker::close_connections(&http, shop.broker.vhost()).await;
    }
    let summary = shop.summary(load.await.unwrap());
    assert_adds_up(&shop, &summary).await;
    // Every service came back on its own: its consumers are there again.
    let queues = shop.broker.settings();
    let http = warren::broker::http_client(&queues).unwrap();
    let topology = warren::validate::validate(&[shop.spec()])
        .unwrap()
        .topologies
        .remove(0);
    let consuming = topology.services.values().filter_map(|s| s.queue.clone());
    for service in consuming {
        let queue = http
            .api()
            .get_queue_info(shop.broker.vhost(), &service)
            .await
            .unwrap();
        assert!(
            queue.consumer_count > 0,
            "{service} has no consumer after the cuts"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_stopped_and_started_mid_run_loses_nothing() {
    if !crate::support::broker::available() {
        return;
    }
    // A node of the test's own: stopping the shared broker would fail
    // every other test running beside this one.
    let Some(node) = tokio::task::spawn_blocking(|| crate::support::node::Node::start("shop"))
        .await
        .unwrap()
    else {
        eprintln!("skipped: rabbitmq-server is not installed here");
        return;
    };
    let mut shop = Shop::new("restart", Broker::Own(node, "shop".into()), &[]);
    shop.start_all();
    let db = shop.db().await;
    let load = shop.spawn_load(ORDERS);
    placed(&db, 0.4).await;
    let Broker::Own(node, _) = &shop.broker else {
        unreachable!()
    };
    assert!(node.ctl(&["stop_app"]).status.success());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(node.ctl(&["start_app"]).status.success());
    node.await_up();
    let summary = shop.summary(load.await.unwrap());
    assert_adds_up(&shop, &summary).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_hangs_and_one_that_crashes_lose_nothing() {
    if !crate::support::broker::available() {
        return;
    }
    // About 9 shipments hang until warren's 5 s timeout kills them, and
    // about 15 notifications kill their stdio process.
    let shop = Shop::started(
        "hang",
        &[
            ("SHOP_SHIP_HANG_RATE", "0.005"),
            ("SHOP_NOTIFY_CRASH_RATE", "0.002"),
        ],
    )
    .await;
    let summary = shop.summary(shop.spawn_load(ORDERS).await.unwrap());
    assert_adds_up(&shop, &summary).await;
    let retried = &summary["retries"];
    assert!(
        retried["shipping"].as_u64().unwrap_or(0) > 0,
        "no shipment hung: {summary}"
    );
    assert!(
        retried["notification"].as_u64().unwrap_or(0) > 0,
        "no notification crashed: {summary}"
    );
}
