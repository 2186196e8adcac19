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
    needs_broker!();
    let h = Harness::new("worker-per-instance", BROADCAST).await;
    // Apply declared the exchanges and nothing for the consumers.
    assert!(instance_queues(&h.vhost).await.is_empty());
    let seen: Seen = Arc::default();
    let first = h.serve("cache", recording(&seen, "first"));
    let second = h.serve("cache", recording(&seen, "second"));
    await_instances(&h.vhost, 2).await;

    // A plan with the instances running has nothing to do, pruning or not:
    // their queues and bindings are theirs.
    for extra in [&[][..], &["--prune"][..]] {
        let ran = Warren::new()
            .args(["plan", "--detailed-exitcode"])
            .args(extra)
            .arg_path(&h.spec())
            .status(0);
        ran.stdout_has("No changes");
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
    needs_broker!();
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
    let settings = vhost
        .settings
        .clone()
        .as_user(user.clone(), warren::broker::Password::new(password));
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

/// Calls of the held-retry handler: per message `n`, when each call came.
type Calls = Arc<Mutex<std::collections::BTreeMap<u64, Vec<Instant>>>>;

/// Fails message `n` transiently for its first `fail` calls (permanently
/// when `permanent`), then handles it.
fn flaky(calls: &Calls) -> impl warren::worker::Handler {
    let calls = calls.clone();
    handler::function(move |m| {
        let calls = calls.clone();
        async move {
            let n = m.body["n"].as_u64().unwrap_or(u64::MAX);
            let made = {
                let mut calls = calls.lock().unwrap();
                let these = calls.entry(n).or_default();
                these.push(Instant::now());
                these.len() as u64
            };
            if m.body["permanent"] == true {
                return Err(warren::worker::Failure::permanent("no such document"));
            }
            if made <= m.body["fail"].as_u64().unwrap_or(0) {
                return Err(warren::worker::Failure::transient(format!("busy ({made})")));
            }
            Ok(Vec::new())
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_instance_retry_is_held_by_its_worker_and_ends_in_the_shared_dlq() {
    needs_broker!();
    let user = format!("warren-test.held.{}", std::process::id());
    let password = format!("pw-held-{}", std::process::id());
    // SAFETY: each test runs in a process of its own (nextest), and this
    // is set before anything else runs in it; apply and the worker read it.
    unsafe { std::env::set_var("WARREN_TEST_PASSWORD_HELD", &password) };
    let spec = format!(
        "defaults: {{ queue_type: quorum }}\nexchanges:\n  invalidations: {{ type: fanout }}\nservices:\n  cache:\n    consumes: {{ exchange: invalidations, per_instance: true }}\n    retry: {{ delays: [1s, 1s] }}\n    concurrency: 4\n    user: {user:?}\nusers:\n  {user:?}: {{ password_env: WARREN_TEST_PASSWORD_HELD }}\n"
    );
    let h = Harness::new("worker-per-instance-retry", &spec).await;
    // The DLQ outlives the instances: a shared queue of the default type,
    // declared by apply; no delay queue exists.
    assert_eq!(
        h.topology.queues["cache.dlq"].queue_type,
        warren::topology::QueueType::Quorum
    );
    assert!(h.topology.services["cache"].retry.as_ref().unwrap().held);
    assert!(
        !h.topology
            .queues
            .keys()
            .any(|q| q.starts_with("cache.retry."))
    );
    assert_eq!(h.depth("cache.dlq").await, 0);

    let calls: Calls = Arc::default();
    let running = h.serve("cache", flaky(&calls));
    await_instances(&h.vhost, 1).await;
    h.publish(
        "invalidations",
        "",
        &[
            json!({ "n": 0 }),
            json!({ "n": 1, "fail": 2 }),
            json!({ "n": 2, "fail": 9 }),
            json!({ "n": 3, "permanent": true }),
        ],
    )
    .await;
    let dead = h.take("cache.dlq", 2).await;
    let of = |n: u64| {
        dead.iter()
            .find(|m| super::body(m)["n"] == n)
            .unwrap_or_else(|| panic!("message {n} is not in the DLQ"))
    };
    let header = |n: u64, name: &str| super::header(of(n), name).unwrap_or_default();
    assert_eq!(header(2, "x-warren-reason"), "attempts-exhausted");
    assert_eq!(header(2, "x-warren-attempt"), "3");
    assert!(header(2, "x-warren-error").contains("busy (3)"));
    assert_eq!(header(3, "x-warren-reason"), "permanent-failure");
    assert_eq!(header(3, "x-warren-attempt"), "1");
    {
        let calls = calls.lock().unwrap();
        let count = |n: u64| calls.get(&n).map_or(0, Vec::len);
        assert_eq!(
            (count(0), count(1), count(2), count(3)),
            (1, 3, 3, 1),
            "{calls:?}"
        );
        // Each call after a failure waited for its delay.
        for n in [1, 2] {
            for pair in calls[&n].windows(2) {
                assert!(pair[1] - pair[0] >= Duration::from_millis(950), "{calls:?}");
            }
        }
    }
    // A plan with the instance running has nothing to do.
    let ran = Warren::new()
        .args(["plan", "--detailed-exitcode"])
        .arg_path(&h.spec())
        .status(0);
    ran.stdout_has("No changes");

    // Shut down while a retry is held: the message goes to the DLQ, not
    // away with the instance's queue.
    h.publish("invalidations", "", &[json!({ "n": 4, "fail": 9 })])
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while calls.lock().unwrap().get(&4).is_none() {
        assert!(
            Instant::now() < deadline,
            "message 4 never reached the handler"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.stop().await;
    await_instances(&h.vhost, 0).await;
    let interrupted = h.take("cache.dlq", 1).await;
    assert_eq!(super::body(&interrupted[0])["n"], 4);
    assert_eq!(
        super::header(&interrupted[0], "x-warren-reason").as_deref(),
        Some("retry-interrupted")
    );
    assert_eq!(calls.lock().unwrap()[&4].len(), 1);
    let _ = h.vhost.http.api().delete_user(&user, true).await;
}
