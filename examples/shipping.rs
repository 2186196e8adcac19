//! A service written against warren's Rust API: the `shipping` service of
//! topologies/ecommerce.yaml as an async function. warren consumes its
//! queue, publishes what it returns (confirmed), retries and dead-letters
//! by the spec; the function holds only the business logic.
//!
//! ```sh
//! bash scripts/broker.sh
//! cargo run -- apply topologies/ecommerce.yaml --yes   # with the WARREN_PASSWORD_* set
//! WARREN_PASSWORD_SHIPPING=... cargo run --example shipping
//! ```
//! Stop it with Ctrl-C: it finishes what is in flight first.

use serde_json::json;
use warren::worker::{Event, Failure, Message, Runner, handler};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let validation = warren::validate::validate(&["topologies/ecommerce.yaml".into()])?;
    if validation.has_errors() {
        return Err("topologies/ecommerce.yaml has errors: run `warren validate` on it".into());
    }
    let topology = validation
        .topologies
        .into_iter()
        .next()
        .ok_or("no topology")?;
    let settings =
        warren::broker::Settings::resolve(&Default::default(), |v| std::env::var(v).ok())?;

    let cancel = tokio_util::sync::CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    Runner::new(topology, settings)
        .handler("shipping", handler::function(ship))?
        .run(cancel)
        .await?;
    Ok(())
}

/// Books a parcel for a paid order. A body without an order id can never
/// ship: a permanent failure, straight to the dead-letter queue.
async fn ship(message: Message) -> Result<Vec<Event>, Failure> {
    let order = message
        .body
        .get("order_id")
        .cloned()
        .ok_or_else(|| Failure::permanent("the paid order has no order_id"))?;
    Ok(vec![Event::new(
        "order.shipped",
        json!({ "order_id": order, "carrier": "parcel-co" }),
    )])
}
