//! Workers against the real broker, each test in a vhost of its own: the
//! topology is applied with `warren apply`, the workers run in-process
//! through the Rust API (or as `warren run` for the process handlers),
//! and what lands in the queues is read back over AMQP.

mod broker_retry;
mod commands;
mod delay;
mod faults;
mod handlers;
mod hardening;
mod per_instance;
mod privilege;
mod publisher;
mod semantics;

use std::time::Duration;

use lapin::BasicProperties;
use lapin::message::BasicGetMessage;
use lapin::options::BasicGetOptions;
use lapin::types::AMQPValue;
use tokio_util::sync::CancellationToken;
use warren::topology::Topology;
use warren::worker::Runner;

use crate::support::Warren;
use crate::support::broker::TestVhost;

/// A vhost with a spec applied to it.
pub struct Harness {
    pub vhost: TestVhost,
    pub topology: Topology,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// Applies `spec` (a spec without `version` and `vhost`) to a new vhost.
    pub async fn new(name: &str, spec: &str) -> Harness {
        let vhost = TestVhost::new(name).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spec.yaml");
        std::fs::write(
            &path,
            format!("version: 1\nvhost: {:?}\n{spec}", vhost.name),
        )
        .unwrap();
        Warren::new()
            .args(["apply", "--yes"])
            .arg_path(&path)
            .success();
        let validation = warren::validate::validate(&[path]).unwrap();
        assert!(!validation.has_errors(), "{:?}", validation.diagnostics);
        let topology = validation.topologies.into_iter().next().unwrap();
        Harness {
            vhost,
            topology,
            dir,
        }
    }

    pub fn spec(&self) -> std::path::PathBuf {
        self.dir.path().join("spec.yaml")
    }

    pub fn runner(&self) -> Runner {
        Runner::new(self.topology.clone(), self.vhost.settings.clone())
    }

    /// Starts a runner with `handler` for `service`.
    pub fn serve(&self, service: &str, handler: impl warren::worker::Handler) -> Running {
        self.start(self.runner().handler(service, handler).unwrap())
    }

    /// Starts `runner`; the handle stops it and waits for its shutdown.
    pub fn start(&self, runner: Runner) -> Running {
        let cancel = CancellationToken::new();
        let task = tokio::spawn(runner.run(cancel.clone()));
        Running { cancel, task }
    }

    /// Publishes JSON bodies with confirms; each gets `message_id` `id-N`.
    pub async fn publish(&self, exchange: &str, key: &str, bodies: &[serde_json::Value]) {
        let messages: Vec<(Vec<u8>, BasicProperties)> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                (
                    serde_json::to_vec(b).unwrap(),
                    BasicProperties::default()
                        .with_content_type("application/json".into())
                        .with_message_id(format!("id-{i}").into())
                        .with_correlation_id(format!("corr-{i}").into()),
                )
            })
            .collect();
        self.publish_raw(exchange, key, messages).await;
    }

    pub async fn publish_raw(
        &self,
        exchange: &str,
        key: &str,
        messages: Vec<(Vec<u8>, BasicProperties)>,
    ) {
        crate::support::broker::publish_confirmed(&self.vhost, exchange, key, messages).await;
    }

    /// Takes `count` messages off `queue` (acking them), waiting up to 30 s.
    pub async fn take(&self, queue: &str, count: usize) -> Vec<BasicGetMessage> {
        let connection = warren::broker::connect(&self.vhost.settings, &self.vhost.name)
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        while got.len() < count {
            match channel
                .basic_get(queue.into(), BasicGetOptions { no_ack: true })
                .await
                .unwrap()
            {
                Some(m) => got.push(m),
                None if std::time::Instant::now() > deadline => {
                    panic!("{queue}: {} of {count} messages after 30s", got.len())
                }
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let _ = connection.close(200, "taken".into()).await;
        got
    }

    /// How many messages `queue` holds now (a passive declare).
    pub async fn depth(&self, queue: &str) -> u64 {
        let counts = warren::broker::queue_counts(&self.vhost.settings, &self.vhost.name, [queue])
            .await
            .unwrap();
        counts.get(queue).map_or(0, |(m, _)| *m)
    }

    /// Waits until `queue` is empty and nothing is unacked on it.
    pub async fn drained(&self, queue: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.depth(queue).await > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{queue} never drained"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub struct Running {
    pub cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), warren::worker::WorkerError>>,
}

impl Running {
    pub async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .expect("the runner stops")
            .unwrap()
            .unwrap();
    }
}

/// A header of a fetched message, as text or number.
pub fn header(message: &BasicGetMessage, name: &str) -> Option<String> {
    let value = message
        .delivery
        .properties
        .headers()
        .as_ref()?
        .inner()
        .get(name)?;
    Some(match value {
        AMQPValue::LongLongInt(n) => n.to_string(),
        other => warren::worker::delivery::as_text(other).unwrap_or_else(|| format!("{other:?}")),
    })
}

pub fn body(message: &BasicGetMessage) -> serde_json::Value {
    serde_json::from_slice(&message.delivery.data).unwrap()
}

/// The flow most tests use: `shipping` consumes `order.paid` and emits
/// `order.shipped`, which the external queue `shipped` collects.
pub const SHIPPING: &str = r#"
exchanges:
  orders: { type: topic }
queues:
  shipped:
    external: true
    bindings: [{ exchange: orders, key: order.shipped }]
services:
  shipping:
    consumes: { exchange: orders, keys: [order.paid] }
    emits: [{ exchange: orders, keys: [order.shipped] }]
    retry: { delays: [200ms, 400ms] }
    prefetch: 20
    concurrency: 4
"#;
