//! Notification, a `stdio` handler: one notification per order and event,
//! however often the event arrives (the table's key absorbs duplicates).
//!
//! `SHOP_NOTIFY_CRASH_RATE` makes the process exit on that share of first
//! deliveries, as a crashing handler would: warren retries what was in
//! flight and starts the process again.

use tokio_postgres::Client;

use crate::order::{OrderEvent, draw, rate};
use warren::worker::Failure;

pub async fn run(client: Client) -> Result<(), String> {
    let crash = rate("SHOP_NOTIFY_CRASH_RATE");
    let client = std::sync::Arc::new(client);
    warren::worker::contract::serve_stdio(move |delivery| {
        let client = client.clone();
        async move {
            let order = match OrderEvent::read(&delivery.body) {
                Ok(order) => order,
                Err(reason) => return Err(Failure::permanent(reason)),
            };
            if delivery.attempt == 1
                && draw(&format!("crash {} {}", order.order_id, delivery.routing_key)) < crash
            {
                eprintln!("notification: crashing on purpose (SHOP_NOTIFY_CRASH_RATE)");
                std::process::exit(70);
            }
            match client
                .execute(
                    "INSERT INTO notifications (order_id, event, message_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&order.order_id, &delivery.routing_key, &delivery.message_id],
                )
                .await
            {
                Ok(_) => Ok(Vec::new()),
                Err(e) => Err(Failure::transient(format!("notification database: {e}"))),
            }
        }
    })
    .await
    .map_err(|e| e.to_string())
}
