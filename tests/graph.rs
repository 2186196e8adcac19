//! `warren graph` and `warren explain` on the bundled topologies.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::Warren;

fn mermaid() -> String {
    Warren::new()
        .args(["graph", "topologies/ecommerce.yaml"])
        .success()
        .stdout
}

#[test]
fn mermaid_snapshot() {
    insta::assert_snapshot!("ecommerce_mermaid", mermaid());
}

#[test]
fn mermaid_edges_join_declared_nodes() {
    let text = mermaid();
    assert!(text.starts_with("flowchart LR\n"));
    let declared: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.trim().split_once(['{', '[', '(']).map(|(id, _)| id))
        .filter(|id| !id.contains(' '))
        .collect();
    let mut edges = 0;
    for line in text
        .lines()
        .filter(|l| l.contains("-->") || l.contains("-.->"))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (from, to) = (words[0], words[words.len() - 1]);
        assert!(declared.contains(from) && declared.contains(to), "{line}");
        edges += 1;
    }
    assert!(edges > 20, "{edges} edges");
    // Every kind of edge shows up in the ecommerce flow.
    for label in [
        "\"order.created\"",
        "\"unrouted\"",
        "\"dead letter\"",
        "\"after ttl\"",
        "\"retry 5s, 30s, 5m\"",
    ] {
        assert!(text.contains(label), "{label} missing");
    }
}

#[test]
fn dot_snapshot_and_graphviz_accepts_it() {
    let dot = Warren::new()
        .args(["graph", "--format", "dot", "topologies/ecommerce.yaml"])
        .success()
        .stdout;
    insta::assert_snapshot!("ecommerce_dot", dot);
    let Ok(mut child) = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!(
            "Graphviz not installed: skipping the dot -Tsvg parse (scripts/test.sh installs it)"
        );
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "dot rejected the graph: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("<svg"));
}

#[test]
fn svg_without_graphviz_says_how_to_get_it() {
    let ran = Warren::new()
        .args(["graph", "--format", "svg", "topologies/ecommerce.yaml"])
        .env("PATH", "/nonexistent")
        .status(1);
    ran.stderr_has("apt-get install graphviz");
}

#[test]
fn explain_inventory() {
    let ran = Warren::new()
        .args(["explain", "topologies/ecommerce.yaml", "inventory"])
        .success();
    insta::assert_snapshot!("explain_inventory", ran.stdout);
    assert!(ran.stdout.contains("from order_api: order.created"));
    assert!(ran.stdout.contains("retries after 5s, 30s, 5m"));
}

#[test]
fn explain_a_producer_and_an_unknown_service() {
    let ran = Warren::new()
        .args(["explain", "topologies/ecommerce.yaml", "order_api"])
        .success();
    assert!(ran.stdout.contains("consumes nothing (a producer)"));
    ran.stdout_has("order.created to order_events: queues audit, inventory, notification (read by audit, inventory, notification)");
    let ran = Warren::new()
        .args(["explain", "topologies/ecommerce.yaml", "billing"])
        .status(64);
    ran.stderr_has("no service \"billing\"; services: audit, cod, india_desk, inventory, notification, order_api, orders, payment, shipping");
}

#[test]
fn several_vhosts_need_one_at_a_time() {
    let ran = Warren::new().args(["graph", "topologies/"]).status(64);
    ran.stderr_has("several vhosts");
}

#[test]
fn svg_from_a_dot_that_fails_without_reading_is_an_error_not_empty_output() {
    let dir = tempfile::tempdir().unwrap();
    for (name, script) in [
        ("silent", "#!/bin/sh\nexit 0\n"),
        (
            "crashes",
            "#!/bin/sh\necho 'dot: out of memory' >&2\nexit 3\n",
        ),
    ] {
        let bin = dir.path().join(name);
        std::fs::create_dir_all(&bin).unwrap();
        let dot = bin.join("dot");
        std::fs::write(&dot, script).unwrap();
        let mut permissions = std::fs::metadata(&dot).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&dot, permissions).unwrap();
        let ran = Warren::new()
            .args(["graph", "--format", "svg", "topologies/ecommerce.yaml"])
            .env("PATH", bin.to_str().unwrap())
            .status(1);
        assert!(ran.stdout.is_empty(), "{name}: {}", ran.stdout);
        assert!(ran.stderr.contains("dot"), "{name}: {}", ran.stderr);
    }
}
