//! The India desk, a `stdio` handler: the spec binds its queue to
//! `order.india.*` on the regional routing keys, so it sees the orders of
//! its own region only, whatever their category. One row per order.

use tokio_postgres::Client;

use warren::worker::Failure;

pub async fn run(client: Client) -> Result<(), String> {
    let client = std::sync::Arc::new(client);
    warren::worker::contract::serve_stdio(move |delivery| {
        let client = client.clone();
        async move {
            // order.<country>.<category>
            let words: Vec<&str> = delivery.routing_key.split('.').collect();
            let [_, country, category] = words.as_slice() else {
                return Err(Failure::permanent(format!(
                    "{:?} is not a regional key (order.<country>.<category>)",
                    delivery.routing_key
                )));
            };
            let Some(order) = delivery.body["order_id"].as_str() else {
                return Err(Failure::permanent("the event has no order_id"));
            };
            match client
                .execute(
                    "INSERT INTO regional_desk (order_id, country, category) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&order, country, category],
                )
                .await
            {
                Ok(_) => Ok(Vec::new()),
                Err(e) => Err(Failure::transient(format!("regional desk database: {e}"))),
            }
        }
    })
    .await
    .map_err(|e| e.to_string())
}
