//! The `warren` binary end to end.

use crate::support::Warren;

#[test]
fn validate_bundled_topologies_is_clean() {
    let ran = Warren::new()
        .args(["validate", "--deny-warnings", "topologies/"])
        .success();
    ran.stderr_has("ok: vhost \"shop\"");
    ran.stderr_has("ok: vhost \"exchange-types\"");
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    Warren::new()
        .args(["validate", "tests/broken/W321-queue-unreachable.yaml"])
        .success();
    Warren::new()
        .args([
            "validate",
            "--deny-warnings",
            "tests/broken/W321-queue-unreachable.yaml",
        ])
        .status(1);
}

#[test]
fn json_format_is_an_array_of_located_diagnostics() {
    let ran = Warren::new()
        .args([
            "validate",
            "--format",
            "json",
            "tests/broken/E101-unknown-exchange-binding.yaml",
        ])
        .status(1);
    let items: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let first = &items[0];
    assert_eq!(first["code"], "E101");
    assert_eq!(first["name"], "unknown-exchange");
    assert_eq!(first["severity"], "error");
    assert_eq!(
        first["file"],
        "tests/broken/E101-unknown-exchange-binding.yaml"
    );
    assert_eq!(first["line"], 8);
    assert_eq!(first["column"], 19);
    assert!(
        first["help"]
            .as_str()
            .unwrap()
            .contains("did you mean \"order_events\""),
        "{first}"
    );
}

#[test]
fn json_format_of_a_clean_topology_is_an_empty_array() {
    let ran = Warren::new()
        .args(["validate", "--format", "json", "topologies/ecommerce.yaml"])
        .success();
    assert_eq!(ran.stdout.trim(), "[]");
}

#[test]
fn github_format_writes_workflow_commands() {
    let ran = Warren::new()
        .args([
            "validate",
            "--format",
            "github",
            "tests/broken/W302-wildcard-inside-word.yaml",
        ])
        .success();
    let line = ran
        .stdout
        .lines()
        .find(|l| l.contains("W302"))
        .expect("a W302 annotation");
    assert!(
        line.starts_with("::warning file=tests/broken/W302-wildcard-inside-word.yaml,line=7,col="),
        "{line}"
    );
    assert!(line.contains("title=W302 wildcard-inside-word::"), "{line}");
    assert!(line.contains("%0Ahelp: "), "{line}");
}

#[test]
fn a_directory_merges_files_and_reports_across_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "version: 1\nexchanges:\n  events: { type: topic }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        "version: 1\nexchanges:\n  events: { type: fanout }\nqueues:\n  q: { external: true, bindings: [{ exchange: events, key: '#' }] }\n",
    )
    .unwrap();
    let ran = Warren::new()
        .args(["validate", "--format", "json"])
        .arg_path(dir.path())
        .status(1);
    let items: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let dup = items
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "E103")
        .expect("E103");
    assert!(dup["file"].as_str().unwrap().ends_with("b.yaml"));
    assert!(
        dup["labels"][1]["file"]
            .as_str()
            .unwrap()
            .ends_with("a.yaml")
    );
}

#[test]
fn missing_path_is_an_error_not_a_panic() {
    let ran = Warren::new()
        .args(["validate", "no/such/file.yaml"])
        .status(1);
    ran.stderr_has("cannot read no/such/file.yaml");
}

#[test]
fn empty_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let ran = Warren::new()
        .args(["validate"])
        .arg_path(dir.path())
        .status(1);
    ran.stderr_has("holds no spec files");
}

#[test]
fn usage_errors_exit_64_never_2() {
    // 2 is "changes present" under plan --detailed-exitcode.
    Warren::new().args(["validate"]).status(64);
    Warren::new()
        .args(["validate", "--format", "xml", "topologies/"])
        .status(64);
    Warren::new()
        .args([
            "plan",
            "--detailed-exitcode",
            "--prnue",
            "topologies/ecommerce.yaml",
        ])
        .status(64);
    let ran = Warren::new().args(["export"]).status(64);
    ran.stderr_has("export needs --vhost");
    Warren::new().args(["--help"]).success();
    Warren::new().args(["--version"]).success();
}

#[test]
fn expand_shows_what_retry_generates() {
    let ran = Warren::new()
        .args(["expand", "topologies/ecommerce.yaml"])
        .success();
    let expanded = ran.stdout;
    for generated in [
        "inventory.retry:",
        "inventory.retry.5s:",
        "inventory.retry.30s:",
        "inventory.retry.5m:",
        "inventory.dlq:",
        "payment.retry.1m:",
    ] {
        assert!(
            expanded.contains(generated),
            "{generated} missing from\n{expanded}"
        );
    }
    assert!(expanded.contains("x-dead-letter-strategy: at-least-once"));
    assert!(expanded.contains("generated_by: inventory"));
}

#[test]
fn expand_refuses_a_broken_spec() {
    let ran = Warren::new()
        .args(["expand", "tests/broken/E101-unknown-emit-exchange.yaml"])
        .status(1);
    assert!(ran.stdout.is_empty());
    assert!(ran.stderr.contains("E101"));
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let ran = Warren::new().args(["schema"]).success();
    let committed = std::fs::read_to_string("schemas/warren.schema.json").unwrap();
    assert_eq!(ran.stdout, committed);
}

#[test]
fn checks_command_lists_every_code() {
    let ran = Warren::new().args(["checks"]).success();
    for code in warren::diagnostic::codes::ALL {
        assert!(
            ran.stdout.contains(code.id) && ran.stdout.contains(code.name),
            "{code}"
        );
    }
}

#[test]
fn passwords_in_the_spec_are_not_echoed() {
    let ran = Warren::new()
        .args(["validate", "tests/broken/E004-password-in-spec.yaml"])
        .status(1);
    assert!(ran.stderr.contains("E004"));
    // The secret is in the YAML snippet at most, never in the message.
    let message_line = ran
        .stderr
        .lines()
        .find(|l| l.contains("has a password"))
        .unwrap();
    assert!(!message_line.contains("hunter2"));
}

#[test]
fn route_lists_the_queues_an_event_reaches() {
    let ran = Warren::new()
        .args([
            "route",
            "topologies/ecommerce.yaml",
            "--exchange",
            "order_events",
            "--key",
            "order.created",
        ])
        .success();
    ran.stdout_has("\nqueues: audit, inventory, notification\n");
    // What a failure does next, for each service reading one of them.
    ran.stdout_has("  inventory: read by inventory, a failure retried through delay queues after 5s, 30s, 5m, then inventory.dlq\n");
}

#[test]
fn route_json_for_a_service_emit() {
    let ran = Warren::new()
        .args([
            "route",
            "topologies/ecommerce.yaml",
            "--service",
            "shipping",
            "--emit",
            "order.shipped",
            "--json",
        ])
        .success();
    let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(
        doc["queues"],
        serde_json::json!(["audit", "notification", "orders"])
    );
    assert_eq!(doc["dropped"], false);
    assert_eq!(doc["hops"][0]["via"], "binding");
}

#[test]
fn route_says_when_the_broker_drops_a_message() {
    let ran = Warren::new()
        .args([
            "route",
            "tests/broken/W304-unroutable-emit.yaml",
            "--exchange",
            "order_events",
            "--key",
            "parcel.shipped",
            "--json",
        ])
        .success();
    let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(doc["dropped"], true);
    assert_eq!(doc["queues"], serde_json::json!([]));
}

#[test]
fn route_explains_a_drop() {
    let ran = Warren::new()
        .args([
            "route",
            "tests/broken/W304-unroutable-emit.yaml",
            "--exchange",
            "order_events",
            "--key",
            "parcel.shipped",
        ])
        .success();
    ran.stdout_has("dropped: the broker discards the message");
    ran.stdout_has("order_events: topic exchange whose 1 binding(s) do not match; it has no alternate exchange");
}

#[test]
fn route_types_header_values() {
    let reach = |header: &str| {
        Warren::new()
            .args([
                "route",
                "topologies/exchange-types.yaml",
                "--exchange",
                "documents",
                "--header",
                header,
            ])
            .success()
            .stdout
    };
    assert!(reach("archived=true").contains("queues: documents.any_archive"));
    assert!(reach("archived=\"true\"").contains("dropped"));
}

#[test]
fn route_refuses_unknown_exchanges_and_services() {
    let ran = Warren::new()
        .args([
            "route",
            "topologies/ecommerce.yaml",
            "--exchange",
            "nope",
            "--key",
            "a",
        ])
        .status(64);
    ran.stderr_has("exchange \"nope\" does not exist");
    let ran = Warren::new()
        .args([
            "route",
            "topologies/ecommerce.yaml",
            "--service",
            "nobody",
            "--emit",
            "a",
        ])
        .status(64);
    ran.stderr_has("no service \"nobody\"");
}

#[test]
fn import_writes_one_spec_per_vhost_and_reports_what_it_leaves_out() {
    let dir = tempfile::tempdir().unwrap();
    let ran = Warren::new()
        .args([
            "import",
            "tests/corpus/definitions/09-sutazai-4-vhosts-ha-policies.json",
            "--out-dir",
        ])
        .arg_path(dir.path())
        .success();
    for file in [
        "default.yaml",
        "agents.yaml",
        "monitoring.yaml",
        "sutazai.yaml",
    ] {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{file} missing: {}", ran.stderr));
        assert!(text.starts_with("# yaml-language-server: $schema="));
        Warren::new().args(["validate"]).arg_path(&path).success();
    }
    ran.stderr_has("warning: not imported: 2 user(s): password hashes are not kept");
}

#[test]
fn import_refuses_what_is_not_a_definitions_export() {
    let ran = Warren::new().args(["import", "README.md"]).status(1);
    ran.stderr_has("README.md is not a RabbitMQ definitions export");
    let ran = Warren::new()
        .args([
            "import",
            "tests/corpus/definitions/09-sutazai-4-vhosts-ha-policies.json",
        ])
        .status(64);
    ran.stderr_has("holds 4 vhosts: give --out-dir DIR");
}

#[test]
fn import_refuses_values_the_broker_refuses_and_says_where_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("defs.json");
    for (doc, expected) in [
        (
            r#"{"queues":[{"name":"ok","vhost":"/","durable":true,"auto_delete":false,"arguments":{}},
               {"name":"orders","vhost":"/","durable":true,"auto_delete":false,"arguments":{"x-message-ttl":1.5}}]}"#,
            r#"queues[1], queue "orders" of vhost "/", argument "x-message-ttl" is 1.5"#,
        ),
        (
            r#"{"policies":[{"name":"p","vhost":"/","pattern":"^a","apply-to":"queues","priority":0,"definition":{"max-length":"ten"}}]}"#,
            r#"policies[0], policy "p" of vhost "/", key "max-length" is "ten""#,
        ),
    ] {
        std::fs::write(&file, doc).unwrap();
        let ran = Warren::new().args(["import"]).arg_path(&file).status(1);
        ran.stderr_has(expected);
        ran.stderr_has("whole number");
    }
}

#[test]
fn import_reads_a_file_that_starts_with_a_byte_order_mark() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bom.json");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(br#"{"vhosts": [{"name": "shop"}], "exchanges": [{"name": "orders", "vhost": "shop", "type": "topic", "durable": true, "auto_delete": false, "internal": false, "arguments": {}}]}"#);
    std::fs::write(&file, bytes).unwrap();
    let ran = Warren::new()
        .args(["import", "--vhost", "shop"])
        .arg_path(&file)
        .success();
    ran.stdout_has("orders");
}
