//! warren on the local three-node cluster (`scripts/cluster.sh up`):
//! apply converges with every quorum queue on every node, plans agree
//! whichever node they ask, and workers and the order flow carry on while
//! the node they are connected to is stopped, and status flags a queue
//! that lost its majority.
//!
//! The tests need the cluster: CI starts it and sets WARREN_TEST_CLUSTER;
//! without it they say so and pass. They stop and start its nodes, so they
//! run one at a time (.config/nextest.toml).

mod apply;
mod failover;
mod order_flow;
mod status;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use warren::broker::{Settings, SettingsInput};

use crate::support::broker::TestVhost;

/// The nodes, in the order scripts/cluster.sh numbers them.
pub const NODES: [u16; 3] = [1, 2, 3];

pub fn http_port(node: u16) -> u16 {
    15700 + node
}

pub fn amqp_port(node: u16) -> u16 {
    5700 + node
}

/// Whether this run has the cluster; a test without it returns early.
pub fn available() -> bool {
    let wanted = std::env::var_os("WARREN_TEST_CLUSTER").is_some();
    if !wanted {
        eprintln!("skipped: no cluster (run scripts/cluster.sh up and set WARREN_TEST_CLUSTER=1)");
    }
    wanted
}

/// The URLs of `nodes`, in that order, as one comma-separated list each.
pub fn urls(nodes: &[u16]) -> (String, String) {
    let join =
        |f: &dyn Fn(u16) -> String| nodes.iter().map(|n| f(*n)).collect::<Vec<_>>().join(",");
    (
        join(&|n| format!("http://127.0.0.1:{}", http_port(n))),
        join(&|n| format!("amqp://127.0.0.1:{}", amqp_port(n))),
    )
}

/// `warren ARGS SPEC --http-url H --amqp-url A` for `nodes`, in order.
pub fn on(nodes: &[u16], args: &[&str], spec: &std::path::Path) -> crate::support::Warren {
    let (http, amqp) = urls(nodes);
    crate::support::Warren::new()
        .args(args)
        .arg_path(spec)
        .args(["--http-url", &http, "--amqp-url", &amqp])
}

/// Settings for the cluster that try `nodes` in that order.
pub fn settings(nodes: &[u16]) -> Settings {
    let (http, amqp) = urls(nodes);
    let input = SettingsInput {
        http_url: Some(http),
        amqp_url: Some(amqp),
        ..SettingsInput::default()
    };
    Settings::resolve(&input, |_| None).expect("cluster settings")
}

/// A vhost of the test's own on the cluster.
pub async fn vhost(name: &str) -> TestVhost {
    TestVhost::on(name, settings(&NODES)).await
}

/// A vhost of the test's own and `spec` (without `version` and `vhost`)
/// written for it; the directory holds the file.
pub async fn vhost_with(name: &str, spec: &str) -> (TestVhost, tempfile::TempDir, PathBuf) {
    let vhost = vhost(name).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(
        &path,
        format!("version: 1\nvhost: {:?}\n{spec}", vhost.name),
    )
    .unwrap();
    (vhost, dir, path)
}

/// `scripts/cluster.sh ARGS`, which must succeed.
pub fn script(args: &[&str]) {
    let ran = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cluster.sh"))
        .args(args)
        .output()
        .expect("run scripts/cluster.sh");
    assert!(
        ran.status.success(),
        "scripts/cluster.sh {args:?}: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
}

/// Stops node `n` (its data stays; `start` brings it back).
pub fn stop(n: u16) {
    script(&["stop", &n.to_string()]);
}

/// Starts node `n` again and waits until it runs.
pub fn start(n: u16) {
    script(&["start", &n.to_string()]);
}

/// A quorum queue as the management API on `node` lists it: leader,
/// members, online members.
pub async fn members(vhost: &TestVhost, queue: &str) -> (String, Vec<String>, Vec<String>) {
    let q = vhost.queue(queue).await;
    let names = |k: &str| -> Vec<String> {
        let mut v: Vec<String> = q[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(String::from))
            .collect();
        v.sort();
        v
    };
    (
        q["leader"].as_str().unwrap_or_default().to_string(),
        names("members"),
        names("online"),
    )
}

/// Waits until every quorum queue of the vhost has all three members online.
pub async fn await_all_online(vhost: &TestVhost, queues: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    for q in queues {
        loop {
            let (_, members, online) = members(vhost, q).await;
            if members.len() == 3 && online.len() == 3 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{q}: members {members:?}, online {online:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The cluster's node names, as the broker spells them.
pub fn node_names() -> Vec<String> {
    NODES
        .iter()
        .map(|n| format!("warren-c{n}@localhost"))
        .collect()
}
