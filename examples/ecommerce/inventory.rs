//! Inventory, an `http` handler: warren POSTs each `order.created` to
//! `/inventory`; a reserved order goes on to `payments` with its payment
//! type as the key. Stock is reserved in one transaction with a reservation
//! row keyed by the order, so a redelivered order is answered from that
//! row and never reserves twice.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::post};
use deadpool_postgres::Pool;

use crate::order::OrderEvent;
use warren::worker::contract::{Request, http_status};
use warren::worker::{Event, Failure, Outcome, Reply};

pub async fn serve(
    pool: Pool,
    addr: &str,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<(), String> {
    let app = Router::new()
        .route("/inventory", post(handle))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("listen on {addr}: {e}"))?;
    tracing::info!(addr, "inventory listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await
        .map_err(|e| e.to_string())
}

async fn handle(State(pool): State<Pool>, Json(request): Json<Request>) -> Response {
    let outcome = match OrderEvent::read(&request.message.body) {
        Ok(order) if order.items.is_empty() => Err(Failure::permanent(format!(
            "order {} has no items",
            order.order_id
        ))),
        Ok(order) => reserve(&pool, order).await,
        Err(reason) => Err(Failure::permanent(reason)),
    };
    let status = StatusCode::from_u16(http_status(&outcome)).unwrap_or(StatusCode::OK);
    (status, Json(Reply::answer(None, outcome))).into_response()
}

async fn reserve(pool: &Pool, order: OrderEvent) -> Outcome {
    match try_reserve(pool, &order).await {
        Ok(None) => {
            // Reserved: say so, and hand the order to its payment path by
            // payment type (the `payments` direct exchange routes `cod`
            // and `prepaid` to different services).
            let body = serde_json::to_value(&order).unwrap_or_default();
            let path = order.payment.unwrap_or_default().as_str();
            Ok(vec![
                Event::new("order.inventory_checked", body.clone()),
                Event::new(path, body),
            ])
        }
        Ok(Some(reason)) => OrderEvent {
            order_id: order.order_id.clone(),
            reason: Some(reason),
            ..OrderEvent::default()
        }
        .emitted("order.failed"),
        Err(e) => Err(Failure::transient(format!("inventory database: {e}"))),
    }
}

/// `None` when reserved, the reason when it cannot be.
async fn try_reserve(pool: &Pool, order: &OrderEvent) -> Result<Option<String>, String> {
    let mut client = pool.get().await.map_err(|e| e.to_string())?;
    let mut transaction = client.transaction().await.map_err(|e| e.to_string())?;
    let db = |e: tokio_postgres::Error| e.to_string();
    transaction
        .execute(
            "INSERT INTO reservations (order_id, status) VALUES ($1, 'pending') ON CONFLICT DO NOTHING",
            &[&order.order_id],
        )
        .await
        .map_err(db)?;
    // Locks the row: a duplicate delivered to another worker waits here.
    let row = transaction
        .query_one(
            "SELECT status, reason FROM reservations WHERE order_id = $1 FOR UPDATE",
            &[&order.order_id],
        )
        .await
        .map_err(db)?;
    let status: String = row.get(0);
    if status != "pending" {
        transaction.commit().await.map_err(db)?;
        return Ok(row.get::<_, Option<String>>(1));
    }
    let mut items = order.items.clone();
    // One order of locking across orders: no deadlock between two orders.
    items.sort_by(|a, b| a.sku.cmp(&b.sku));
    let mut short = None;
    {
        let savepoint = transaction.savepoint("items").await.map_err(db)?;
        for item in &items {
            let taken = savepoint
                .execute(
                    "UPDATE stock SET available = available - $2 WHERE sku = $1 AND available >= $2",
                    &[&item.sku, &item.quantity],
                )
                .await
                .map_err(db)?;
            if taken == 0 {
                short = Some(format!("out of stock: {}", item.sku));
                break;
            }
        }
        if short.is_none() {
            savepoint.commit().await.map_err(db)?;
        } else {
            savepoint.rollback().await.map_err(db)?;
        }
    }
    let (status, reason) = match &short {
        None => ("reserved", None),
        Some(reason) => ("out_of_stock", Some(reason.clone())),
    };
    transaction
        .execute(
            "UPDATE reservations SET status = $2, reason = $3 WHERE order_id = $1",
            &[&order.order_id, &status, &reason],
        )
        .await
        .map_err(db)?;
    transaction.commit().await.map_err(db)?;
    Ok(short)
}
