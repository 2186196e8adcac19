//! The order service: the HTTP API (`POST /orders`, `GET /orders/{id}`)
//! and, through warren's Rust API, the consumer that moves each order's
//! state along as the other services report.
//!
//! A POST stores the order, then publishes `order.created`, its regional
//! copy `order.<country>.<category>` and the delayed `order.confirmation`,
//! and answers 202 only once the broker has confirmed all three. When the broker is away it
//! answers 503 and the client repeats the POST with the same id: the
//! stored order is kept and the event published again (downstream
//! services absorb the duplicate).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use deadpool_postgres::Pool;
use serde_json::json;
use warren::topology::Topology;
use warren::worker::{Event, Failure, Message, Publisher, handler};

use crate::order::{NewOrder, OrderEvent, OrderState};

struct Api {
    pool: Pool,
    publisher: Publisher,
}

pub async fn serve(
    pool: Pool,
    topology: Topology,
    settings: warren::broker::Settings,
    addr: &str,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<(), String> {
    let publisher = Publisher::new(&topology, &settings, "order_api").map_err(|e| e.to_string())?;
    let api = Arc::new(Api {
        pool: pool.clone(),
        publisher,
    });
    let app = Router::new()
        .route("/orders", post(create))
        .route("/orders/{id}", get(show))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("listen on {addr}: {e}"))?;
    tracing::info!(addr, "order API listening");
    let http = axum::serve(listener, app).with_graceful_shutdown({
        let cancel = cancel.clone();
        async move { cancel.cancelled().await }
    });
    let tracker = warren::worker::Runner::new(topology, settings)
        .handler("orders", handler::function(move |m| track(pool.clone(), m)))
        .map_err(|e| e.to_string())?;
    let (served, tracked) = tokio::join!(http, tracker.run(cancel));
    served.map_err(|e| e.to_string())?;
    tracked.map_err(|e| e.to_string())
}

fn problem(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(json!({ "error": text.into() }))).into_response()
}

async fn create(State(api): State<Arc<Api>>, body: axum::body::Bytes) -> Response {
    let order: NewOrder = match serde_json::from_slice(&body) {
        Ok(order) => order,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("not an order: {e}")),
    };
    if let Err(e) = order.validate() {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, e);
    }
    match store(&api.pool, &order).await {
        Ok(Stored::New | Stored::Same) => {}
        Ok(Stored::Different) => {
            return problem(
                StatusCode::CONFLICT,
                format!(
                    "order {:?} exists with other contents; use a new id",
                    order.id
                ),
            );
        }
        Err(e) => {
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("orders database: {e}"),
            );
        }
    }
    let body = serde_json::to_value(order.created()).unwrap_or_default();
    // The order, its regional copy, and the confirmation the customer gets
    // a few seconds later (the spec delays it); 202 once all are confirmed.
    let regional = order.regional_key();
    let mut published = Ok(());
    for (key, tag) in [
        ("order.created", "created"),
        (regional.as_str(), "regional"),
        ("order.confirmation", "confirmation"),
    ] {
        published = api
            .publisher
            .publish(
                &Event::new(key, body.clone()),
                &format!("{}.{tag}", order.id),
                Some(&order.id),
            )
            .await;
        if published.is_err() {
            break;
        }
    }
    match published {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(json!({ "id": order.id, "state": OrderState::Created.as_str() })),
        )
            .into_response(),
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("order stored, event not confirmed ({e}); repeat the request"),
        ),
    }
}

/// What storing an order found.
enum Stored {
    New,
    /// A repeated POST: the same order is there already.
    Same,
    /// The id is taken by another order.
    Different,
}

/// Stores `order` unless its id is there; a repeated POST must be the same
/// order, or the events published for it would contradict each other.
async fn store(pool: &Pool, order: &NewOrder) -> Result<Stored, String> {
    let client = pool.get().await.map_err(|e| e.to_string())?;
    let items = serde_json::to_value(&order.items).unwrap_or_default();
    let card = Some(order.card.as_str()).filter(|c| !c.is_empty());
    let payment = order.payment.as_str();
    let inserted = client
        .execute(
            "INSERT INTO orders (id, customer, items, amount_cents, card, country, payment) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            &[&order.id, &order.customer, &items, &order.amount_cents(), &card, &order.country, &payment],
        )
        .await
        .map_err(|e| e.to_string())?;
    if inserted == 1 {
        return Ok(Stored::New);
    }
    let row = client
        .query_one(
            "SELECT customer, items, card, country, payment FROM orders WHERE id = $1",
            &[&order.id],
        )
        .await
        .map_err(|e| e.to_string())?;
    let same = row.get::<_, String>(0) == order.customer
        && row.get::<_, serde_json::Value>(1) == items
        && row.get::<_, Option<String>>(2).as_deref() == card
        && row.get::<_, String>(3) == order.country
        && row.get::<_, String>(4) == payment;
    Ok(if same {
        Stored::Same
    } else {
        Stored::Different
    })
}

async fn show(State(api): State<Arc<Api>>, Path(id): Path<String>) -> Response {
    let found = async {
        let client = api.pool.get().await.map_err(|e| e.to_string())?;
        client
            .query_opt(
                "SELECT state, reason, amount_cents FROM orders WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(|e| e.to_string())
    };
    match found.await {
        Ok(Some(row)) => Json(json!({
            "id": id,
            "state": row.get::<_, String>(0),
            "reason": row.get::<_, Option<String>>(1),
            "amount_cents": row.get::<_, i64>(2),
        }))
        .into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, format!("no order {id:?}")),
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("orders database: {e}"),
        ),
    }
}

/// The `orders` service's handler: one state change per event.
async fn track(pool: Pool, message: Message) -> Result<Vec<Event>, Failure> {
    let event = OrderEvent::read(&message.body).map_err(Failure::permanent)?;
    let state = OrderState::after(&message.routing_key)
        .ok_or_else(|| Failure::permanent(format!("no order state for {}", message.routing_key)))?;
    let client = pool
        .get()
        .await
        .map_err(|e| Failure::transient(format!("orders database: {e}")))?;
    let earlier: Vec<&str> = OrderState::ALL
        .into_iter()
        .filter(|s| s.may_become(state))
        .map(OrderState::as_str)
        .collect();
    client
        .execute(
            "UPDATE orders SET state = $2, reason = $3, updated_at = now() WHERE id = $1 AND state = ANY($4)",
            &[&event.order_id, &state.as_str(), &event.reason, &earlier],
        )
        .await
        .map_err(|e| Failure::transient(format!("orders database: {e}")))?;
    Ok(Vec::new())
}
