//! `warren status` against the real broker: a row per consuming service
//! with its depth, consumers, retries and dead letters, and the flags.

use std::time::Duration;

use serde_json::json;
use warren::worker::{Failure, handler};

use crate::support::Warren;
use crate::worker::Harness;

const SPEC: &str = r#"
exchanges:
  orders: { type: topic }
services:
  shipping:
    consumes: { exchange: orders, keys: [order.paid] }
    retry: { delays: [1m] }
  billing:
    consumes: { exchange: orders, keys: [order.created] }
    retry: { delays: [1m, 5m] }
"#;

/// The table with the rates (which the broker averages over time) masked
/// and the column padding they move collapsed.
fn stable(text: &str, vhost: &str) -> String {
    let rates = regex::Regex::new(r"\b\d+\.\d\b").unwrap();
    let spaces = regex::Regex::new(r" {2,}").unwrap();
    let named = text.replace(vhost, "<vhost>");
    let masked = rates.replace_all(&named, "<rate>");
    spaces.replace_all(&masked, "  ").into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_depth_consumers_dead_letters_and_flags_per_service() {
    needs_broker!();
    let h = Harness::new("status", SPEC).await;
    // shipping runs and dead-letters what it cannot handle; billing has no
    // worker at all, so its orders wait.
    let running = h.serve(
        "shipping",
        handler::function(|_| async { Err(Failure::permanent("no such parcel")) }),
    );
    h.publish(
        "orders",
        "order.paid",
        &[json!({"order": 1}), json!({"order": 2})],
    )
    .await;
    h.publish("orders", "order.created", &vec![json!({"order": 3}); 3])
        .await;
    // The management API's numbers lag the queues by its statistics
    // interval: wait until they show what was done.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let doc = loop {
        let ran = Warren::new()
            .args(["status", "--json"])
            .arg_path(&h.spec())
            .success();
        let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
        let services = &doc["services"];
        let ready = |i: usize| services[i]["queue"]["ready"].as_u64();
        let dead = |i: usize| services[i]["dead_letter_queue"]["ready"].as_u64();
        let shipping_consumers = services[1]["queue"]["consumers"].as_u64();
        // Until the burst of publishes has left the averaged rates too
        // (billing "growing" while its orders arrive is right, but passes).
        let settled = services[0]["flags"] == json!(["no-consumer"])
            && services[1]["flags"] == json!(["dead-letters"]);
        if ready(0) == Some(3) && dead(1) == Some(2) && shipping_consumers == Some(1) && settled {
            break doc;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "status never caught up: {doc:#}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(doc["services"][0]["service"], "billing");
    assert_eq!(
        doc["services"][1]["retry_queues"][0]["name"],
        "shipping.retry.1m"
    );

    let table = Warren::new().args(["status"]).arg_path(&h.spec()).success();
    insta::assert_snapshot!("status_table", stable(&table.stdout, &h.vhost.name));
    // For alerting: dead letters exit 2.
    Warren::new()
        .args(["status", "--fail-on-dlq"])
        .arg_path(&h.spec())
        .status(2);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_a_vhost_never_applied_says_so() {
    needs_broker!();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(
        &path,
        format!(
            "version: 1\nvhost: warren-test.never-applied.{}\n{SPEC}",
            std::process::id()
        ),
    )
    .unwrap();
    let ran = Warren::new().args(["status"]).arg_path(&path).status(1);
    ran.stderr_has("has no vhost");
    ran.stderr_has("warren apply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_retry_exchange_breaks_the_chain_in_status() {
    needs_broker!();
    let h = Harness::new("status-retry-exchange", SPEC).await;
    let retry = h.topology.services["shipping"]
        .retry
        .as_ref()
        .unwrap()
        .exchange
        .clone();
    h.vhost
        .http
        .api()
        .delete_exchange(&h.vhost.name, &retry, false)
        .await
        .unwrap();
    let ran = Warren::new()
        .args(["status", "--json", "--fail-on-dlq"])
        .arg_path(&h.spec())
        .status(2);
    let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let shipping = &doc["services"][1];
    assert_eq!(shipping["service"], "shipping");
    assert_eq!(shipping["missing_exchanges"], json!([retry]));
    assert!(
        shipping["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("chain-broken")),
        "{doc:#}"
    );
    // billing's chain is whole.
    assert!(doc["services"][0].get("missing_exchanges").is_none());
}
