//! Per-instance consumers (`consumes: { ..., per_instance: true }`): each
//! running instance declares a server-named exclusive queue of its own and
//! gets every broadcast; the queue goes when the instance stops, and plans
//! neither create nor delete such queues.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use serde_json::{Value, json};
use warren::worker::handler;

use super::Harness;
use crate::support::Warren;
use crate::support::broker::TestVhost;

const BROADCAST: &str = r#"
defaults: { queue_type: quorum }
exchanges:
  invalidations: { type: fanout }
  documents: { type: topic }
services:
  cache:
    consumes: { exchange: invalidations, per_instance: true }
  indexer:
    consumes: { exchange: documents, keys: ["doc.*"], per_instance: true }
  app:
    emits:
      - { exchange: invalidations, keys: [""] }
      - { exchange: documents, keys: [doc.saved] }
"#;

/// The vhost's server-named queues and their consumer counts.
async fn instance_queues(vhost: &TestVhost) -> Vec<(String, u64)> {
    let queues: Vec<Value> = vhost
        .http
        .get_json(
            &format!(
                "queues/{}?columns=name,consumers,exclusive",
                warren::broker::segment(&vhost.name)
            ),
            "list queues",
        )
        .await
        .expect("queues");
    queues
        .iter()
        .filter_map(|q| {
            let name = q["name"].as_str()?;
            name.starts_with("amq.gen-")
                .then(|| (name.to_string(), q["consumers"].as_u64().unwrap_or(0)))
        })
        .collect()
}

/// Waits until the vhost has `count` server-named queues, each consumed.
async fn await_instances(vhost: &TestVhost, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let queues = instance_queues(vhost).await;
        if queues.len() == count && queues.iter().all(|(_, c)| *c > 0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} consumed instance queues, found {queues:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

type Seen = Arc<Mutex<Vec<(String, u64)>>>;

fn recording(seen: &Seen, instance: &str) -> impl warren::worker::Handler {
    let (seen, instance) = (seen.clone(), instance.to_string());
    handler::function(move |m| {
        let (seen, instance) = (seen.clone(), instance.clone());
        async move {
            seen.lock()
                .unwrap()
                .push((instance, m.body["n"].as_u64().unwrap_or(u64::MAX)));
            Ok(Vec::new())
        }
    })
}

async fn await_count(seen: &Seen, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().len() < count {
        assert!(
            Instant::now() < deadline,
            "{} of {count} deliveries",
            seen.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_instance_gets_every_broadcast_and_its_queue_goes_when_it_stops() {
    if !crate::support::broker::available() {
        return;
    }
    let h = Harness::new("worker-per-instance", BROADCAST).await;
    // Apply declared the exchanges and nothing for the consumers.
    assert!(instance_queues(&h.vhost).await.is_empty());
    let seen: Seen = Arc::default();
    let first = h.start(
        h.runner()
            .handler("cache", recording(&seen, "first"))
            .unwrap(),
    );
    let second = h.start(
        h.runner()
            .handler("cache", recording(&seen, "second"))
            .unwrap(),
    );
    await_instances(&h.vhost, 2).await;

    // A plan with the instances running has nothing to do, pruning or not:
    // their queues and bindings are theirs.
    for extra in [&[][..], &["--prune"][..]] {
        let ran = Warren::new()
            .args(["plan", "--detailed-exitcode"])
            .args(extra)
            .arg_path(&h.spec())
            .status(0);
        assert!(ran.stdout.contains("No changes"), "{}", ran.stdout);
    }

    // `warren status` counts the instances from their consumer tags.
    let ran = Warren::new()
        .args(["status", "--json"])
        .arg_path(&h.spec())
        .success();
    let status: Value = serde_json::from_str(&ran.stdout).unwrap();
    let row = |service: &str| {
        status["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == service)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {service}: {status:#}"))
    };
    assert_eq!(row("cache")["queue"]["consumers"], 2, "{status:#}");
    assert_eq!(row("cache")["flags"], json!([]), "{status:#}");
    // No instance of the indexer runs: its broadcasts reach nobody.
    assert_eq!(
        row("indexer")["flags"],
        json!(["no-consumer"]),
        "{status:#}"
    );

    let bodies: Vec<_> = (0..20).map(|n| json!({ "n": n })).collect();
    h.publish("invalidations", "", &bodies).await;
    await_count(&seen, 40).await;
    let mut by_instance = std::collections::BTreeMap::<String, Vec<u64>>::new();
    for (instance, n) in seen.lock().unwrap().iter() {
        by_instance.entry(instance.clone()).or_default().push(*n);
    }
    for (instance, mut got) in by_instance.clone() {
        got.sort_unstable();
        assert_eq!(got, (0..20).collect::<Vec<u64>>(), "{instance}");
    }
    assert_eq!(by_instance.len(), 2);

    first.stop().await;
    await_instances(&h.vhost, 1).await;
    second.stop().await;
    await_instances(&h.vhost, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_instance_user_may_declare_and_bind_only_server_named_queues() {
    if !crate::support::broker::available() {
        return;
    }
    let vhost = TestVhost::new("worker-per-instance-user").await;
    let user = format!("warren-test.cache.{}-pi", std::process::id());
    let spec = format!(
        "version: 1\nvhost: {:?}\nexchanges:\n  invalidations: {{ type: fanout }}\n  private: {{ type: fanout }}\nqueues:\n  ledger: {{ external: true, bindings: [{{ exchange: private }}] }}\nservices:\n  cache:\n    consumes: {{ exchange: invalidations, per_instance: true }}\n    user: {user:?}\nusers:\n  {user:?}: {{ password_env: WARREN_TEST_PASSWORD_CACHE }}\n",
        vhost.name
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec).unwrap();
    let password = format!("pw-{}", std::process::id());
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&path)
        .env("WARREN_TEST_PASSWORD_CACHE", &password)
        .success();
    let mut settings = vhost.settings.clone();
    settings.user = user.clone();
    settings.password = warren::broker::Password::new(password);
    let connection = warren::broker::connect(&settings, &vhost.name)
        .await
        .unwrap();

    // What an instance does: a server-named exclusive queue, bound and consumed.
    let channel = connection.create_channel().await.unwrap();
    let own = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..QueueDeclareOptions::default()
    };
    let queue = channel
        .queue_declare("".into(), own, FieldTable::default())
        .await
        .expect("a server-named queue")
        .name()
        .to_string();
    assert!(queue.starts_with("amq.gen-"), "{queue}");
    channel
        .queue_bind(
            queue.as_str().into(),
            "invalidations".into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind to the consumed exchange");
    channel
        .basic_consume(
            queue.as_str().into(),
            "ok".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume its own queue");

    let refused = |what: &str, result: Result<(), lapin::Error>| {
        let error = result.expect_err(&format!("{what}: the broker allowed it"));
        assert!(
            error.to_string().contains("ACCESS_REFUSED"),
            "{what}: {error}"
        );
    };
    // A named queue: no configure permission outside amq.gen-*.
    let channel = connection.create_channel().await.unwrap();
    refused(
        "declare a named queue",
        channel
            .queue_declare("mine".into(), own, FieldTable::default())
            .await
            .map(|_| ()),
    );
    // Binding its queue to an exchange it does not consume: no read there.
    let channel = connection.create_channel().await.unwrap();
    let queue = channel
        .queue_declare("".into(), own, FieldTable::default())
        .await
        .unwrap()
        .name()
        .to_string();
    refused(
        "bind to another exchange",
        channel
            .queue_bind(
                queue.as_str().into(),
                "private".into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await,
    );
    // Another queue's messages.
    let channel = connection.create_channel().await.unwrap();
    refused(
        "consume ledger",
        channel
            .basic_consume(
                "ledger".into(),
                "no".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map(|_| ()),
    );
    let _ = connection.close(200, "done".into()).await;
    let _ = vhost.http.api().delete_user(&user, true).await;
}
