//! Payment, a `stdio` handler: one long-lived process charging the card of
//! each `order.inventory_checked`. The order's row in `payments` is taken
//! (and locked) before the card provider is called, so a duplicate
//! delivery finds the charge already made and only repeats the event:
//! no order is charged twice.

use deadpool_postgres::Pool;
use tokio_postgres::Client;

use crate::order::{CARD_DECLINED, CARD_FLAKY, OrderEvent, draw, rate};
use warren::worker::{Failure, Message, Outcome};

pub async fn run(pool: Pool) -> Result<(), String> {
    warren::worker::contract::serve_stdio(move |delivery| {
        let pool = pool.clone();
        async move {
            match pool.get().await {
                Ok(mut client) => handle(&mut client, delivery).await,
                Err(e) => Err(Failure::transient(format!("payment database: {e}"))),
            }
        }
    })
    .await
    .map_err(|e| e.to_string())
}

async fn handle(client: &mut Client, delivery: Message) -> Outcome {
    let order = match OrderEvent::read(&delivery.body) {
        Ok(order) => order,
        Err(reason) => return Err(Failure::permanent(reason)),
    };
    let (Some(amount), Some(card)) = (order.amount_cents, order.card.clone()) else {
        return Err(Failure::permanent("the order has no amount_cents or card"));
    };
    match charge(client, &order.order_id, amount, &card, delivery.attempt).await {
        Ok(Charge::Charged(payment_id)) => OrderEvent {
            payment_id: Some(payment_id),
            card: None,
            ..order
        }
        .emitted("order.payment_success"),
        Ok(Charge::Declined) => Err(Failure::permanent(format!(
            "card declined for order {}",
            order.order_id
        ))),
        Ok(Charge::TimedOut) => Err(Failure::transient("the card provider timed out")),
        Err(e) => Err(Failure::transient(format!("payment database: {e}"))),
    }
}

enum Charge {
    Charged(String),
    Declined,
    TimedOut,
}

async fn charge(
    client: &mut Client,
    order: &str,
    amount: i64,
    card: &str,
    attempt: u32,
) -> Result<Charge, tokio_postgres::Error> {
    let transaction = client.transaction().await?;
    transaction
        .execute(
            "INSERT INTO payments (order_id, amount_cents, status) VALUES ($1, $2, 'pending') ON CONFLICT DO NOTHING",
            &[&order, &amount],
        )
        .await?;
    let row = transaction
        .query_one(
            "SELECT status, payment_id FROM payments WHERE order_id = $1 FOR UPDATE",
            &[&order],
        )
        .await?;
    let status: String = row.get(0);
    let done = match status.as_str() {
        "charged" => Some(Charge::Charged(row.get(1))),
        "declined" => Some(Charge::Declined),
        _ => None,
    };
    if let Some(done) = done {
        transaction.commit().await?;
        return Ok(done);
    }
    let outcome = provider(order, card, attempt);
    let attempt = i32::try_from(attempt).unwrap_or(i32::MAX);
    let (name, status, payment_id) = match &outcome {
        Charge::Charged(id) => ("charged", "charged", Some(id.clone())),
        Charge::Declined => ("declined", "declined", None),
        Charge::TimedOut => ("timeout", "pending", None),
    };
    transaction
        .execute(
            "INSERT INTO provider_calls (order_id, attempt, outcome) VALUES ($1, $2, $3)",
            &[&order, &attempt, &name],
        )
        .await?;
    transaction
        .execute(
            "UPDATE payments SET status = $2, payment_id = $3, updated_at = now() WHERE order_id = $1",
            &[&order, &status, &payment_id],
        )
        .await?;
    transaction.commit().await?;
    Ok(outcome)
}

/// The card provider, simulated: its test cards, and on top of them the
/// shares of orders that `SHOP_PAYMENT_DECLINE_RATE` declines and
/// `SHOP_PAYMENT_TIMEOUT_RATE` times out on the first try (0 unless set).
fn provider(order: &str, card: &str, attempt: u32) -> Charge {
    let declined = draw(&format!("decline {order}")) < rate("SHOP_PAYMENT_DECLINE_RATE");
    let flaky = draw(&format!("timeout {order}")) < rate("SHOP_PAYMENT_TIMEOUT_RATE");
    match card {
        CARD_DECLINED => Charge::Declined,
        _ if declined => Charge::Declined,
        CARD_FLAKY if attempt == 1 => Charge::TimedOut,
        _ if flaky && attempt == 1 => Charge::TimedOut,
        _ => Charge::Charged(format!("pay-{order}")),
    }
}
