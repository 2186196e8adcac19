//! `apply` and `plan` against the cluster.

use super::{NODES, members, node_names, on, urls};
use crate::support::Warren;

const SPEC: &str = r#"
defaults: { queue_type: quorum }
exchanges:
  orders: { type: topic }
queues:
  ledger:
    initial_group_size: 3
    leader_locator: balanced
    external: true
    bindings: [{ exchange: orders, key: "order.#" }]
services:
  shipping:
    consumes: { exchange: orders, keys: [order.paid] }
    emits: [{ exchange: orders, keys: [order.shipped] }]
    queue_settings: { initial_group_size: 3 }
    retry: { delays: [1s] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_converges_with_every_member_on_every_node_and_each_node_plans_alike() {
    if !super::available() {
        return;
    }
    let (vhost, dir, spec) = super::vhost_with("cluster-apply", SPEC).await;

    // Before: every node sees the same changes to make.
    let plans: Vec<serde_json::Value> = NODES
        .iter()
        .map(|n| {
            let ran = on(&[*n], &["plan", "--json"], &spec).success();
            let mut plan: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
            plan.as_object_mut().unwrap().remove("fingerprint");
            plan
        })
        .collect();
    assert!(
        plans[0]["changes"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    assert_eq!(plans[0], plans[1]);
    assert_eq!(plans[0], plans[2]);

    on(&NODES, &["apply", "--yes"], &spec).success();
    // Each quorum queue has a member on every node.
    for queue in ["ledger", "shipping", "shipping.retry.1s", "shipping.dlq"] {
        let (leader, mut members, _) = members(&vhost, queue).await;
        members.sort();
        assert_eq!(members, node_names(), "{queue}");
        assert!(node_names().contains(&leader), "{queue}: leader {leader:?}");
    }
    // After: nothing left to do, whichever node is asked.
    for n in NODES {
        let ran = on(&[n], &["plan", "--detailed-exitcode"], &spec).status(0);
        assert!(
            ran.stdout.contains("No changes"),
            "node {n}: {}",
            ran.stdout
        );
    }
    // The checks count the live nodes.
    let five = dir.path().join("five.yaml");
    std::fs::write(
        &five,
        format!(
            "version: 1\nvhost: {:?}\n{}",
            vhost.name,
            SPEC.replacen("initial_group_size: 3", "initial_group_size: 5", 1)
        ),
    )
    .unwrap();
    let ran = on(&NODES, &["validate"], &five).success();
    ran.stderr_has("asks for 5 replicas, but the cluster has 3 nodes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_use_the_first_node_that_answers() {
    if !super::available() {
        return;
    }
    let (_vhost, _dir, spec) = super::vhost_with("cluster-first", SPEC).await;
    // A node that is not there (port 1), then the cluster's.
    let ran = Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&spec)
        .args([
            "--http-url",
            "http://127.0.0.1:1",
            "--http-url",
            &urls(&[2]).0,
            "--amqp-url",
            "amqp://127.0.0.1:1",
            "--amqp-url",
            &urls(&[2]).1,
        ])
        .success();
    ran.stdout_has("127.0.0.1:15702");
    on(&[3], &["plan", "--detailed-exitcode"], &spec).status(0);
}
