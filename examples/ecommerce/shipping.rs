//! Shipping, an `exec` handler: warren starts `shop ship` for each paid
//! order, with the body on stdin. The shipment's row is keyed by the order,
//! so a second delivery books nothing new and reports the same parcel.
//!
//! `SHOP_SHIP_HANG_RATE` makes that share of first attempts hang, as a
//! stuck carrier API would: warren's timeout kills the process and the
//! order is retried. With `SHOP_SHIP_POISON=1`, a message whose body has
//! `"poison": true` makes it print an event whose headers are larger than
//! any AMQP frame, as a handler attaching a whole document would: warren
//! must dead-letter that message alone.

use warren::worker::{Failure, Outcome};

use crate::order::{OrderEvent, draw, rate};

pub async fn run(database: &crate::db::Database) -> Outcome {
    let message = match warren::worker::contract::exec_message() {
        Ok(message) => message,
        Err(e) => return Err(Failure::permanent(format!("reading the body: {e}"))),
    };
    if std::env::var("SHOP_SHIP_POISON").is_ok_and(|v| v == "1") && message.body["poison"] == true {
        let big = "x".repeat(300_000);
        println!(
            "{}",
            serde_json::json!({"key": "order.shipped", "body": {}, "headers": {"document": big}})
        );
        return Ok(Vec::new());
    }
    let order = match OrderEvent::read(&message.body) {
        Ok(order) => order,
        Err(reason) => return Err(Failure::permanent(reason)),
    };
    if message.attempt == 1
        && draw(&format!("hang {}", order.order_id)) < rate("SHOP_SHIP_HANG_RATE")
    {
        eprintln!("shipping: hanging on purpose (SHOP_SHIP_HANG_RATE)");
        std::future::pending::<()>().await;
    }
    let client = match database.connect().await {
        Ok(client) => client,
        Err(e) => return Err(Failure::transient(e)),
    };
    let tracking = format!("PC{:010}", (draw(&order.order_id) * 1e10) as u64);
    match client
        .execute(
            "INSERT INTO shipments (order_id, carrier, tracking) VALUES ($1, 'parcel-co', $2) ON CONFLICT DO NOTHING",
            &[&order.order_id, &tracking],
        )
        .await
    {
        Ok(_) => OrderEvent {
                order_id: order.order_id,
                tracking: Some(tracking),
                ..OrderEvent::default()
            }.emitted("order.shipped"),
        Err(e) => Err(Failure::transient(format!("shipping database: {e}"))),
    }
}
