//! Applications that declare their own topology, written as RabbitMQ's
//! tutorials write them (amqplib from npm, pika from PyPI), against the
//! bundled order flow: with its settings through policies they run
//! unchanged beside warren's own workers; with its settings as arguments
//! (the default) `validate` predicts each PRECONDITION_FAILED they meet.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use warren::worker::{Runner, handler};

use crate::support::Warren;
use crate::support::broker::TestVhost;

/// Orders each application publishes.
const ORDERS: usize = 50;

/// The Node.js modules (amqplib) and the Python path (pika) the test
/// scripts load: installed by scripts/test.sh into target/, or where
/// `WARREN_TEST_NODE_PATH` and `WARREN_TEST_PYTHONPATH` say.
fn clients() -> Option<(PathBuf, PathBuf)> {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/clients");
    let node = std::env::var_os("WARREN_TEST_NODE_PATH")
        .map_or_else(|| target.join("node/node_modules"), PathBuf::from);
    let python = std::env::var_os("WARREN_TEST_PYTHONPATH")
        .map_or_else(|| target.join("python"), PathBuf::from);
    let found = node.join("amqplib").is_dir() && python.join("pika").is_dir();
    if !found {
        let message = format!(
            "amqplib in {} and pika in {} (bash scripts/clients.sh installs them)",
            node.display(),
            python.display()
        );
        if std::env::var_os(crate::support::broker::REQUIRE_VAR).is_some() {
            panic!("no {message}");
        }
        eprintln!("skipped: no {message}");
        return None;
    }
    Some((node, python))
}

/// The bundled flow for `vhost`, without users (the applications and the
/// workers connect as the test's user), with the inventory service's own
/// declarations as `asserts:` when `asserts`, `edit` applied.
fn spec(
    vhost: &TestVhost,
    release: &str,
    asserts: bool,
    edit: impl Fn(String) -> String,
) -> String {
    let (spec, _) = crate::ecommerce::own_spec(&vhost.name, "coexist", 1);
    let spec = spec[..spec.find("\nusers:\n").expect("the flow has users")].to_string() + "\n";
    let spec: String = spec
        .lines()
        .filter(|l| !l.starts_with("    user: "))
        .map(|l| format!("{l}\n"))
        .collect();
    let consumes =
        "  inventory:\n    consumes: { exchange: order_events, keys: [order.created] }\n";
    assert!(
        spec.contains(consumes),
        "the flow's inventory service moved"
    );
    if !asserts {
        return edit(format!("broker: {{ version: {release:?} }}\n{spec}"));
    }
    let spec = spec.replace(
        consumes,
        &format!(
            "{consumes}    asserts:\n      - {{ exchange: order_events, type: topic }}\n      - {{ queue: inventory }}\n"
        ),
    );
    edit(format!("broker: {{ version: {release:?} }}\n{spec}"))
}

/// Runs a test script; returns what it printed as JSON.
fn run(program: &str, script: &str, env: (&str, &Path), url: &str) -> serde_json::Value {
    let output = Command::new(program)
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/coexist")
                .join(script),
        )
        .args([url, &ORDERS.to_string()])
        .env(env.0, env.1)
        .output()
        .expect("the script runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!(
            "{script} printed no result ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The AMQP URL of the test's vhost, with the test user's credentials.
fn amqp_url(vhost: &TestVhost) -> String {
    let mut url = vhost.settings.amqp_url.clone();
    let _ = url.set_username(&vhost.settings.user);
    let _ = url.set_password(Some(vhost.settings.password.expose()));
    url.set_path(&format!("/{}", urlencoding(&vhost.name)));
    url.to_string()
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Warren's workers for `notification` and `audit`, counting what they
/// handle.
fn workers(
    vhost: &TestVhost,
    spec: &Path,
) -> (Arc<AtomicUsize>, Arc<AtomicUsize>, CancellationToken) {
    let validation = warren::validate::validate(&[spec.to_path_buf()]).unwrap();
    let topology = validation.topologies.into_iter().next().unwrap();
    let counter = |n: &Arc<AtomicUsize>| {
        let n = n.clone();
        handler::function(move |_| {
            let n = n.clone();
            async move {
                n.fetch_add(1, Ordering::SeqCst);
                Ok(vec![])
            }
        })
    };
    let (notified, audited) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let runner = Runner::new(topology, vhost.settings.clone())
        .handler("notification", counter(&notified))
        .unwrap()
        .handler("audit", counter(&audited))
        .unwrap();
    let cancel = CancellationToken::new();
    tokio::spawn(runner.run(cancel.clone()));
    (notified, audited, cancel)
}

async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_that_declare_their_own_topology_run_unchanged_with_settings_through_policies() {
    needs_broker!();
    // A plain declaration of a quorum queue needs the vhost's default
    // queue type, which RabbitMQ keeps from 3.11.
    let since = warren::topology::VhostSettings::DEFAULT_QUEUE_TYPE_SINCE;
    if !crate::support::broker::release_at_least(since, "coexist-policy").await {
        return;
    }
    let Some((node, python)) = clients() else {
        return;
    };
    let vhost = TestVhost::new("coexist-policy").await;
    let release = crate::support::broker::release().await.to_string();
    let text = spec(&vhost, &release, true, |s| {
        s.replace(
            "defaults:\n  queue_type: quorum\n",
            "defaults:\n  queue_type: quorum\n  settings: policy\n",
        )
        .replace(
            &format!("vhost: {:?}\n", vhost.name),
            &format!(
                "vhost: {{ name: {:?}, default_queue_type: quorum }}\n",
                vhost.name
            ),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, &text).unwrap();
    // The applications' declarations are the managed objects'.
    Warren::new().args(["validate"]).arg_path(&path).success();
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&path)
        .success();
    let (notified, audited, cancel) = workers(&vhost, &path);

    let url = amqp_url(&vhost);
    let js = run("node", "apps.js", ("NODE_PATH", &node), &url);
    assert_eq!(js["refused"], serde_json::json!({}), "{js}");
    assert_eq!(js["published"], ORDERS, "{js}");
    for app in ["inventory", "direct", "fanout", "topic", "headers"] {
        let want = if app == "inventory" { ORDERS } else { 1 };
        assert_eq!(js["received"][app], want, "{app}: {js}");
    }
    let py = run("python3", "apps.py", ("PYTHONPATH", &python), &url);
    assert_eq!(py["refused"], serde_json::json!({}), "{py}");
    assert_eq!(py["received"]["inventory"], ORDERS, "{py}");

    // Warren's workers, beside them, got every order of both producers.
    let all = 2 * ORDERS;
    until("notification handles every order", || {
        notified.load(Ordering::SeqCst) >= all
    })
    .await;
    until("audit handles every order", || {
        audited.load(Ordering::SeqCst) >= all
    })
    .await;
    cancel.cancel();
    // And what the applications declared left warren's objects as they
    // were: nothing to change (their own exchanges stay, unmanaged).
    let plan = Warren::new()
        .args(["plan", "--detailed-exitcode"])
        .arg_path(&path)
        .status(0);
    plan.stdout_has("No changes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_settings_as_arguments_validate_predicts_each_refusal_the_apps_meet() {
    needs_broker!();
    let Some((node, python)) = clients() else {
        return;
    };
    let vhost = TestVhost::new("coexist-arguments").await;
    let release = crate::support::broker::release().await.to_string();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec(&vhost, &release, true, |s| s)).unwrap();
    // validate predicts both declarations' refusals.
    let predicted = Warren::new()
        .args(["validate", "--format", "json"])
        .arg_path(&path)
        .status(1);
    let report: serde_json::Value = serde_json::from_str(&predicted.stdout).unwrap();
    let refused: Vec<String> = report
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "E610")
        .map(|d| d["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused[0].contains("exchange \"order_events\""),
        "{refused:?}"
    );
    assert!(refused[0].contains("alternate-exchange"), "{refused:?}");
    assert!(refused[1].contains("queue \"inventory\""), "{refused:?}");
    // apply refuses a spec whose applications would be refused ...
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&path)
        .status(1)
        .stderr_has("E610");
    // ... so the same flow without its `asserts:` is applied, and the
    // applications run against it.
    let bare = dir.path().join("bare.yaml");
    std::fs::write(&bare, spec(&vhost, &release, false, |s| s)).unwrap();
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&bare)
        .success();
    let url = amqp_url(&vhost);
    // Each application meets the refusal validate predicted, in the words
    // it predicted; the tutorials' own exchanges are theirs and work.
    let js = run("node", "apps.js", ("NODE_PATH", &node), &url);
    for (app, predicted) in [("producer", &refused[0]), ("inventory", &refused[1])] {
        let met = js["refused"][app]
            .as_str()
            .unwrap_or_else(|| panic!("{app} not refused: {js}"));
        assert!(met.contains("PRECONDITION_FAILED"), "{app}: {met}");
        // The broker names the first difference it meets; validate names
        // every one.
        let argument = met
            .split("inequivalent arg '")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("{app}: {met}"));
        assert!(
            predicted.contains(&format!("'{argument}'")),
            "{app} met {met}, predicted {predicted}"
        );
    }
    for app in ["direct", "fanout", "topic", "headers"] {
        assert_eq!(js["received"][app], 1, "{app}: {js}");
    }
    let py = run("python3", "apps.py", ("PYTHONPATH", &python), &url);
    for app in ["producer", "consumer"] {
        let met = py["refused"][app]
            .as_str()
            .unwrap_or_else(|| panic!("{app} not refused: {py}"));
        assert!(met.starts_with("406"), "{app}: {met}");
    }
}

/// Applies `path` with `--migrate`: the queue `orders` keeps its five
/// messages, and nothing is left to change.
async fn migrated(vhost: &TestVhost, path: &Path) {
    Warren::new()
        .args(["apply", "--yes", "--migrate"])
        .arg_path(path)
        .success();
    crate::support::broker::await_messages(vhost, "orders", 5).await;
    Warren::new()
        .args(["plan", "--detailed-exitcode"])
        .arg_path(path)
        .status(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_settings_from_arguments_to_policies_replaces_what_must_be_and_keeps_the_messages() {
    needs_broker!();
    let vhost = TestVhost::new("coexist-move").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    let write = |via: &str| {
        std::fs::write(
            &path,
            format!(
                "version: 1\nvhost: {:?}\ndefaults: {{ settings: {via} }}\nexchanges:\n  events: {{ type: topic, alternate_exchange: unrouted }}\n  unrouted: {{ type: fanout }}\nqueues:\n  orders:\n    external: true\n    message_ttl: 1h\n    overflow: reject-publish\n    bindings: [{{ exchange: events, key: \"order.#\" }}]\n  lost:\n    external: true\n    bindings: [{{ exchange: unrouted }}]\n",
                vhost.name
            ),
        )
        .unwrap();
    };
    write("arguments");
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&path)
        .success();
    crate::support::broker::publish_confirmed(
        &vhost,
        "events",
        "order.created",
        (0..5)
            .map(|i| (format!("m{i}").into_bytes(), Default::default()))
            .collect(),
    )
    .await;
    crate::support::broker::await_messages(&vhost, "orders", 5).await;

    // The plan: the exchange and the queue are declared again without
    // their arguments, and policies carry them.
    write("policy");
    let plan = Warren::new()
        .args(["plan", "--detailed-exitcode"])
        .arg_path(&path)
        .status(2);
    plan.stdout_has("-/+ exchange events")
        .stdout_has("-/+ queue orders")
        .stdout_has("+ policy warren.settings.exchange.events")
        .stdout_has("+ policy warren.settings.queue.orders");
    // Replacing the queue would drop its messages: refused, then migrated.
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&path)
        .status(1)
        .stderr_has("5 message(s)");
    migrated(&vhost, &path).await;
    // The settings hold: an unroutable message reaches the alternate
    // exchange through the policy.
    crate::support::broker::publish_confirmed(
        &vhost,
        "events",
        "nobody.listens",
        vec![(b"lost".to_vec(), Default::default())],
    )
    .await;
    crate::support::broker::await_messages(&vhost, "lost", 1).await;
    let queue = vhost.queue("orders").await;
    assert_eq!(queue["policy"], "warren.settings.queue.orders", "{queue}");
    assert_eq!(queue["arguments"].get("x-message-ttl"), None, "{queue}");

    // Back to arguments: the policies are warren's, so they go without
    // --prune; the export of the vhost before that says `settings: policy`.
    let exported = Warren::new()
        .args([
            "export",
            "--vhost",
            &vhost.name,
            "--http-url",
            &crate::support::broker::http_url(None),
        ])
        .success();
    exported
        .stdout_has("settings: policy")
        .stdout_lacks("warren.settings.");
    write("arguments");
    let plan = Warren::new()
        .args(["plan", "--detailed-exitcode"])
        .arg_path(&path)
        .status(2);
    plan.stdout_has("- policy warren.settings.queue.orders")
        .stdout_has("- policy warren.settings.exchange.events");
    migrated(&vhost, &path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_policy_that_outranks_a_settings_policy_is_an_error() {
    use rabbitmq_http_client::commons::PolicyTarget;
    use rabbitmq_http_client::requests::PolicyParams;
    needs_broker!();
    let vhost = TestVhost::new("coexist-outranked").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(
        &path,
        format!(
            "version: 1\nvhost: {:?}\nqueues:\n  orders:\n    external: true\n    settings: policy\n    max_length: 100\n    overflow: reject-publish\n    bindings: [{{ exchange: amq.topic, key: \"order.#\" }}]\n",
            vhost.name
        ),
    )
    .unwrap();
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&path)
        .success();
    let mut definition = serde_json::Map::new();
    definition.insert("max-length".into(), serde_json::json!(1));
    vhost
        .http
        .api()
        .declare_policy(&PolicyParams {
            vhost: &vhost.name,
            name: "ops-everything",
            pattern: ".*",
            apply_to: PolicyTarget::Queues,
            priority: 10,
            definition,
        })
        .await
        .unwrap();
    let ran = Warren::new()
        .args([
            "validate",
            "--http-url",
            &crate::support::broker::http_url(None),
        ])
        .arg_path(&path)
        .status(1);
    ran.stderr_has("E507")
        .stderr_has("\"ops-everything\"")
        .stderr_has("max-length");
    // plan says so too, and apply refuses before touching anything.
    Warren::new()
        .args(["plan", "--detailed-exitcode"])
        .arg_path(&path)
        .status(1)
        .stderr_has("E507");
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&path)
        .status(1)
        .stderr_has("nothing was applied");
}
