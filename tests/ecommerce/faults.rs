//! The order flow while things go wrong: each test breaks one thing
//! several times mid-run and then checks that everything still adds up
//! (`assert_adds_up`): nothing lost, one final state per order, no double
//! charge or shipment, and the workers back on their own.

use std::time::Duration;

use super::{Batch, Broker, Shop, assert_adds_up};
use crate::support::metric;

/// Waits until `share` of the batch has been placed, so that a fault
/// lands mid-run rather than before it.
pub async fn placed(db: &tokio_postgres::Client, batch: Batch, share: f64) {
    loop {
        let n: i64 = db
            .query_one("SELECT count(*) FROM orders", &[])
            .await
            .map(|r| r.get(0))
            .unwrap_or(0);
        if n as f64 >= batch.orders as f64 * share {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const MID_RUN: [f64; 3] = [0.2, 0.5, 0.8];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_with_sigkill_mid_run_lose_nothing() {
    needs_broker!();
    let mut shop = Shop::started("sigkill", &[]).await;
    let db = shop.db().await;
    let batch = Batch::under_faults();
    let load = shop.spawn_load(batch);
    for share in MID_RUN {
        placed(&db, batch, share).await;
        // The worker process (and with it the stdio handlers) and the
        // audit service, unannounced: their unacked deliveries go back.
        shop.kill("run");
        shop.kill("audit");
        tokio::time::sleep(Duration::from_millis(500)).await;
        shop.start("run");
        shop.start("audit");
    }
    let summary = shop.summary(load.await.unwrap());
    assert_adds_up(&shop, batch, &summary).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_force_closed_mid_run_lose_nothing() {
    needs_broker!();
    let shop = Shop::started("cut", &[]).await;
    let db = shop.db().await;
    let batch = Batch::under_faults();
    let load = shop.spawn_load(batch);
    for share in MID_RUN {
        placed(&db, batch, share).await;
        // Only this test's vhost: other tests share the broker.
        let http = warren::broker::http_client(&shop.broker.settings()).unwrap();
        crate::support::broker::close_connections(&http, shop.broker.vhost()).await;
    }
    let summary = shop.summary(load.await.unwrap());
    assert_adds_up(&shop, batch, &summary).await;
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
    needs_broker!();
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
    let batch = Batch::under_faults();
    let load = shop.spawn_load(batch);
    placed(&db, batch, 0.4).await;
    let Broker::Own(node, _) = &shop.broker else {
        unreachable!()
    };
    assert!(node.ctl(&["stop_app"]).status.success());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(node.ctl(&["start_app"]).status.success());
    node.await_up();
    let summary = shop.summary(load.await.unwrap());
    assert_adds_up(&shop, batch, &summary).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_hangs_and_one_that_crashes_lose_nothing() {
    needs_broker!();
    // About 9 shipments hang until warren's 5 s timeout kills them, and
    // about 15 notifications kill their stdio process, whatever the batch.
    let batch = Batch::under_faults();
    let hang = format!("{:.5}", 9.0 / batch.shipped() as f64);
    let crash = format!("{:.5}", 15.0 / batch.events() as f64);
    let shop = Shop::started(
        "hang",
        &[
            ("SHOP_SHIP_HANG_RATE", hang.as_str()),
            ("SHOP_NOTIFY_CRASH_RATE", crash.as_str()),
        ],
    )
    .await;
    let summary = shop.summary(shop.spawn_load(batch).await.unwrap());
    assert_adds_up(&shop, batch, &summary).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_a_deleted_dlq_and_repeated_cuts_lose_nothing() {
    needs_broker!();
    let shop = Shop::started("poison", &[("SHOP_SHIP_POISON", "1")]).await;
    let db = shop.db().await;
    let vhost = shop.broker.vhost().to_string();
    let http = warren::broker::http_client(&shop.broker.settings()).unwrap();
    let batch = Batch::under_faults();
    let load = shop.spawn_load(batch);

    // The shipping DLQ goes behind warren's back.
    placed(&db, batch, 0.2).await;
    http.api()
        .delete_queue(&vhost, "shipping.dlq", false)
        .await
        .unwrap();
    // A poison event: its handler emits headers larger than any frame.
    let poison = serde_json::json!({ "order_id": "poison-1", "poison": true });
    crate::support::broker::publish_confirmed_to(
        &shop.broker.settings(),
        &vhost,
        "order_events",
        "order.payment_success",
        vec![(
            serde_json::to_vec(&poison).unwrap(),
            lapin::BasicProperties::default()
                .with_content_type("application/json".into())
                .with_message_id("poison-1".into()),
        )],
    )
    .await;
    // Shipping holds it, pauses, and says so; status flags the chain.
    let healthz = format!("http://127.0.0.1:{}/healthz", shop.metrics_port);
    // Generous: the poison waits behind the shipments in the queue, and CI
    // runs other tests beside this one.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let said = reqwest::get(&healthz).await.unwrap().text().await.unwrap();
        if said.contains("shipping: paused") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never paused: {said}\nlogs:\n{}",
            shop.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut status = crate::support::Warren::new()
        .args(["status", "--fail-on-dlq"])
        .arg_path(&shop.spec());
    for (k, v) in shop.env() {
        status = status.env(k, v);
    }
    let status = status.status(2);
    status.stdout_has("retry chain missing");
    // Connections cut again and again meanwhile.
    let mut cuts = 0;
    for share in [0.4, 0.55, 0.7] {
        placed(&db, batch, share).await;
        crate::support::broker::close_connections(&http, &vhost).await;
        cuts += 1;
    }
    // The DLQ is back: the held poison lands and shipping resumes.
    let mut apply = crate::support::Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&shop.spec());
    for (k, v) in shop.env() {
        apply = apply.env(k, v);
    }
    apply.success();
    let summary = shop.summary(load.await.unwrap());
    assert_adds_up(&shop, batch, &summary).await;

    let dead = http
        .api()
        .get_queue_info(&vhost, "shipping.dlq")
        .await
        .unwrap();
    assert!(dead.message_count >= 1, "the poison was lost");
    // Duplicate work: handler runs that ended in no settlement, at most
    // the deliveries in hand at each cut (a service's concurrency, and a
    // held message).
    let metrics = reqwest::get(format!("http://127.0.0.1:{}/metrics", shop.metrics_port))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let topology = warren::validate::validate(&[shop.spec()])
        .unwrap()
        .topologies
        .remove(0);
    for service in topology.services.values().filter(|s| s.handler.is_some()) {
        let name = service.name.as_str();
        let runs = metric(&metrics, "warren_handler_seconds_count", name);
        let settled: f64 = [
            "warren_messages_acked_total",
            "warren_messages_retried_total",
            "warren_messages_dead_lettered_total",
            "warren_messages_rejected_total",
        ]
        .iter()
        .map(|m| metric(&metrics, m, name))
        .sum();
        let bound = f64::from(cuts * (service.concurrency + 1));
        eprintln!("{name}: {runs} handler runs, {settled} settled, bound {bound} extra");
        assert!(
            runs - settled <= bound,
            "{name}: {runs} handler runs for {settled} settlements after {cuts} cuts"
        );
    }
}
