//! The relay benchmark's programs (bench/relay.sh): a worker that consumes,
//! emits one event per message and acks, in two builds, and the tools the
//! script drives them with.
//!
//! ```text
//! relay warren   SPEC          warren's Rust API, a trivial handler
//! relay retrying SPEC          the same, failing each message's first
//!                              attempt (bench/retry.sh)
//! relay baseline SPEC          the same relay written by hand on lapin
//! relay http-handler ADDR      a trivial handler for the http kind
//! relay load SPEC N            publish N persistent messages (confirmed)
//! relay wait SPEC QUEUE N      wait until QUEUE holds N; print the seconds
//!                              between 10% and 90% of them
//! ```
//!
//! Both relays read service `relay` of SPEC: its queue, prefetch and
//! concurrency, and the first key it emits. Every publish is persistent
//! and `mandatory`, confirmed before the ack, and both relays give an event
//! the same properties (a new message id, the correlation id, JSON, a
//! timestamp), so the broker stores the same messages for both.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Confirmation};
use warren::topology::{Service, Topology};
use warren::worker::{Event, Failure, Runner, handler};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["warren", spec] => warren_relay(spec, false).await,
        ["retrying", spec] => warren_relay(spec, true).await,
        ["baseline", spec] => baseline(spec).await,
        ["http-handler", addr] => http_handler(addr).await,
        ["load", spec, n] => load(spec, n.parse()?).await,
        ["wait", spec, queue, n] => wait(spec, queue, n.parse()?).await,
        _ => Err("usage: relay warren|retrying|baseline SPEC | http-handler ADDR | load SPEC N | wait SPEC QUEUE N".into()),
    }
}

fn topology(spec: &str) -> Result<(Topology, Service), Error> {
    let validation = warren::validate::validate(&[spec.into()])?;
    if validation.has_errors() {
        return Err(format!("{spec} has errors").into());
    }
    let topology = validation
        .topologies
        .into_iter()
        .next()
        .ok_or("no topology")?;
    let relay = topology
        .services
        .get("relay")
        .ok_or("no service relay")?
        .clone();
    Ok((topology, relay))
}

fn settings() -> Result<warren::broker::Settings, Error> {
    Ok(warren::broker::Settings::resolve(
        &Default::default(),
        |v| std::env::var(v).ok(),
    )?)
}

/// Runs until SIGTERM or SIGINT.
fn stop_on_signal() -> tokio_util::sync::CancellationToken {
    let cancel = tokio_util::sync::CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        stop.cancel();
    });
    cancel
}

/// The relay on warren's Rust API; with `fail_first`, every message's
/// first attempt is a transient failure, so each one goes through the
/// service's retry once.
async fn warren_relay(spec: &str, fail_first: bool) -> Result<(), Error> {
    let (topology, relay) = topology(spec)?;
    let key = relay
        .emits
        .first()
        .ok_or("relay emits nothing")?
        .key
        .clone();
    Runner::new(topology, settings()?)
        .handler(
            "relay",
            handler::function(move |m| {
                let key = key.clone();
                async move {
                    if fail_first && m.attempt == 1 {
                        return Err(Failure::transient("first attempt"));
                    }
                    Ok(vec![Event::new(key, m.body)])
                }
            }),
        )?
        .run(stop_on_signal())
        .await?;
    Ok(())
}

/// What a careful hand-written relay does: per-consumer prefetch, a
/// publisher channel in confirm mode, a confirmed mandatory publish before
/// each ack, up to `concurrency` messages at once.
async fn baseline(spec: &str) -> Result<(), Error> {
    let (topology, relay) = topology(spec)?;
    let emit = relay.emits.first().ok_or("relay emits nothing")?.clone();
    let connection = warren::broker::connect(&settings()?, &topology.vhost).await?;
    let consuming = connection.create_channel().await?;
    consuming
        .basic_qos(relay.prefetch, BasicQosOptions { global: false })
        .await?;
    let publishing = connection.create_channel().await?;
    publishing
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut deliveries = consuming
        .basic_consume(
            relay.queue.clone().ok_or("relay consumes nothing")?.into(),
            "baseline".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let permits = Arc::new(tokio::sync::Semaphore::new(relay.concurrency as usize));
    let cancel = stop_on_signal();
    loop {
        let permit = permits.clone().acquire_owned().await?;
        let delivery = tokio::select! {
            () = cancel.cancelled() => break,
            d = deliveries.next() => match d { Some(d) => d?, None => break },
        };
        let (publishing, emit) = (publishing.clone(), emit.clone());
        tokio::spawn(async move {
            let confirm = publishing
                .basic_publish(
                    emit.exchange.as_str().into(),
                    emit.key.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &delivery.data,
                    properties(&delivery.properties),
                )
                .await?
                .await?;
            if confirm == Confirmation::Ack(None) {
                delivery.ack(BasicAckOptions::default()).await?;
            }
            drop(permit);
            Ok::<(), lapin::Error>(())
        });
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(())
}

/// What warren gives an event, so that both relays store the same
/// messages: a new message id, the input's correlation id (its message id
/// when it has none), JSON, a timestamp, persistent.
fn properties(input: &BasicProperties) -> BasicProperties {
    let mut p = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_message_id(uuid::Uuid::new_v4().to_string().into())
        .with_timestamp(warren::worker::emit::now_millis() / 1000);
    if let Some(c) = input
        .correlation_id()
        .as_ref()
        .or(input.message_id().as_ref())
    {
        p = p.with_correlation_id(c.clone());
    }
    p
}

async fn http_handler(addr: &str) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let app = axum::Router::new().route(
        "/relay",
        axum::routing::post(|request: axum::body::Bytes| async move {
            let request: serde_json::Value = serde_json::from_slice(&request).unwrap_or_default();
            serde_json::json!({ "emit": [{ "key": "out", "body": request["body"] }] }).to_string()
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop_on_signal().cancelled().await })
        .await?;
    Ok(())
}

async fn load(spec: &str, n: usize) -> Result<(), Error> {
    let (topology, relay) = topology(spec)?;
    let queue = relay.queue.clone().ok_or("relay consumes nothing")?;
    let connection = warren::broker::connect(&settings()?, &topology.vhost).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    // In windows of 1,000 unconfirmed publishes.
    for start in (0..n).step_by(1000) {
        let mut confirms = Vec::new();
        for i in start..(start + 1000).min(n) {
            confirms.push(
                channel
                    .basic_publish(
                        "".into(),
                        queue.as_str().into(),
                        BasicPublishOptions {
                            mandatory: true,
                            ..Default::default()
                        },
                        format!("{{\"n\":{i}}}").as_bytes(),
                        BasicProperties::default()
                            .with_delivery_mode(2)
                            .with_content_type("application/json".into()),
                    )
                    .await?,
            );
        }
        for c in confirms {
            if c.await? != Confirmation::Ack(None) {
                return Err("a load message was not confirmed".into());
            }
        }
    }
    let _ = connection.close(200, "loaded".into()).await;
    Ok(())
}

async fn wait(spec: &str, queue: &str, n: u32) -> Result<(), Error> {
    let (topology, _) = topology(spec)?;
    let connection = warren::broker::connect(&settings()?, &topology.vhost).await?;
    let channel = connection.create_channel().await?;
    let (low, high) = (n / 10, n - n / 10);
    let mut low_at = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let q = channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        let count = q.message_count();
        if low_at.is_none() && count >= low {
            low_at = Some(Instant::now());
        }
        if count >= high {
            let took = low_at.map_or(Duration::ZERO, |t| t.elapsed());
            println!("{:.4}", took.as_secs_f64());
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("{queue}: {count} of {n} after 600s").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(())
}
