//! Cash on delivery, a `stdio` handler: the `cod` path of the `payments`
//! direct exchange. Nothing is charged now; the payment row records that
//! the courier collects the amount, and the order goes on to shipping as
//! paid. The row's key makes a redelivery harmless.

use deadpool_postgres::Pool;

use crate::order::OrderEvent;
use warren::worker::Failure;

pub async fn run(pool: Pool) -> Result<(), String> {
    warren::worker::contract::serve_stdio(move |delivery| {
        let pool = pool.clone();
        async move {
            let order = match OrderEvent::read(&delivery.body) {
                Ok(order) => order,
                Err(reason) => return Err(Failure::permanent(reason)),
            };
            let Some(amount) = order.amount_cents else {
                return Err(Failure::permanent("the order has no amount_cents"));
            };
            let recorded = async {
                let client = pool.get().await.map_err(|e| e.to_string())?;
                client
                    .execute(
                        "INSERT INTO payments (order_id, amount_cents, status, payment_id) VALUES ($1, $2, 'cod', $3) ON CONFLICT DO NOTHING",
                        &[&order.order_id, &amount, &format!("cod-{}", order.order_id)],
                    )
                    .await
                    .map_err(|e| e.to_string())
            };
            match recorded.await {
                Ok(_) => OrderEvent {
                        payment_id: Some(format!("cod-{}", order.order_id)),
                        ..order
                    }.emitted("order.payment_success"),
                Err(e) => Err(Failure::transient(format!("payment database: {e}"))),
            }
        }
    })
    .await
    .map_err(|e| e.to_string())
}
