//! An upgrade as users make it: definitions exported from an older
//! release are imported into this one (RabbitMQ 4.3), and warren's plan
//! against the result must be empty, or warren must name the release
//! change that stands in the way (a finding of the spec for this release).
//!
//! The older brokers are the ones `scripts/broker.sh` starts (3.10 and
//! 4.0); `scripts/test.sh` starts all three. Two sources each:
//! - the bundled order flow, applied there by warren, then the whole
//!   broker's export (its vhost, users, permissions and topic
//!   permissions) imported here;
//! - each corpus file, loaded there, exported from its vhost, and imported
//!   here; warren's import of the older export is the spec planned here.

use std::process::Command;

use serde_json::{Value, json};
use warren::broker::{Settings, SettingsInput, segment};
use warren::definitions::{from_definitions, to_definitions};
use warren::diagnostic::Severity;
use warren::spec::{load_str, to_spec_yaml};
use warren::validate::validate_loaded_for;
use warren::vocabulary::Version;

use crate::support::Warren;
use crate::support::broker::TestVhost;

const TARGET: Version = Version::new(4, 3);
const SOURCES: [&str; 2] = ["3.10", "4.0"];
/// Set (by scripts/test.sh, which starts every release) to make a missing
/// older broker a failure instead of a skip.
const UPGRADE_VAR: &str = "WARREN_TEST_UPGRADE";

/// The older release's broker, from `scripts/broker.sh env`; `None` (said
/// on stderr) when it does not run, a failure under `WARREN_TEST_UPGRADE`.
fn source(release: &str) -> Option<Settings> {
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/broker.sh"))
        .args(["env", release])
        .output()
        .expect("run scripts/broker.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    let var = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .map(str::to_string)
    };
    let input = SettingsInput {
        http_url: var("WARREN_HTTP_URL"),
        amqp_url: var("WARREN_AMQP_URL"),
        ..SettingsInput::default()
    };
    let settings = Settings::resolve(&input, |_| None).expect("source settings");
    let port = settings.http_url.port_or_known_default().unwrap_or(0);
    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        return Some(settings);
    }
    let message = format!(
        "no RabbitMQ {release} at {} to upgrade from (bash scripts/broker.sh {release} starts it)",
        settings.http_url
    );
    if std::env::var_os(UPGRADE_VAR).is_some() {
        panic!("{message}; {UPGRADE_VAR} is set, so the upgrade tests fail without it");
    }
    eprintln!("skipped: {message}");
    None
}

/// Runs only against the target release.
async fn on_target() -> bool {
    crate::support::broker::release_at_least(TARGET, "the upgrade test").await
}

fn url(settings: &Settings) -> (String, String) {
    (
        settings.http_url.as_str().trim_end_matches('/').to_string(),
        settings.amqp_url.as_str().trim_end_matches('/').to_string(),
    )
}

/// The part of a whole-broker export that is `vhost`'s, with `users`,
/// moved to vhost `to`.
fn vhost_part(all: &Value, vhost: &str, users: &[String], to: &str) -> Value {
    let of_vhost = |kind: &str| -> Vec<Value> {
        all[kind]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|item| item["vhost"] == vhost)
            .map(|item| {
                let mut item = item.clone();
                item["vhost"] = json!(to);
                item
            })
            .collect()
    };
    let mut vhosts = of_vhost("vhosts");
    for v in &mut vhosts {
        v["name"] = json!(to);
    }
    json!({
        "users": all["users"].as_array().into_iter().flatten()
            .filter(|u| users.iter().any(|n| u["name"] == n.as_str()))
            .cloned().collect::<Vec<_>>(),
        "vhosts": vhosts,
        "permissions": of_vhost("permissions"),
        "topic_permissions": of_vhost("topic_permissions"),
        "exchanges": of_vhost("exchanges"),
        "queues": of_vhost("queues"),
        "bindings": of_vhost("bindings"),
        "policies": of_vhost("policies"),
    })
}

async fn delete_users(http: &warren::broker::Http, users: &[String]) {
    for user in users {
        let _ = http.api().delete_user(user, true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_flow_exported_from_an_older_release_plans_empty_here() {
    if !on_target().await {
        return;
    }
    for release in SOURCES {
        let Some(settings) = source(release) else {
            continue;
        };
        let old = TestVhost::on("upgrade-flow-old", settings.clone()).await;
        let new = TestVhost::new("upgrade-flow").await;
        let tag = format!("{}-upgrade-{release}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        let passwords = crate::ecommerce::passwords();
        let write = |vhost: &str, name: &str| {
            let (spec, users) = crate::ecommerce::own_spec(vhost, &tag, 8081);
            let path = dir.path().join(name);
            std::fs::write(&path, spec).unwrap();
            (path, users)
        };
        let (old_spec, users) = write(&old.name, "old.yaml");
        let (new_spec, _) = write(&new.name, "new.yaml");
        let run = |args: &[&str], spec: &std::path::Path, on: (String, String)| {
            let mut w = Warren::new().args(args).arg_path(spec).args([
                "--http-url",
                &on.0,
                "--amqp-url",
                &on.1,
            ]);
            for (k, v) in &passwords {
                w = w.env(k, v);
            }
            w
        };
        run(&["apply", "--yes"], &old_spec, url(&settings)).success();

        // The whole broker's export, as `rabbitmqctl export_definitions`
        // gives it, narrowed to this vhost and its users.
        let all: Value = old
            .http
            .get_json("definitions", "export the older broker")
            .await
            .unwrap();
        let part = vhost_part(&all, &old.name, &users, &new.name);
        let imported = new.http.api().import_cluster_wide_definitions(part).await;
        let result = async {
            imported.unwrap_or_else(|e| panic!("RabbitMQ 4.3 refused {release}'s export: {e:?}"));
            let planned = run(
                &["plan", "--detailed-exitcode"],
                &new_spec,
                url(&crate::support::broker::settings()),
            )
            .status_any();
            assert_eq!(
                planned.code,
                Some(0),
                "the order flow exported from {release} does not plan empty on 4.3:\n{}\n{}",
                planned.stdout,
                planned.stderr
            );
        };
        result.await;
        delete_users(&old.http, &users).await;
        delete_users(&new.http, &users).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corpus_exported_from_an_older_release_plans_empty_here_or_is_named() {
    if !on_target().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = crate::support::broker::settings();
    let files = crate::support::corpus();
    for release in SOURCES {
        let Some(settings) = source(release) else {
            continue;
        };
        let old_live = {
            let probe = TestVhost::on("upgrade-old-release", settings.clone()).await;
            warren::broker::live(&probe.http).await.unwrap()
        };
        let (mut planned_empty, mut named, mut not_loaded) = (0, Vec::new(), 0);
        for path in &files {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            for mut topology in from_definitions(&doc, "/").unwrap().topologies {
                topology.users.clear();
                let old = TestVhost::on("upgrade-corpus-old", settings.clone()).await;
                topology.vhost = old.name.clone();
                let text = to_spec_yaml(&topology).unwrap();
                let validation = validate_loaded_for(load_str("spec.yaml", &text), old_live);
                if validation.has_errors() {
                    // Broken at the source (round_trip.rs says which).
                    not_loaded += 1;
                    continue;
                }
                let desired = &validation.topologies[0];
                if old
                    .http
                    .api()
                    .import_vhost_definitions(&old.name, to_definitions(desired))
                    .await
                    .is_err()
                {
                    // A plugin the older broker does not run.
                    not_loaded += 1;
                    continue;
                }
                let exported: Value = old
                    .http
                    .get_json(
                        &format!("definitions/{}", segment(&old.name)),
                        "export from the older broker",
                    )
                    .await
                    .unwrap();
                // warren's import of the older export, for this release.
                let new = TestVhost::new("upgrade-corpus").await;
                let Some(mut spec) = from_definitions(&exported, &new.name)
                    .unwrap()
                    .topologies
                    .into_iter()
                    .next()
                else {
                    // Nothing in the vhost to carry over.
                    not_loaded += 1;
                    continue;
                };
                spec.users.clear();
                spec.vhost = new.name.clone();
                let text = to_spec_yaml(&spec).unwrap();
                let file = dir
                    .path()
                    .join(format!("{release}-{planned_empty}-{}.yaml", named.len()));
                std::fs::write(&file, &text).unwrap();
                let live_new = warren::broker::live(&new.http).await.unwrap();
                let findings = validate_loaded_for(load_str("spec.yaml", &text), live_new);
                let errors: Vec<String> = findings
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity() == Severity::Error)
                    .map(|d| format!("{}: {}", d.code.id, d.message))
                    .collect();
                let loaded = new
                    .http
                    .api()
                    .import_vhost_definitions(&new.name, exported.clone())
                    .await;
                if !errors.is_empty() {
                    // warren names what 4.3 will not take.
                    assert!(
                        errors.iter().all(|e| e.starts_with("E703")),
                        "{} from {release}: {errors:?}",
                        path.display()
                    );
                    named.push(format!("{}: {}", path.display(), errors.join("; ")));
                    continue;
                }
                loaded.unwrap_or_else(|e| {
                    panic!("{} from {release}: warren found nothing wrong for 4.3, yet it refused the export: {e}", path.display())
                });
                let (http, amqp) = url(&target);
                let ran = Warren::new()
                    .args(["plan", "--prune", "--detailed-exitcode"])
                    .arg_path(&file)
                    .args(["--http-url", &http, "--amqp-url", &amqp])
                    .status_any();
                assert_eq!(
                    ran.code,
                    Some(0),
                    "{} exported from {release} does not plan empty on 4.3:\n{}\n{}\nspec:\n{text}",
                    path.display(),
                    ran.stdout,
                    ran.stderr
                );
                planned_empty += 1;
            }
        }
        eprintln!(
            "from RabbitMQ {release}: {planned_empty} corpus vhosts plan empty on 4.3, {} named by warren ({}), {not_loaded} not loadable on {release}",
            named.len(),
            named.join(" | ")
        );
        assert!(planned_empty > 0);
    }
}
