//! The settings table and the version rules against the broker itself:
//! every queue argument is declared on every queue type, and the broker
//! must accept exactly what the table says the running release takes
//! (honoured or ignored) and refuse the rest; values the table refuses the
//! broker refuses too, where it checks them. Then the version rules: the
//! live broker's release decides what `validate --http-url` reports. CI
//! runs these on RabbitMQ 3.10, 4.0 and 4.3.

use rabbitmq_http_client::requests::QueueParams;
use serde_json::{Map, Value, json};
use warren::topology::QueueType;
use warren::vocabulary::{Applies, SETTINGS, Setting, ValueKind, Verdict, Version};

use crate::support::Warren;
use crate::support::broker::TestVhost;

/// A value the broker accepts for the setting.
fn good(setting: &Setting) -> Value {
    match (setting.argument, setting.value) {
        (Some("x-queue-leader-locator"), _) => json!("client-local"),
        (Some("x-queue-master-locator"), _) => json!("min-masters"),
        // 1 is the version 4.3 refuses (a rule of the value, in check).
        (Some("x-queue-version"), _) => json!(2),
        (None, _) if setting.policy_key == Some("ha-params") => json!(2),
        (_, ValueKind::Whole { min, .. }) => json!(min.max(1)),
        (_, ValueKind::Millis { min }) => json!(min.max(60_000)),
        (_, ValueKind::OneOf(words)) => json!(words[0]),
        (_, ValueKind::Flag) => json!(true),
        (_, ValueKind::Age) => json!("1D"),
        (_, ValueKind::Text | ValueKind::Any) => json!("some-name"),
    }
}

/// A value the table refuses, when the broker checks the type.
fn bad(setting: &Setting) -> Option<Value> {
    match setting.value {
        ValueKind::Whole { .. } => Some(json!("ten")),
        ValueKind::Millis { .. } => Some(json!(1.5)),
        ValueKind::OneOf(_) => Some(json!("no-such-word")),
        ValueKind::Flag => Some(json!("yes")),
        ValueKind::Age => Some(json!("7X")),
        ValueKind::Text | ValueKind::Any => None,
    }
}

async fn declare(
    vhost: &TestVhost,
    name: &str,
    kind: QueueType,
    argument: &str,
    value: Value,
) -> bool {
    let mut args = Map::new();
    // RabbitMQ refuses a dead-letter routing key without an exchange (so
    // does compile, E010).
    if argument == "x-dead-letter-routing-key" {
        args.insert("x-dead-letter-exchange".into(), json!("dlx"));
    }
    args.insert(argument.to_string(), value);
    let params = match kind {
        QueueType::Classic => QueueParams::new_durable_classic_queue(name, Some(args)),
        QueueType::Quorum => QueueParams::new_quorum_queue(name, Some(args)),
        QueueType::Stream => QueueParams::new_stream(name, Some(args)),
    };
    vhost
        .http
        .api()
        .declare_queue(&vhost.name, &params)
        .await
        .is_ok()
}

/// A policy that sets `key` (with the keys the broker wants beside it).
async fn declare_policy(vhost: &TestVhost, setting: &Setting, key: &str) -> Result<(), String> {
    use rabbitmq_http_client::commons::PolicyTarget;
    use rabbitmq_http_client::requests::PolicyParams;
    let mut definition = Map::new();
    match key {
        "ha-mode" => {}
        "ha-params" => {
            definition.insert("ha-mode".into(), json!("exactly"));
        }
        k if k.starts_with("ha-") => {
            definition.insert("ha-mode".into(), json!("all"));
        }
        "delayed-retry-type" => {
            definition.insert("delayed-retry-min".into(), json!(1000));
        }
        _ => {}
    }
    definition.insert(key.to_string(), good(setting));
    let apply_to = match setting.applies {
        Applies::Exchanges => PolicyTarget::Exchanges,
        _ => PolicyTarget::Queues,
    };
    vhost
        .http
        .api()
        .declare_policy(&PolicyParams {
            vhost: &vhost.name,
            name: "table",
            pattern: "^nothing$",
            apply_to,
            priority: 0,
            definition,
        })
        .await
        .map_err(|e| format!("{e}"))
}

async fn live_version(vhost: &TestVhost) -> Version {
    let live = warren::broker::live(&vhost.http).await.unwrap();
    // The shared broker is one node.
    assert_eq!(live.nodes, Some(1));
    live.version.expect("the broker names its version")
}

#[tokio::test]
async fn the_broker_accepts_exactly_the_arguments_the_settings_table_allows() {
    needs_broker!();
    let vhost = TestVhost::new("settings-table").await;
    let live = live_version(&vhost).await;
    let mut wrong = Vec::new();
    let mut n = 0;
    for setting in SETTINGS {
        let Some(argument) = setting.argument else {
            continue;
        };
        if setting.applies == Applies::Exchanges || argument == "x-queue-type" {
            continue;
        }
        for kind in [QueueType::Classic, QueueType::Quorum, QueueType::Stream] {
            n += 1;
            let verdict = setting.on_queue(kind, live);
            let expected = verdict != Verdict::Refused;
            let accepted = declare(&vhost, &format!("q{n}"), kind, argument, good(setting)).await;
            if accepted != expected {
                wrong.push(format!(
                    "{argument} on {kind}: broker accepts {accepted}, table says {verdict:?}"
                ));
            }
            // An argument the release ignores, or whose value the declare
            // does not check, takes any value; warren refuses a bad one all
            // the same.
            let checked = verdict == Verdict::Honoured && setting.declare_checks_value;
            if let Some(bad) = bad(setting).filter(|_| checked) {
                assert!(setting.value_problem(&bad).is_some());
                if declare(&vhost, &format!("bad{n}"), kind, argument, bad.clone()).await {
                    wrong.push(format!(
                        "{argument} on {kind}: broker accepts {bad}, which the table refuses"
                    ));
                }
            }
        }
    }
    // Every policy key (those of plugins the test broker does not run
    // aside): the broker validates a policy's keys when it is declared.
    for setting in SETTINGS.iter().filter(|s| s.plugin.is_none()) {
        let Some(key) = setting.policy_key else {
            continue;
        };
        let verdict = setting.on_policy(live);
        let declared = declare_policy(&vhost, setting, key).await;
        if declared.is_ok() != (verdict != Verdict::Refused) {
            wrong.push(format!(
                "policy key {key}: broker answers {declared:?}, table says {verdict:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "on RabbitMQ {live}:\n{}",
        wrong.join("\n")
    );
}

/// Writes `spec` with the test vhost's name.
fn spec_file(dir: &tempfile::TempDir, vhost: &TestVhost, body: &str) -> std::path::PathBuf {
    let path = dir.path().join("spec.yaml");
    std::fs::write(
        &path,
        format!("version: 1\nvhost: {:?}\n{body}", vhost.name),
    )
    .unwrap();
    path
}

/// `validate --http-url` against the test broker (its URL from the
/// environment, as every broker test's).
fn validate_live(path: &std::path::Path, code: i32) -> crate::support::Ran {
    Warren::new()
        .args([
            "validate",
            "--http-url",
            &crate::support::broker::http_url(None),
        ])
        .arg_path(path)
        .status(code)
}

#[tokio::test]
async fn the_live_release_decides_the_version_findings() {
    needs_broker!();
    use rabbitmq_http_client::commons::PolicyTarget;
    use rabbitmq_http_client::requests::PolicyParams;
    let vhost = TestVhost::new("versions").await;
    let live = live_version(&vhost).await;
    let dir = tempfile::tempdir().unwrap();

    // apply_to by queue type: 3.12 and later only.
    let by_type = spec_file(
        &dir,
        &vhost,
        "policies:\n  limits:\n    pattern: \"^orders\"\n    apply_to: quorum_queues\n    definition: { max-length: 10 }\n",
    );
    let before = live < Version::new(3, 12);
    let ran = validate_live(&by_type, if before { 1 } else { 0 });
    let mut definition = Map::new();
    definition.insert("max-length".into(), json!(10));
    let declared = vhost
        .http
        .api()
        .declare_policy(&PolicyParams {
            vhost: &vhost.name,
            name: "limits",
            pattern: "^orders",
            apply_to: PolicyTarget::QuorumQueues,
            priority: 0,
            definition,
        })
        .await;
    if before {
        ran.stderr_has("E703(refused-by-version)");
        ran.stderr_has(&format!("RabbitMQ {live} refuses"));
        assert!(declared.is_err(), "the broker took apply-to quorum_queues");
    } else {
        assert!(declared.is_ok(), "{declared:?}");
    }

    // The 4.x rules: every release takes all of this, and validate against
    // the live broker reports exactly what that release does with it;
    // offline, every rule speaks.
    let four = spec_file(
        &dir,
        &vhost,
        "exchanges:\n  events: { type: fanout }\nqueues:\n  lazy:\n    arguments: { x-queue-mode: lazy }\n    external: true\n    bindings: [{ exchange: events }]\n  scratch:\n    durable: false\n    external: true\n    bindings: [{ exchange: events }]\n  work:\n    type: quorum\n    external: true\n    bindings: [{ exchange: events }]\n",
    );
    let offline = Warren::new().args(["validate"]).arg_path(&four).success();
    for code in ["W701", "W702", "W707"] {
        assert!(offline.stderr.contains(code), "{code}: {}", offline.stderr);
    }
    let four_on = live >= Version::new(4, 0);
    let ran = validate_live(&four, 0);
    for (code, expected) in [
        ("W701", four_on),
        // x-queue-mode from 3.12
        ("W702", live >= Version::new(3, 12)),
        ("W707", four_on),
        ("W704", false),
        ("E703", false),
    ] {
        assert_eq!(
            ran.stderr.contains(code),
            expected,
            "{code} on {live}: {}",
            ran.stderr
        );
    }
    let topology = warren::validate::validate(std::slice::from_ref(&four))
        .unwrap()
        .topologies
        .remove(0);
    vhost
        .import(warren::definitions::to_definitions(&topology))
        .await;

    // What 4.3 refuses: validate says so exactly when the broker does.
    let refused = spec_file(
        &dir,
        &vhost,
        "exchanges:\n  events: { type: fanout }\nqueues:\n  placed:\n    arguments: { x-queue-master-locator: min-masters }\n    external: true\n    bindings: [{ exchange: events }]\n  led:\n    leader_locator: balanced\n    external: true\n    bindings: [{ exchange: events }]\npolicies:\n  mirrored:\n    pattern: \"^placed$\"\n    apply_to: queues\n    definition: { ha-mode: all }\n",
    );
    let master_refused = live >= Version::new(4, 3);
    let classic_leader_refused = live < Version::new(4, 0);
    let mirroring_refused = live >= Version::new(4, 0);
    let count = [master_refused, classic_leader_refused, mirroring_refused]
        .into_iter()
        .filter(|r| *r)
        .count();
    let ran = validate_live(&refused, if count > 0 { 1 } else { 0 });
    assert_eq!(
        ran.stderr.matches("E703").count(),
        count,
        "on {live}: {}",
        ran.stderr
    );
    for (name, argument, value, refused) in [
        (
            "placed",
            "x-queue-master-locator",
            json!("min-masters"),
            master_refused,
        ),
        (
            "led",
            "x-queue-leader-locator",
            json!("balanced"),
            classic_leader_refused,
        ),
    ] {
        let accepted = declare(&vhost, name, QueueType::Classic, argument, value).await;
        assert_eq!(accepted, !refused, "{argument} on {live}");
    }
}
