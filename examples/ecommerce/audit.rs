//! Audit, a Rust-API service: every `order.#` event once, in
//! `audit_records`, counting its deliveries.

use deadpool_postgres::Pool;
use warren::worker::{Event, Failure, Message};

use crate::order::OrderEvent;

pub async fn record(pool: Pool, message: Message) -> Result<Vec<Event>, Failure> {
    let event = OrderEvent::read(&message.body).map_err(Failure::permanent)?;
    let client = pool
        .get()
        .await
        .map_err(|e| Failure::transient(format!("audit database: {e}")))?;
    client
        .execute(
            "INSERT INTO audit_records (order_id, event, message_id, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (order_id, event) DO UPDATE SET deliveries = audit_records.deliveries + 1",
            &[
                &event.order_id,
                &message.routing_key,
                &message.message_id,
                &message.body,
            ],
        )
        .await
        .map_err(|e| Failure::transient(format!("audit database: {e}")))?;
    Ok(Vec::new())
}
