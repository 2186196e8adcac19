//! The order flow without faults but with duplicates, and with bad input.

use std::time::Duration;

use lapin::BasicProperties;
use serde_json::json;

use super::{Broker, ORDERS, Shop, assert_adds_up};
use crate::support::broker::TestVhost;

/// Publishes a second `order.created` for every 20th order already taken,
/// exactly as the API published it: a publisher repeating after a lost
/// confirm does just that. Returns how many went out.
async fn duplicate_orders(shop: &Shop) -> usize {
    let db = shop.db().await;
    loop {
        let placed: i64 = db
            .query_one("SELECT count(*) FROM orders", &[])
            .await
            .unwrap()
            .get(0);
        if placed as usize >= ORDERS / 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = db
        .query(
            "SELECT id, customer, items, amount_cents, card FROM orders WHERE right(id, 2)::int % 20 = 0",
            &[],
        )
        .await
        .unwrap();
    let settings = shop.broker.settings();
    let connection = warren::broker::connect(&settings, shop.broker.vhost())
        .await
        .unwrap();
    let channel = warren::broker::confirm_channel(&connection).await.unwrap();
    for row in &rows {
        let body = json!({
            "order_id": row.get::<_, String>(0),
            "customer": row.get::<_, String>(1),
            "items": row.get::<_, serde_json::Value>(2),
            "amount_cents": row.get::<_, i64>(3),
            "card": row.get::<_, String>(4),
        });
        warren::worker::emit::publish(
            &channel,
            "order_events",
            "order.created",
            body.to_string().as_bytes(),
            BasicProperties::default().with_content_type("application/json".into()),
        )
        .await
        .unwrap();
    }
    let _ = connection.close(200, "duplicates sent".into()).await;
    rows.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_orders_each_end_in_exactly_one_final_state_also_when_delivered_twice() {
    if !crate::support::broker::available() {
        return;
    }
    let mut shop = Shop::new(
        "flow",
        Broker::Shared(TestVhost::new("shop-flow").await),
        &[],
    );
    shop.start_all();
    let load = shop.spawn_load(ORDERS);
    let duplicated = duplicate_orders(&shop).await;
    let summary = shop.summary(load.await.unwrap());
    assert!(duplicated > 0);
    assert_adds_up(&shop, &summary).await;
    // The duplicates reached audit and were absorbed, not recorded again.
    let db = shop.db().await;
    let redelivered: i64 = db
        .query_one(
            "SELECT count(*) FROM audit_records WHERE event = 'order.created' AND deliveries > 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(redelivered > 0, "no duplicate reached audit");
}
