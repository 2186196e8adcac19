//! The order flow without faults but with duplicates, and with bad input.

use std::time::Duration;

use lapin::BasicProperties;
use serde_json::json;

use super::{Batch, Shop, assert_adds_up};

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
        if placed as usize >= Batch::FLOW.orders / 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = db
        .query(
            "SELECT id, customer, items, amount_cents, card, country, payment FROM orders WHERE right(id, 2)::int % 20 = 0",
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
            "card": row.get::<_, Option<String>>(4),
            "country": row.get::<_, String>(5),
            "payment": row.get::<_, String>(6),
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
    needs_broker!();
    let shop = Shop::started("flow", &[]).await;
    let load = shop.spawn_load(Batch::FLOW);
    let duplicated = duplicate_orders(&shop).await;
    let summary = shop.summary(load.await.unwrap());
    assert!(duplicated > 0);
    assert_adds_up(&shop, Batch::FLOW, &summary).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_reaches_the_dead_letter_queues_with_a_reason_and_the_flow_goes_on() {
    needs_broker!();
    let shop = Shop::started("badinput", &[]).await;
    let json = || BasicProperties::default().with_content_type("application/json".into());
    let bad: Vec<(&str, Vec<u8>, BasicProperties)> = vec![
        (
            "malformed-body",
            br#"{"order_id": "x", "items": [}"#.to_vec(),
            json(),
        ),
        (
            "oversized-body",
            format!(r#"{{"order_id": "big", "pad": "{}"}}"#, "x".repeat(5 << 20)).into_bytes(),
            json(),
        ),
        // Valid JSON, but not an order: the services refuse it themselves.
        (
            "permanent-failure",
            br#"{"customer": "nobody"}"#.to_vec(),
            json(),
        ),
        (
            "unsupported-content-type",
            b"order 7, two mugs".to_vec(),
            BasicProperties::default().with_content_type("text/plain".into()),
        ),
    ];
    let settings = shop.broker.settings();
    let connection = warren::broker::connect(&settings, shop.broker.vhost())
        .await
        .unwrap();
    let channel = warren::broker::confirm_channel(&connection).await.unwrap();
    for (_, body, properties) in &bad {
        warren::worker::emit::publish(
            &channel,
            "order_events",
            "order.created",
            body,
            properties.clone(),
        )
        .await
        .unwrap();
    }
    let _ = connection.close(200, "bad input sent".into()).await;

    // The flow goes on: a small batch after the bad input all finishes.
    let small = Batch { orders: 50 };
    let summary = shop.summary(shop.spawn_load(small).await.unwrap());
    assert_eq!(summary["unfinished"], 0, "{summary}");
    // 3 sold out, 1 declined, the rest shipped.
    assert_eq!(small.shipped(), 46);
    assert_eq!(summary["states"]["shipped"], 46, "{summary}");

    let topology = warren::validate::validate(&[shop.spec()])
        .unwrap()
        .topologies
        .remove(0);
    // Every service that reads order.created dead-letters each bad
    // message, with its reason, and none of them crashed doing it.
    for service in ["inventory", "notification", "audit"] {
        let letters = warren::worker::dlq::list(&settings, &topology, service, 100)
            .await
            .unwrap();
        let mut reasons: Vec<String> = letters.iter().filter_map(|l| l.reason.clone()).collect();
        reasons.sort();
        let mut expected: Vec<String> = bad.iter().map(|(r, ..)| r.to_string()).collect();
        expected.sort();
        assert_eq!(reasons, expected, "{service}: {letters:#?}");
        let refused = letters
            .iter()
            .find(|l| l.reason.as_deref() == Some("permanent-failure"))
            .unwrap();
        assert!(
            refused.error.as_deref().unwrap_or("").contains("order_id"),
            "{service}: the error does not say what is missing: {refused:?}"
        );
    }
    let log = std::fs::read_to_string(shop.spec().with_file_name("run.log")).unwrap();
    assert!(!log.contains("panicked"), "{log}");

    // The order API's own answers to bad requests.
    let api = format!("http://127.0.0.1:{}", shop.api_port);
    let post = |body: String| {
        let url = format!("{api}/orders");
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let order = |customer: &str| {
        json!({"id": "api-1", "customer": customer, "card": "4242-4242-4242-4242",
               "country": "germany",
               "items": [{"sku": "sku-1", "quantity": 1, "price_cents": 100}]})
        .to_string()
    };
    assert_eq!(post(order("ann")).await.0, 202);
    // Repeated after a lost answer: the same order, taken again.
    assert_eq!(post(order("ann")).await.0, 202);
    let (status, text) = post(order("bob")).await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("other contents"), "{text}");
    let (status, text) = post(r#"{"id": "api-2""#.into()).await;
    assert_eq!(status, 400, "{text}");
    let (status, text) = post(
        json!({"id": "api-3", "customer": "c", "card": "1", "country": "india", "items": []})
            .to_string(),
    )
    .await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("items"), "{text}");
    // A country the shop does not ship to; a prepaid order without a card.
    let (status, text) = post(
        json!({"id": "api-4", "customer": "c", "country": "atlantis", "card": "4242-4242-4242-4242",
               "items": [{"sku": "sku-1", "quantity": 1, "price_cents": 100}]})
        .to_string(),
    )
    .await;
    assert_eq!(status, 422, "{text}");
    assert!(
        text.contains("country: one of india, germany, brazil"),
        "{text}"
    );
    let (status, text) = post(
        json!({"id": "api-5", "customer": "c", "country": "india",
               "items": [{"sku": "sku-1", "quantity": 1, "price_cents": 100}]})
        .to_string(),
    )
    .await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("payment: cod"), "{text}");
    // Cash on delivery needs no card.
    let (status, text) = post(
        json!({"id": "api-6", "customer": "c", "country": "india", "payment": "cod",
               "items": [{"sku": "sku-1", "quantity": 1, "price_cents": 100}]})
        .to_string(),
    )
    .await;
    assert_eq!(status, 202, "{text}");
    let missing = reqwest::get(format!("{api}/orders/nobody")).await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let shown: serde_json::Value = reqwest::get(format!("{api}/orders/api-1"))
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(shown["id"], "api-1");
    assert_eq!(shown["amount_cents"], 100);
}
