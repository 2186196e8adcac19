//! `shop load`: places a batch of orders through the order API, waits
//! until every one has reached a final state, and reports.
//!
//! The batch mixes test cards and a sold-out item in the shares asked
//! for, so the outcome is known in advance: a summary that does not add
//! up is a lost or doubled order.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::order::{CARD_DECLINED, CARD_FLAKY, CARD_OK, COUNTRIES, Item, NewOrder, Payment};

/// `shop load`'s options: the batch and where to send it.
#[derive(Clone, Debug, clap::Args)]
pub struct Load {
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub api: String,
    /// POSTs in flight.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Share of orders whose card times out on the first try.
    #[arg(long, default_value_t = 0.2)]
    pub transient: f64,
    /// Share of orders whose card is declined.
    #[arg(long, default_value_t = 0.02)]
    pub permanent: f64,
    /// Share of orders with an item that is sold out.
    #[arg(long, default_value_t = 0.05)]
    pub out_of_stock: f64,
    /// Prefix of this batch's order ids (default: `b` and the time).
    #[arg(long, default_value = "")]
    pub batch: String,
    /// Seconds to wait for the batch before giving up.
    #[arg(long = "timeout", default_value_t = 600)]
    pub timeout_seconds: u64,
    /// A `warren run --metrics-addr` endpoint to read retries from.
    #[arg(long)]
    pub metrics: Vec<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

impl Load {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }
}

/// What the batch came to.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub batch: String,
    pub orders: usize,
    pub placed_seconds: f64,
    pub finished_seconds: f64,
    pub repeated_posts: usize,
    /// Final state → orders.
    pub states: BTreeMap<String, usize>,
    /// Failure reason → orders.
    pub failed: BTreeMap<String, usize>,
    /// Dead-letter queue → orders in it.
    pub dead_lettered: BTreeMap<String, usize>,
    pub dead_letter_reasons: BTreeMap<String, usize>,
    pub unfinished: usize,
    /// Service → retried deliveries (from the workers' metrics).
    pub retries: BTreeMap<String, u64>,
    pub notifications: i64,
    pub audit_records: i64,
    pub charges: i64,
    pub charged_twice: i64,
    pub shipments: i64,
    /// Orders paid cash on delivery (the `cod` path of `payments`).
    pub cod_orders: i64,
    /// Orders the India desk took, and the batch's orders to India.
    pub india_desk: i64,
    pub india_orders: i64,
    /// Delayed confirmations sent, and the shortest time from an order to
    /// its confirmation.
    pub confirmations: i64,
    pub earliest_confirmation_seconds: f64,
}

impl Summary {
    pub fn complete(&self) -> bool {
        self.unfinished == 0 && self.charged_twice == 0
    }
}

/// The orders of a batch: which card, items, country and payment each
/// gets.
pub fn orders(load: &Load) -> Vec<NewOrder> {
    let n = load.orders;
    let share = |rate: f64| ((n as f64) * rate).round() as usize;
    let (sold_out, declined, flaky) = (
        share(load.out_of_stock),
        share(load.permanent),
        share(load.transient),
    );
    let mut kinds: Vec<u8> = (0..n)
        .map(|i| match i {
            i if i < sold_out => 1,
            i if i < sold_out + declined => 2,
            i if i < sold_out + declined + flaky => 3,
            _ => 0,
        })
        .collect();
    fastrand::Rng::with_seed(7).shuffle(&mut kinds);
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            let mut items = vec![Item {
                sku: format!("sku-{}", 1 + i % 20),
                quantity: 1 + (i % 3) as i32,
                price_cents: 1299,
            }];
            if kind == 1 {
                items.push(Item {
                    sku: "sku-sold-out".into(),
                    quantity: 1,
                    price_cents: 4999,
                });
            }
            // One in ten plain orders is paid cash on delivery.
            let payment = if kind == 0 && i % 10 == 3 {
                Payment::Cod
            } else {
                Payment::Prepaid
            };
            NewOrder {
                id: format!("{}-{i:05}", load.batch),
                customer: format!("customer-{}", i % 97),
                items,
                card: match (payment, kind) {
                    (Payment::Cod, _) => "",
                    (_, 2) => CARD_DECLINED,
                    (_, 3) => CARD_FLAKY,
                    _ => CARD_OK,
                }
                .into(),
                country: COUNTRIES[i % COUNTRIES.len()].into(),
                payment,
            }
        })
        .collect()
}

/// Places every order, repeating a POST the API could not finish (503,
/// or no answer) with the same id. Returns how many POSTs were repeated.
pub async fn place(load: &Load, orders: Vec<NewOrder>) -> Result<usize, String> {
    use futures_util::StreamExt;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + load.timeout();
    let url = format!("{}/orders", load.api.trim_end_matches('/'));
    let results: Vec<Result<usize, String>> = futures_util::stream::iter(orders)
        .map(|order| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let mut repeats = 0;
                loop {
                    let answer = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(serde_json::to_vec(&order).unwrap_or_default())
                        .send()
                        .await;
                    match answer {
                        Ok(r) if r.status().is_success() => return Ok(repeats),
                        Ok(r) if r.status().is_client_error() => {
                            let status = r.status();
                            let text = r.text().await.unwrap_or_default();
                            return Err(format!("order {}: {status} {text}", order.id));
                        }
                        _ if Instant::now() > deadline => {
                            return Err(format!(
                                "order {}: the API did not take it in time",
                                order.id
                            ));
                        }
                        _ => {
                            repeats += 1;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
            }
        })
        .buffer_unordered(load.concurrency.max(1))
        .collect()
        .await;
    let mut repeated = 0;
    for r in results {
        repeated += r?;
    }
    Ok(repeated)
}

/// Reads the batch's outcome from the services' tables and the
/// dead-letter queues.
pub async fn summarize(
    load: &Load,
    client: &tokio_postgres::Client,
    settings: &warren::broker::Settings,
    topology: &warren::topology::Topology,
) -> Result<Summary, String> {
    let db = |e: tokio_postgres::Error| e.to_string();
    let pattern = format!("{}-%", load.batch);
    let mut summary = Summary {
        batch: load.batch.clone(),
        orders: load.orders,
        ..Summary::default()
    };
    let mut in_dlq = std::collections::BTreeSet::new();
    for service in topology.services.values().filter(|s| s.retry.is_some()) {
        let Some(retry) = &service.retry else {
            continue;
        };
        for letter in warren::worker::dlq::list(settings, topology, &service.name, 100_000)
            .await
            .map_err(|e| e.to_string())?
        {
            let body: serde_json::Value = serde_json::from_str(&letter.body).unwrap_or_default();
            let Some(id) = body["order_id"].as_str() else {
                continue;
            };
            if id.starts_with(&format!("{}-", load.batch)) && in_dlq.insert(id.to_string()) {
                *summary
                    .dead_lettered
                    .entry(retry.dead_letter_queue.clone())
                    .or_default() += 1;
                let reason = letter.error.or(letter.reason).unwrap_or_default();
                // "card declined for order X" → "card declined"
                let reason = reason.split(" for order ").next().unwrap_or("").to_string();
                *summary.dead_letter_reasons.entry(reason).or_default() += 1;
            }
        }
    }
    let rows = client
        .query(
            "SELECT id, state, coalesce(reason, '') FROM orders WHERE id LIKE $1",
            &[&pattern],
        )
        .await
        .map_err(db)?;
    let mut seen = 0;
    for row in &rows {
        let (id, state, reason): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        seen += 1;
        let state = match state.as_str() {
            "shipped" | "failed" => state,
            _ if in_dlq.contains(&id) => "dead-lettered".into(),
            _ => {
                summary.unfinished += 1;
                continue;
            }
        };
        if state == "failed" {
            *summary.failed.entry(reason).or_default() += 1;
        }
        *summary.states.entry(state).or_default() += 1;
    }
    summary.unfinished += load.orders.saturating_sub(seen);
    let count = |sql: &'static str| {
        let pattern = pattern.clone();
        async move {
            client
                .query_one(sql, &[&pattern])
                .await
                .map(|r| r.get::<_, i64>(0))
                .map_err(db)
        }
    };
    summary.notifications =
        count("SELECT count(*) FROM notifications WHERE order_id LIKE $1").await?;
    summary.audit_records =
        count("SELECT count(*) FROM audit_records WHERE order_id LIKE $1").await?;
    summary.shipments = count("SELECT count(*) FROM shipments WHERE order_id LIKE $1").await?;
    summary.charges =
        count("SELECT count(*) FROM provider_calls WHERE order_id LIKE $1 AND outcome = 'charged'")
            .await?;
    summary.charged_twice = count(
        "SELECT count(*) FROM (SELECT order_id FROM provider_calls WHERE order_id LIKE $1 AND outcome = 'charged' GROUP BY order_id HAVING count(*) > 1) AS twice",
    )
    .await?;
    summary.cod_orders =
        count("SELECT count(*) FROM payments WHERE order_id LIKE $1 AND status = 'cod'").await?;
    summary.india_desk = count("SELECT count(*) FROM regional_desk WHERE order_id LIKE $1").await?;
    summary.india_orders =
        count("SELECT count(*) FROM orders WHERE id LIKE $1 AND country = 'india'").await?;
    summary.confirmations = count(
        "SELECT count(*) FROM notifications WHERE order_id LIKE $1 AND event = 'order.confirmation'",
    )
    .await?;
    summary.earliest_confirmation_seconds = client
        .query_one(
            "SELECT coalesce(min(extract(epoch FROM n.sent_at - o.created_at)), 0)::float8 FROM notifications n JOIN orders o ON o.id = n.order_id WHERE n.order_id LIKE $1 AND n.event = 'order.confirmation'",
            &[&pattern],
        )
        .await
        .map_err(db)?
        .get::<_, f64>(0);
    for url in &load.metrics {
        if let Ok(text) = reqwest::get(url).await.and_then(|r| r.error_for_status()) {
            let text = text.text().await.unwrap_or_default();
            for (service, n) in retried(&text) {
                *summary.retries.entry(service).or_default() += n;
            }
        }
    }
    Ok(summary)
}

/// `warren_messages_retried_total{service="x"} N` lines of a Prometheus
/// text page.
fn retried(page: &str) -> Vec<(String, u64)> {
    page.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("warren_messages_retried_total{")?;
            let service = rest.split("service=\"").nth(1)?.split('"').next()?;
            let n = rest.rsplit(' ').next()?.parse::<f64>().ok()?;
            Some((service.to_string(), n as u64))
        })
        .collect()
}

/// Waits until the batch is finished (or the timeout): every order final
/// or dead-lettered, and then the flow quiet, so that notification and
/// audit, which trail the orders, have caught up too.
pub async fn wait(
    load: &Load,
    client: &tokio_postgres::Client,
    settings: &warren::broker::Settings,
    topology: &warren::topology::Topology,
    started: Instant,
) -> Result<Summary, String> {
    let deadline = started + load.timeout();
    let pattern = format!("{}-%", load.batch);
    let http = warren::broker::http_client(settings).map_err(|e| e.to_string())?;
    let mut quiet_since: Option<(Instant, i64)> = None;
    loop {
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE state IN ('shipped', 'failed')),
                        (SELECT count(*) FROM notifications WHERE order_id LIKE $1)
                      + (SELECT count(*) FROM audit_records WHERE order_id LIKE $1)
                 FROM orders WHERE id LIKE $1",
                &[&pattern],
            )
            .await
            .map_err(|e| e.to_string())?;
        let (finished, recorded) = (row.get::<_, i64>(0) as usize, row.get::<_, i64>(1));
        let expected_dlq = ((load.orders as f64) * load.permanent).round() as usize;
        let timed_out = Instant::now() > deadline;
        if finished + expected_dlq >= load.orders || timed_out {
            // Quiet: no message in any queue but the dead-letter ones, and
            // nothing recorded, for longer than the broker's statistics lag.
            let busy = busy_queues(&http, topology).await?;
            quiet_since = match quiet_since {
                _ if busy > 0 => None,
                Some((since, seen)) if seen == recorded => Some((since, seen)),
                _ => Some((Instant::now(), recorded)),
            };
            let settled = quiet_since.is_some_and(|(since, _)| since.elapsed() >= QUIET);
            if settled || timed_out {
                let summary = summarize(load, client, settings, topology).await?;
                if summary.unfinished == 0 || timed_out {
                    return Ok(summary);
                }
                quiet_since = None;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Longer than the management API's statistics interval (5 s).
const QUIET: Duration = Duration::from_secs(6);

/// Messages ready or unacknowledged in the vhost's queues, dead-letter
/// queues and `unrouted` left out (they hold what is meant to stay).
async fn busy_queues(
    http: &warren::broker::Http,
    topology: &warren::topology::Topology,
) -> Result<u64, String> {
    let kept: std::collections::BTreeSet<&str> = topology
        .services
        .values()
        .filter_map(|s| s.retry.as_ref().map(|r| r.dead_letter_queue.as_str()))
        .chain(["unrouted"])
        .collect();
    let queues = http
        .api()
        .list_queues_in(&topology.vhost)
        .await
        .map_err(|e| format!("list the queues: {e}"))?;
    Ok(queues
        .iter()
        .filter(|q| !kept.contains(q.name.as_str()))
        .map(|q| q.message_count)
        .sum())
}

pub fn print(summary: &Summary) {
    println!(
        "{} orders (ids {}-00000 on) placed in {:.1} s ({} POSTs repeated); all final after {:.1} s",
        summary.orders,
        summary.batch,
        summary.placed_seconds,
        summary.repeated_posts,
        summary.finished_seconds
    );
    let joined = |map: &BTreeMap<String, usize>| {
        map.iter()
            .map(|(what, n)| format!("{what}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("final states:");
    let count = |state: &str| summary.states.get(state).copied().unwrap_or(0);
    println!("  shipped        {:>6}", count("shipped"));
    println!(
        "  failed         {:>6}   {}",
        count("failed"),
        joined(&summary.failed)
    );
    println!(
        "  dead-lettered  {:>6}   {} ({})",
        count("dead-lettered"),
        joined(&summary.dead_letter_reasons),
        joined(&summary.dead_lettered)
    );
    if summary.unfinished > 0 {
        println!("  UNFINISHED     {:>6}", summary.unfinished);
    }
    let retries: u64 = summary.retries.values().sum();
    let by: Vec<String> = summary
        .retries
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    println!("retries: {retries} ({})", by.join(", "));
    println!(
        "charges: {} ({} orders charged twice); shipments: {}",
        summary.charges, summary.charged_twice, summary.shipments
    );
    println!(
        "cash on delivery: {}; India desk: {} of {} orders to India; confirmations: {}, the earliest {:.1} s after its order",
        summary.cod_orders,
        summary.india_desk,
        summary.india_orders,
        summary.confirmations,
        summary.earliest_confirmation_seconds
    );
    println!(
        "events recorded once each: {} notifications, {} audit records",
        summary.notifications, summary.audit_records
    );
}
