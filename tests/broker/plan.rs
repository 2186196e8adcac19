//! `warren plan` against a real vhost.

use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use warren::broker::connect;
use warren::definitions::to_definitions;

use crate::support::Warren;
use crate::support::broker::TestVhost;

/// Loads a fixture into the vhost with the broker's own definitions import.
async fn load(vhost: &TestVhost, fixture: &str) {
    let mut v = warren::validate::validate(&[fixture.into()]).unwrap();
    assert!(!v.has_errors(), "{:?}", v.diagnostics);
    let mut topology = v.topologies.remove(0);
    topology.vhost = vhost.name.clone();
    vhost.import(to_definitions(&topology)).await;
}

async fn publish(vhost: &TestVhost, exchange: &str, key: &str, count: usize) {
    let connection = connect(&vhost.settings, &vhost.name).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    for _ in 0..count {
        channel
            .basic_publish(
                exchange.into(),
                key.into(),
                BasicPublishOptions::default(),
                b"{}",
                BasicProperties::default(),
            )
            .await
            .unwrap();
    }
    channel.wait_for_confirms().await.unwrap();
    let _ = connection.close(200, "done".into()).await;
}

fn plan(vhost: &TestVhost, fixture: &str, extra: &[&str]) -> Warren {
    Warren::new()
        .args(["plan", fixture, "--vhost", &vhost.name])
        .args(extra)
}

/// Output with the per-run parts (vhost name, fingerprint, the broker's
/// URL, which depends on the release under test) replaced.
fn stable(text: &str, vhost: &TestVhost) -> String {
    let re = regex::Regex::new(r#""fingerprint": "[0-9a-f]{64}""#).unwrap();
    let broker = vhost.settings.http_url.as_str();
    re.replace_all(
        &text
            .replace(&vhost.name, "<vhost>")
            .replace(broker, "<broker>/"),
        r#""fingerprint": "<sha256>""#,
    )
    .into_owned()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_on_an_empty_vhost_lists_every_object() {
    needs_broker!();
    let vhost = TestVhost::new("plan-empty").await;
    let ran = plan(
        &vhost,
        "tests/fixtures/plan/base.yaml",
        &["--detailed-exitcode"],
    )
    .status(2);
    insta::assert_snapshot!("plan_empty_vhost", stable(&ran.stdout, &vhost));
    let doc = json(
        &plan(&vhost, "tests/fixtures/plan/base.yaml", &["--json"])
            .success()
            .stdout,
    );
    let summary = &doc["summary"];
    // 4 exchanges + 6 queues + 7 bindings + 1 policy
    assert_eq!(summary["create"], 18, "{doc}");
    assert_eq!(summary["delete"], 0);
    let first = &doc["changes"][0];
    assert_eq!(first["action"], "create");
    assert_eq!(
        first["kind"], "policy",
        "policies run first, so queues are born with them"
    );
    assert_eq!(first["source"]["file"], "tests/fixtures/plan/base.yaml");
    assert!(first["source"]["line"].as_u64().unwrap() > 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_is_empty_after_the_broker_imports_the_same_topology() {
    needs_broker!();
    let vhost = TestVhost::new("plan-noop").await;
    load(&vhost, "tests/fixtures/plan/base.yaml").await;
    let ran = plan(
        &vhost,
        "tests/fixtures/plan/base.yaml",
        &["--detailed-exitcode", "--prune"],
    )
    .success();
    ran.stdout_has("No changes");
    // The bundled topologies normalise the same way.
    for fixture in ["topologies/exchange-types.yaml"] {
        let vhost = TestVhost::new("plan-noop-bundled").await;
        load(&vhost, fixture).await;
        plan(&vhost, fixture, &["--detailed-exitcode", "--prune"]).success();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_change_gets_its_class() {
    needs_broker!();
    let vhost = TestVhost::new("plan-changes").await;
    load(&vhost, "tests/fixtures/plan/base.yaml").await;
    publish(&vhost, "events", "payment.captured", 3).await;
    crate::support::broker::await_messages(&vhost, "payments", 3).await;

    let ran = plan(
        &vhost,
        "tests/fixtures/plan/changed.yaml",
        &["--detailed-exitcode"],
    )
    .status(2);
    insta::assert_snapshot!("plan_changes_text", stable(&ran.stdout, &vhost));
    let ran = plan(&vhost, "tests/fixtures/plan/changed.yaml", &["--json"]).success();
    insta::assert_snapshot!("plan_changes_json", stable(&ran.stdout, &vhost));
    let doc = json(&ran.stdout);
    let find = |kind: &str, name: &str| {
        doc["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind && c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no change for {kind} {name}: {doc}"))
    };
    assert_eq!(find("queue", "refunds")["action"], "create");
    assert_eq!(find("policy", "limits")["action"], "update");
    let payments = find("queue", "payments");
    assert_eq!(payments["action"], "replace");
    assert_eq!(payments["messages"], 3, "{payments}");
    assert!(
        payments["reason"]
            .as_str()
            .unwrap()
            .contains("x-message-ttl")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_show_only_with_prune() {
    needs_broker!();
    let vhost = TestVhost::new("plan-prune").await;
    load(&vhost, "tests/fixtures/plan/base.yaml").await;
    let kept = plan(
        &vhost,
        "tests/fixtures/plan/shrunk.yaml",
        &["--detailed-exitcode"],
    )
    .success();
    kept.stdout_has("2 object(s) on the broker are not in the spec");
    let pruned = plan(
        &vhost,
        "tests/fixtures/plan/shrunk.yaml",
        &["--prune", "--json"],
    )
    .success();
    let doc = json(&pruned.stdout);
    assert_eq!(doc["summary"]["delete"], 2, "{doc}");
    let kinds: Vec<&str> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    // Deletes run bindings first.
    assert_eq!(kinds, ["binding", "queue"]);
    assert_eq!(doc["changes"][1]["messages"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plans_carry_the_live_fingerprint() {
    needs_broker!();
    let vhost = TestVhost::new("plan-out").await;
    load(&vhost, "tests/fixtures/plan/base.yaml").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let ran = plan(
        &vhost,
        "tests/fixtures/plan/changed.yaml",
        &["--json", "--out", file.to_str().unwrap()],
    )
    .success();
    let saved = json(&std::fs::read_to_string(&file).unwrap());
    // The saved plan is the printed one plus what `apply FILE` needs.
    let printed = json(&ran.stdout);
    for (key, value) in printed.as_object().unwrap() {
        assert_eq!(&saved[key], value, "{key}");
    }
    assert_eq!(saved["format"], "warren-plan");
    assert!(saved["desired"]["definitions"]["queues"].is_array());
    let fingerprint = saved["fingerprint"].as_str().unwrap();
    assert_eq!(fingerprint.len(), 64);
    // Another object on the broker changes the fingerprint.
    publish(&vhost, "", "orders", 0).await;
    let again = json(
        &plan(&vhost, "tests/fixtures/plan/changed.yaml", &["--json"])
            .success()
            .stdout,
    );
    assert_eq!(
        again["fingerprint"], fingerprint,
        "messages are not part of the topology"
    );
    load(&vhost, "tests/fixtures/plan/changed.yaml").await;
    let after = json(
        &plan(&vhost, "tests/fixtures/plan/changed.yaml", &["--json"])
            .success()
            .stdout,
    );
    assert_ne!(after["fingerprint"], fingerprint);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_appear_in_output() {
    needs_broker!();
    let vhost = TestVhost::new("plan-secret").await;
    let url = crate::support::broker::http_url(Some((
        &vhost.settings.user,
        vhost.settings.password.expose(),
    )));
    let ran = plan(
        &vhost,
        "tests/fixtures/plan/base.yaml",
        &["--http-url", &url],
    )
    .success();
    let secret = format!(
        "{}:{}@",
        vhost.settings.user,
        vhost.settings.password.expose()
    );
    assert!(!ran.stdout.contains(&secret) && !ran.stderr.contains(&secret));
    let bad = Warren::new()
        .args([
            "plan",
            "tests/fixtures/plan/base.yaml",
            "--vhost",
            &vhost.name,
        ])
        .args([
            "--http-url",
            &crate::support::broker::http_url(Some(("guest", "wrong-secret"))),
        ])
        .status(1);
    bad.stderr_lacks("wrong-secret");
    assert!(
        ["401", "not_authorized", "Unauthorized"]
            .iter()
            .any(|s| bad.stderr.contains(s)),
        "{}",
        bad.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_against_the_broker_reports_effective_policies() {
    needs_broker!();
    use rabbitmq_http_client::commons::PolicyTarget;
    use rabbitmq_http_client::requests::PolicyParams;

    let vhost = TestVhost::new("effective").await;
    load(&vhost, "tests/fixtures/plan/base.yaml").await;
    // A live policy the spec does not name, stronger than the spec's.
    let mut definition = serde_json::Map::new();
    definition.insert("max-length-bytes".into(), serde_json::json!(5));
    let stronger = PolicyParams {
        vhost: &vhost.name,
        name: "hand-made",
        pattern: "^payments$",
        apply_to: PolicyTarget::Queues,
        priority: 9,
        definition: definition.clone(),
    };
    vhost.http.api().declare_policy(&stronger).await.unwrap();
    let operator = PolicyParams {
        name: "ops-cap",
        priority: 0,
        ..stronger
    };
    vhost
        .http
        .api()
        .declare_operator_policy(&operator)
        .await
        .unwrap();

    let ran = Warren::new()
        .args([
            "validate",
            "tests/fixtures/plan/base.yaml",
            "--http-url",
            &crate::support::broker::http_url(None),
            "--vhost",
            &vhost.name,
        ])
        .success();
    ran.stderr_has("W505(live-policy-conflict)");
    ran.stderr_has("payments: hand-made (live), operator policy ops-cap");
    Warren::new()
        .args([
            "validate",
            "--deny-warnings",
            "tests/fixtures/plan/base.yaml",
            "--http-url",
            &crate::support::broker::http_url(None),
            "--vhost",
            &vhost.name,
        ])
        .status(1);
    // The plan shows the same.
    let plan = plan(&vhost, "tests/fixtures/plan/base.yaml", &[]).success();
    plan.stdout_has("queue payments: policy hand-made (live), operator policy ops-cap");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_permissions_are_observed_and_compared() {
    needs_broker!();
    use rabbitmq_http_client::password_hashing::{
        base64_encoded_salted_password_hash_sha256, salt,
    };
    use rabbitmq_http_client::requests::{Permissions, TopicPermissions, UserParams};

    let vhost = TestVhost::new("plan-users").await;
    // Users are cluster-wide: a name of this run's own.
    let user = format!("{}-svc", vhost.name);
    let spec = format!(
        "version: 1\nexchanges:\n  events: {{ type: topic }}\nqueues:\n  audit: {{ external: true, bindings: [{{ exchange: events, key: '#' }}] }}\n\
         services:\n  producer:\n    emits: [{{ exchange: events, keys: [a.b] }}]\n    user: {user}\nusers:\n  {user}:\n    password_env: PRODUCER_PASSWORD\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, &spec).unwrap();
    let path = path.to_str().unwrap().to_string();
    load(&vhost, &path).await;

    let doc = json(&plan(&vhost, &path, &["--json"]).success().stdout);
    let kinds: Vec<(&str, &str)> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("create", "user"),
            ("create", "permissions"),
            ("create", "topic_permissions")
        ],
        "{doc}"
    );

    let hash = base64_encoded_salted_password_hash_sha256(&salt(), "not-used");
    vhost
        .http
        .api()
        .create_user(&UserParams {
            name: &user,
            password_hash: &hash,
            tags: "",
        })
        .await
        .unwrap();
    let grant = |write: &'static str| Permissions {
        user: &user,
        vhost: &vhost.name,
        configure: "^$",
        read: "^$",
        write,
    };
    vhost
        .http
        .api()
        .declare_permissions(&grant("^(events)$"))
        .await
        .unwrap();
    let topic = TopicPermissions {
        user: &user,
        vhost: &vhost.name,
        exchange: "events",
        write: r"^(a\.b)$",
        read: "^$",
    };
    vhost
        .http
        .api()
        .declare_topic_permissions(&topic)
        .await
        .unwrap();
    let result = plan(&vhost, &path, &["--detailed-exitcode", "--prune"]).status(0);
    result.stdout_has("No changes");

    // A broader grant on the broker shows as an update back to least privilege.
    vhost
        .http
        .api()
        .declare_permissions(&grant(".*"))
        .await
        .unwrap();
    let doc = json(&plan(&vhost, &path, &["--json"]).success().stdout);
    let change = &doc["changes"][0];
    assert_eq!(
        (change["action"].as_str(), change["kind"].as_str()),
        (Some("update"), Some("permissions")),
        "{doc}"
    );
    assert_eq!(change["attributes"][0]["before"], ".*");
    assert_eq!(change["attributes"][0]["after"], "^(events)$");
    let _ = vhost.http.api().delete_user(&user, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vhost_that_does_not_exist_is_created_first() {
    needs_broker!();
    let missing = format!("warren-test.missing.{}", std::process::id());
    let args = |extra: &[&str]| {
        Warren::new()
            .args(["plan", "tests/fixtures/plan/base.yaml", "--vhost", &missing])
            .args(extra)
    };
    let text = args(&[]).success().stdout;
    assert!(
        text.contains(&format!(
            "The vhost {missing:?} does not exist on the broker"
        )),
        "{text}"
    );
    let plan = json(&args(&["--json"]).success().stdout);
    assert_eq!(plan["changes"][0]["kind"], "vhost");
    assert_eq!(plan["changes"][0]["action"], "create");
    assert_eq!(plan["changes"][0]["name"], missing.as_str());
    assert!(plan["changes"].as_array().unwrap().len() > 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predeclared_exchanges_are_bound_without_being_declared() {
    needs_broker!();
    let vhost = TestVhost::new("plan-predeclared").await;
    let fixture = "tests/fixtures/plan/predeclared.yaml";
    let plan_json = json(&plan(&vhost, fixture, &["--json"]).success().stdout);
    let changes = plan_json["changes"].as_array().unwrap();
    assert!(
        changes.iter().all(|c| c["kind"] != "exchange"),
        "{plan_json}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c["kind"] == "binding" && c["name"].as_str().unwrap().starts_with("amq.topic")),
        "{plan_json}"
    );
    load(&vhost, fixture).await;
    let after = json(
        &plan(&vhost, fixture, &["--json", "--prune"])
            .success()
            .stdout,
    );
    assert_eq!(after["changes"], serde_json::json!([]), "{after}");
    // The broker routes through amq.topic as warren says it does.
    publish(&vhost, "amq.topic", "order.created", 3).await;
    crate::support::broker::await_messages(&vhost, "audit", 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nodes_open_files_limit_is_read_on_3x_only() {
    needs_broker!();
    let vhost = TestVhost::new("plan-open-files").await;
    let live = warren::broker::live(&vhost.http).await.unwrap();
    let version = live.version.unwrap();
    if version < warren::vocabulary::Version::new(4, 0) {
        assert!(live.open_files.is_some_and(|n| n > 0), "{live:?}");
    } else {
        assert_eq!(live.open_files, None, "{live:?}");
    }
}
