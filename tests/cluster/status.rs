//! `warren status` on the cluster: each quorum queue's leader and members,
//! and the flag for one whose online members are no longer a majority.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{NODES, await_all_online, node_names, on, start, stop, urls};

const SPEC: &str = r#"
defaults: { queue_type: quorum }
exchanges:
  orders: { type: topic }
services:
  shipping:
    consumes: { exchange: orders, keys: [order.paid] }
    queue_settings: { initial_group_size: 3 }
"#;

/// Starts the nodes it holds again when dropped, so a failing test leaves
/// the cluster whole for the next one.
struct Stopped(Vec<u16>);

impl Drop for Stopped {
    fn drop(&mut self) {
        for n in self.0.drain(..) {
            start(n);
        }
    }
}

/// Kills the process when dropped, also when the test fails.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The shipping row of `warren status --json`, asked of node 1 only.
fn shipping(spec: &std::path::Path) -> Value {
    let ran = on(&[1], &["status", "--json"], spec).success();
    let status: Value = serde_json::from_str(&ran.stdout).unwrap();
    status["services"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["service"] == "shipping"))
        .cloned()
        .unwrap_or_else(|| panic!("no shipping row: {status:#}"))
}

fn flags(row: &Value) -> Vec<String> {
    row["flags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_majority_status_flags_the_queue_and_apply_on_khepri_applies_nothing() {
    if !super::available() {
        return;
    }
    let (vhost, _dir, spec) = super::vhost_with("cluster-status", SPEC).await;
    on(&NODES, &["apply", "--yes"], &spec).success();
    await_all_online(&vhost, &["shipping"]).await;
    let row = shipping(&spec);
    let mut members: Vec<String> = serde_json::from_value(row["queue"]["members"].clone()).unwrap();
    members.sort();
    assert_eq!(members, node_names(), "{row:#}");
    assert!(!flags(&row).contains(&"minority".to_string()), "{row:#}");

    // Two of three members down: node 1 answers, the queue has no quorum.
    let stopped = Stopped(vec![2, 3]);
    tokio::task::spawn_blocking(|| {
        stop(2);
        stop(3);
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row = shipping(&spec);
        if flags(&row).contains(&"minority".to_string()) {
            let online = row["queue"]["online"].as_array().map_or(0, Vec::len);
            assert!(online <= 1, "{row:#}");
            break;
        }
        assert!(Instant::now() < deadline, "never flagged: {row:#}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A change now. Where the metadata lives in Khepri (4.3; a Raft store
    // that needs a majority), the broker would take the first declare and
    // wait: apply refuses up front and applies nothing, while plan still
    // reads. Mnesia (3.10, 4.0) declares a classic queue on one node.
    let feature_flags: Vec<Value> = vhost
        .http
        .get_json("feature-flags", "list the feature flags")
        .await
        .unwrap();
    let khepri = feature_flags
        .iter()
        .any(|f| f["name"] == "khepri_db" && f["state"] == "enabled");
    let grown = spec.with_file_name("grown.yaml");
    std::fs::write(
        &grown,
        format!(
            "{}\nqueues:\n  extra: {{ type: classic, bindings: [{{ exchange: orders, key: extra }}] }}\n",
            std::fs::read_to_string(&spec).unwrap()
        ),
    )
    .unwrap();
    let planned = on(&[1], &["plan", "--detailed-exitcode"], &grown).status(2);
    planned.stdout_has("+ queue extra");
    if khepri {
        let refused = on(&[1], &["apply", "--yes"], &grown).status(1);
        refused
            .stderr_has("only 1 of the cluster's 3 nodes runs")
            .stderr_has("nothing was applied");
        on(&[1], &["plan", "--detailed-exitcode"], &grown).status(2);
    } else {
        on(&[1], &["apply", "--yes"], &grown).success();
    }

    // Back: every member online, the flag gone.
    tokio::task::spawn_blocking(move || drop(stopped))
        .await
        .unwrap();
    await_all_online(&vhost, &["shipping"]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row = shipping(&spec);
        if !flags(&row).contains(&"minority".to_string()) {
            break;
        }
        assert!(Instant::now() < deadline, "still flagged: {row:#}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_watch_carries_on_through_the_node_it_was_asking_stopping() {
    if !super::available() {
        return;
    }
    let (_vhost, dir, spec) = super::vhost_with("cluster-watch", SPEC).await;
    on(&NODES, &["apply", "--yes"], &spec).success();
    let (http, amqp) = urls(&NODES);
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut watch = Killed(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("warren"))
            .args(["status", "--watch", "--json", "--interval", "1"])
            .arg(&spec)
            .args(["--http-url", &http, "--amqp-url", &amqp])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap(),
    );
    let documents = || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .matches("\"vhost\":")
            .count()
    };
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(
                Instant::now() < deadline,
                "{what}: {}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_for("no first status", &|| documents() >= 1);
    // The watch asks node 1, the first URL; it stops.
    let stopped = Stopped(vec![1]);
    tokio::task::spawn_blocking(|| stop(1)).await.unwrap();
    let before = documents();
    wait_for("the watch ended or stalled with node 1 stopped", &|| {
        documents() >= before + 3
    });
    assert!(watch.0.try_wait().unwrap().is_none(), "the watch exited");
    // It passed over the stopped node for the next (at once, or after a
    // refresh it said failed), and never printed the credentials.
    let said = std::fs::read_to_string(&err).unwrap();
    assert!(!said.contains("guest"), "{said}");
    drop(watch);
    tokio::task::spawn_blocking(move || drop(stopped))
        .await
        .unwrap();
}
