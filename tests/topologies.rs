//! The bundled topologies in topologies/.

use warren::routing::{Headers, Router};

fn bundled() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir("topologies")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bundled_topology_names_the_schema() {
    for path in bundled() {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/warren.schema.json\n"),
            "{} must start with the schema line",
            path.display()
        );
    }
}

#[test]
fn every_bundled_topology_is_clean() {
    for path in bundled() {
        let validation = warren::validate::validate(std::slice::from_ref(&path)).unwrap();
        assert!(
            validation.diagnostics.is_empty(),
            "{}: {:?}",
            path.display(),
            validation.diagnostics
        );
    }
}

fn ecommerce() -> warren::topology::Topology {
    let mut v = warren::validate::validate(&["topologies/ecommerce.yaml".into()]).unwrap();
    v.topologies.remove(0)
}

#[test]
fn order_created_reaches_inventory_notification_and_audit() {
    let t = ecommerce();
    let route = Router::new(&t)
        .route("order_events", "order.created", &Headers::new())
        .unwrap();
    let queues: Vec<&str> = route.queues.iter().map(String::as_str).collect();
    assert_eq!(queues, ["audit", "inventory", "notification"]);
}

#[test]
fn orders_take_their_payment_path_and_their_region() {
    let t = ecommerce();
    let router = Router::new(&t);
    let reach = |exchange: &str, key: &str| -> Vec<String> {
        router
            .route(exchange, key, &Headers::new())
            .unwrap()
            .queues
            .into_iter()
            .collect()
    };
    assert_eq!(reach("payments", "cod"), ["cod"]);
    assert_eq!(reach("payments", "prepaid"), ["payment"]);
    assert_eq!(
        reach("order_events", "order.india.books"),
        ["audit", "india_desk"]
    );
    assert_eq!(reach("order_events", "order.brazil.books"), ["audit"]);
    // Every regional key the order API may emit goes somewhere.
    let api = &t.services["order_api"];
    for emit in &api.emits {
        assert!(!reach(&emit.exchange, &emit.key).is_empty(), "{}", emit.key);
    }
    // The confirmation waits 3 s in its delay queue first.
    let confirmation = api
        .emits
        .iter()
        .find(|e| e.key == "order.confirmation")
        .unwrap();
    assert_eq!(confirmation.publish_exchange(), "order_events.delay.3s");
    assert_eq!(
        reach("order_events.delay.3s", "order.confirmation"),
        ["order_events.delay.3s"]
    );
    assert_eq!(
        t.queues["order_events.delay.3s"].dead_letter_exchange(),
        Some("order_events")
    );
}

#[test]
fn unknown_events_land_in_the_unrouted_queue() {
    let t = ecommerce();
    let route = Router::new(&t)
        .route("order_events", "customer.created", &Headers::new())
        .unwrap();
    let queues: Vec<&str> = route.queues.iter().map(String::as_str).collect();
    assert_eq!(queues, ["unrouted"]);
}

#[test]
fn service_users_get_least_privilege() {
    let t = ecommerce();
    let inventory = &t.users["inventory"];
    let p = inventory.permissions.as_ref().unwrap();
    assert_eq!(p.configure, "^$");
    assert_eq!(p.read, "^(inventory)$");
    assert_eq!(p.write, r"^(inventory\.retry|order_events|payments)$");
    assert_eq!(inventory.topic_permissions.len(), 1);
    assert_eq!(inventory.topic_permissions[0].exchange, "order_events");
    assert_eq!(
        inventory.topic_permissions[0].write,
        r"^(order\.failed|order\.inventory_checked)$"
    );
    // A producer reads nothing.
    assert_eq!(
        t.users["order_api"].permissions.as_ref().unwrap().read,
        "^$"
    );
}

#[test]
fn retry_expands_as_designed() {
    let t = ecommerce();
    let main = &t.queues["inventory"];
    assert_eq!(main.dead_letter_exchange(), Some(""));
    assert_eq!(main.dead_letter_routing_key(), Some("inventory.dlq"));
    assert_eq!(
        main.dead_letter_strategy(),
        Some(warren::vocabulary::DeadLetterStrategy::AtLeastOnce)
    );
    assert_eq!(
        main.overflow(),
        Some(warren::vocabulary::Overflow::RejectPublish)
    );
    for (delay, ttl) in [("5s", 5_000), ("30s", 30_000), ("5m", 300_000)] {
        let q = &t.queues[&format!("inventory.retry.{delay}")];
        assert_eq!(q.message_ttl(), Some(ttl));
        assert_eq!(q.dead_letter_routing_key(), Some("inventory"));
        assert!(t.bindings.iter().any(|b| b.source == "inventory.retry"
            && b.destination == q.name
            && b.routing_key == delay));
    }
    assert!(t.queues.contains_key("inventory.dlq"));
    let retry = t.services["inventory"].retry.as_ref().unwrap();
    assert_eq!(
        retry.delay_queues,
        [
            "inventory.retry.5s",
            "inventory.retry.30s",
            "inventory.retry.5m"
        ]
    );
    // A retried message comes back to the service's queue after the delay.
    let route = Router::new(&t)
        .route("inventory.retry", "30s", &Headers::new())
        .unwrap();
    assert_eq!(
        route.queues.iter().collect::<Vec<_>>(),
        ["inventory.retry.30s"]
    );
}

#[test]
fn headers_routing_in_the_exchange_types_example() {
    let mut v = warren::validate::validate(&["topologies/exchange-types.yaml".into()]).unwrap();
    let t = v.topologies.remove(0);
    let router = Router::new(&t);
    let headers = |pairs: serde_json::Value| -> Headers { serde_json::from_value(pairs).unwrap() };
    let reached = |h: Headers| -> Vec<String> {
        router
            .route("documents", "", &h)
            .unwrap()
            .queues
            .into_iter()
            .collect()
    };
    assert_eq!(
        reached(headers(
            serde_json::json!({"format": "pdf", "type": "report"})
        )),
        ["documents.pdf_reports"]
    );
    // x-match any: one matching header is enough; the boolean is typed.
    assert_eq!(
        reached(headers(serde_json::json!({"archived": true}))),
        ["documents.any_archive"]
    );
    assert!(reached(headers(serde_json::json!({"archived": "true"}))).is_empty());
    assert!(reached(headers(serde_json::json!({"format": "pdf"}))).is_empty());
}

#[test]
fn handler_commands_in_bundled_topologies_exist_and_run() {
    use warren::topology::Handler;
    for path in bundled() {
        let v = warren::validate::validate(std::slice::from_ref(&path)).unwrap();
        for t in &v.topologies {
            for s in t.services.values() {
                let command = match &s.handler {
                    Some(Handler::Exec(argv) | Handler::Stdio(argv)) => &argv[0],
                    _ => continue,
                };
                let meta = std::fs::metadata(command)
                    .unwrap_or_else(|_| panic!("{}: {command} missing", s.name));
                use std::os::unix::fs::PermissionsExt;
                assert!(
                    meta.permissions().mode() & 0o111 != 0,
                    "{command} is not executable"
                );
            }
        }
    }
    // The shop's exec handler follows the contract: a body that can never
    // be handled exits 65 (permanent), saying why; warren runs it through
    // the wrapper the spec names.
    use std::io::Write;
    let mut child = std::process::Command::new("./examples/ecommerce/shop.sh")
        .arg("ship")
        .env("SHOP_BIN", crate::ecommerce::shop_bin())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"customer": "nobody"}"#)
        .unwrap();
    let refused = child.wait_with_output().unwrap();
    assert_eq!(refused.status.code(), Some(65));
    assert!(refused.stdout.is_empty());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("order_id"));
}
