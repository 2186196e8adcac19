//! `warren apply` against the broker: every change class, the lock, the
//! refusals that protect data, and rebinding on replace. Each test in a
//! vhost of its own.

use crate::support::Warren;
use crate::support::broker::TestVhost;

const BASE: &str = "tests/fixtures/plan/base.yaml";
const CHANGED: &str = "tests/fixtures/plan/changed.yaml";
const SHRUNK: &str = "tests/fixtures/plan/shrunk.yaml";

fn apply(vhost: &TestVhost, spec: &str, extra: &[&str]) -> Warren {
    Warren::new()
        .args(["apply", spec, "--vhost", &vhost.name])
        .args(extra)
}

/// BASE applied to `vhost`, and the plan to CHANGED saved in a new
/// directory.
fn saved_plan(vhost: &TestVhost) -> (tempfile::TempDir, std::path::PathBuf) {
    apply(vhost, BASE, &["--yes"]).success();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("plan.json");
    Warren::new()
        .args(["plan", CHANGED, "--vhost", &vhost.name, "--out"])
        .arg_path(&saved)
        .success();
    (dir, saved)
}

fn plan_is_empty(vhost: &TestVhost, spec: &str, extra: &[&str]) {
    let ran = Warren::new()
        .args(["plan", spec, "--vhost", &vhost.name, "--detailed-exitcode"])
        .args(extra)
        .status(0);
    ran.stdout_has("No changes");
}

async fn publish(vhost: &TestVhost, exchange: &str, key: &str, count: usize) {
    let messages = (0..count)
        .map(|i| {
            (
                format!("m{i}").into_bytes(),
                lapin::BasicProperties::default(),
            )
        })
        .collect();
    crate::support::broker::publish_confirmed(vhost, exchange, key, messages).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_class_applies_and_leaves_nothing_to_do() {
    needs_broker!();
    let vhost = TestVhost::new("apply-classes").await;
    // From empty: every object created, then nothing left; again: no-op.
    let ran = apply(&vhost, BASE, &["--yes"]).success();
    ran.stdout_has("the broker matches the spec");
    plan_is_empty(&vhost, BASE, &[]);
    let again = apply(&vhost, BASE, &["--yes"]).success();
    again.stdout_has("No changes");
    again.stdout_lacks("Applied");

    // Update (policy), replace (a queue's TTL), create (a queue).
    let ran = apply(&vhost, CHANGED, &["--yes"]).success();
    ran.stderr_has("updated policy limits");
    ran.stderr_has("replaced queue payments");
    ran.stderr_has("created queue refunds");
    // The replaced queue was bound again.
    ran.stdout_has("because: queue \"payments\" is replaced");
    plan_is_empty(&vhost, CHANGED, &["--prune"]);

    // Delete, with --prune.
    let ran = apply(&vhost, SHRUNK, &["--yes", "--prune"]).success();
    ran.stderr_has("deleted queue reports");
    ran.stderr_has("deleted queue refunds");
    plan_is_empty(&vhost, SHRUNK, &["--prune"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replace_that_would_lose_messages_is_refused_with_the_counts() {
    needs_broker!();
    let vhost = TestVhost::new("apply-data").await;
    apply(&vhost, BASE, &["--yes"]).success();
    publish(&vhost, "events", "payment.captured", 7).await;
    crate::support::broker::await_messages(&vhost, "payments", 7).await;

    let ran = apply(&vhost, CHANGED, &["--yes"]).status(1);
    ran.stderr_has("replace queue \"payments\": 7 message(s), 0 consumer(s)");
    ran.stderr_has("nothing was touched");
    // Nothing was touched: the new queue is not there, the messages are.
    crate::support::broker::await_messages(&vhost, "payments", 7).await;
    let plan = Warren::new()
        .args([
            "plan",
            CHANGED,
            "--vhost",
            &vhost.name,
            "--detailed-exitcode",
        ])
        .status(2);
    plan.stdout_has("+ queue refunds");

    apply(&vhost, CHANGED, &["--yes", "--allow-data-loss"]).success();
    crate::support::broker::await_messages(&vhost, "payments", 0).await;
    plan_is_empty(&vhost, CHANGED, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_apply_fails_at_once_on_the_lock_and_names_the_holder() {
    needs_broker!();
    let vhost = TestVhost::new("apply-lock").await;
    apply(&vhost, BASE, &["--yes"]).success();
    let lock = warren::apply::acquire(&vhost.settings, &vhost.http, &vhost.name)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let ran = apply(&vhost, CHANGED, &["--yes"]).status(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    ran.stderr_has("another apply holds the lock");
    ran.stderr_has(&format!("pid {}", std::process::id()));
    // The lock is the broker's: released with its connection, then apply runs.
    lock.release().await;
    apply(&vhost, CHANGED, &["--yes"]).success();
    plan_is_empty(&vhost, CHANGED, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_applies_end_consistent() {
    needs_broker!();
    let vhost = TestVhost::new("apply-race").await;
    apply(&vhost, BASE, &["--yes"]).success();
    let name = vhost.name.clone();
    let run = move || {
        let name = name.clone();
        std::thread::spawn(move || {
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_warren"))
                .args(["apply", CHANGED, "--vhost", &name, "--yes"])
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        })
    };
    let (a, b) = (run(), run());
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    // Each one applied, found nothing left to do, or met the lock.
    for (code, stderr) in [&a, &b] {
        assert!(
            *code == Some(0)
                || stderr.contains("another apply holds the lock")
                || stderr.contains("the broker changed after the plan was shown"),
            "{code:?}: {stderr}"
        );
    }
    assert!(a.0 == Some(0) || b.0 == Some(0), "{a:?} {b:?}");
    plan_is_empty(&vhost, CHANGED, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_an_exchange_keeps_its_exchange_to_exchange_bindings() {
    needs_broker!();
    let vhost = TestVhost::new("apply-rebind").await;
    let dir = tempfile::tempdir().unwrap();
    let spec = |internal: bool| {
        format!(
            "version: 1\nexchanges:\n  events: {{ type: topic }}\n  audit: {{ type: fanout, internal: {internal} }}\nqueues:\n  history:\n    external: true\n    bindings: [{{ exchange: audit }}]\nbindings:\n  - {{ exchange: events, to_exchange: audit, key: \"#\" }}\n"
        )
    };
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec(false)).unwrap();
    let path = path.to_str().unwrap().to_string();
    apply(&vhost, &path, &["--yes"]).success();
    std::fs::write(&path, spec(true)).unwrap();
    let ran = apply(&vhost, &path, &["--yes"]).success();
    ran.stderr_has("replaced exchange audit");
    plan_is_empty(&vhost, &path, &[]);
    // And messages still flow events => audit -> history.
    publish(&vhost, "events", "any.key", 3).await;
    crate::support::broker::await_messages(&vhost, "history", 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_refuses_without_a_terminal_or_a_password_before_touching_anything() {
    needs_broker!();
    let vhost = TestVhost::new("apply-refuse").await;
    let ran = apply(&vhost, BASE, &[]).status(64);
    ran.stderr_has("pass --yes");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.yaml");
    // Users are broker-wide: a name of this run's own.
    let user = format!("warren-test-worker-{}", std::process::id());
    std::fs::write(
        &path,
        format!("version: 1\nexchanges:\n  events: {{ type: topic }}\nqueues:\n  q: {{ bindings: [{{ exchange: events, key: a }}] }}\nservices:\n  worker:\n    consumes: {{ queue: q }}\n    user: {user}\nusers:\n  {user}:\n    password_env: WARREN_TEST_UNSET_PASSWORD\n"),
    )
    .unwrap();
    let ran = Warren::new()
        .args(["apply", "--vhost", &vhost.name, "--yes"])
        .arg_path(&path)
        .status(1);
    ran.stderr_has(&format!("user {user:?} reads $WARREN_TEST_UNSET_PASSWORD"));
    // Nothing was declared.
    let plan = Warren::new()
        .args(["plan", "--vhost", &vhost.name, "--json"])
        .arg_path(&path)
        .success();
    let doc: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(doc["summary"]["update"], 0);
    assert!(doc["summary"]["create"].as_u64().unwrap() >= 4, "{doc}");
    // With the password, the user is created and can log in.
    let ran = Warren::new()
        .args(["apply", "--vhost", &vhost.name, "--yes"])
        .arg_path(&path)
        .env("WARREN_TEST_UNSET_PASSWORD", "s3cret-worker")
        .success();
    ran.stdout_lacks("s3cret");
    ran.stderr_lacks("s3cret");
    let settings = vhost
        .settings
        .clone()
        .as_user(user.clone(), warren::broker::Password::new("s3cret-worker"));
    let connection = warren::broker::connect(&settings, &vhost.name).await;
    assert!(connection.is_ok(), "{:?}", connection.err());
    let _ = vhost.http.api().delete_user(&user, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_password_is_planned_and_applied_without_being_shown() {
    needs_broker!();
    let vhost = TestVhost::new("apply-password").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.yaml");
    let user = format!("warren-test-rotated-{}", std::process::id());
    std::fs::write(
        &path,
        format!("version: 1\nqueues:\n  q: {{}}\nservices:\n  worker:\n    consumes: {{ queue: q }}\n    user: {user}\nusers:\n  {user}:\n    password_env: WARREN_TEST_ROTATED\n"),
    )
    .unwrap();
    let run = |args: &[&str], password: &str| {
        Warren::new()
            .args(args)
            .args(["--vhost", &vhost.name])
            .arg_path(&path)
            .env("WARREN_TEST_ROTATED", password)
    };
    let logs_in = |password: &str| {
        let settings = vhost
            .settings
            .clone()
            .as_user(user.clone(), warren::broker::Password::new(password));
        let vhost = vhost.name.clone();
        async move { warren::broker::connect(&settings, &vhost).await.is_ok() }
    };
    run(&["apply", "--yes"], "first-s3cret").success();
    assert!(logs_in("first-s3cret").await);
    // The same password: nothing to do.
    let same = run(&["plan", "--detailed-exitcode"], "first-s3cret").status(0);
    same.stdout_has("No changes");
    // Another one in the variable: the user is updated, the secret shown
    // nowhere.
    let changed = run(&["plan", "--detailed-exitcode"], "second-s3cret").status(2);
    changed.stdout_has(&format!("~ user {user}"));
    changed.stdout_has("from $WARREN_TEST_ROTATED");
    let json = run(&["plan", "--json"], "second-s3cret").success();
    for out in [&changed.stdout, &changed.stderr, &json.stdout] {
        assert!(!out.contains("s3cret"), "{out}");
    }
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["summary"]["update"], 1, "{doc}");
    // Applied, the new password logs in and the old one no longer does.
    let applied = run(&["apply", "--yes"], "second-s3cret").success();
    applied.stdout_lacks("s3cret");
    assert!(logs_in("second-s3cret").await);
    assert!(!logs_in("first-s3cret").await);
    let after = run(&["plan", "--detailed-exitcode"], "second-s3cret").status(0);
    after.stdout_has("No changes");

    // A saved plan that sets the password: applied where the variable is
    // unset, it is refused, not taken for "No changes".
    let saved = dir.path().join("plan.json");
    run(&["plan", "--out", saved.to_str().unwrap()], "third-s3cret").success();
    let refused = Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&saved)
        .status(1);
    refused.stderr_has("WARREN_TEST_ROTATED");
    assert!(logs_in("second-s3cret").await);
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&saved)
        .env("WARREN_TEST_ROTATED", "third-s3cret")
        .success();
    assert!(logs_in("third-s3cret").await);
    let _ = vhost.http.api().delete_user(&user, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_applies_only_to_the_broker_it_was_made_against() {
    needs_broker!();
    let vhost = TestVhost::new("apply-saved").await;
    let (_dir, saved) = saved_plan(&vhost);
    // The broker moves: the saved plan is refused and nothing is applied.
    let mut definition = serde_json::Map::new();
    definition.insert("max-length".into(), serde_json::json!(7));
    vhost
        .http
        .api()
        .declare_policy(&rabbitmq_http_client::requests::PolicyParams {
            vhost: &vhost.name,
            name: "hand-made",
            pattern: "^nothing$",
            apply_to: rabbitmq_http_client::commons::PolicyTarget::Queues,
            priority: 0,
            definition,
        })
        .await
        .unwrap();
    let ran = Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&saved)
        .status(1);
    ran.stderr_has("the broker changed since the plan was made");
    Warren::new()
        .args([
            "plan",
            CHANGED,
            "--vhost",
            &vhost.name,
            "--detailed-exitcode",
        ])
        .status(2);
    // Made again, it applies, and the broker then matches the spec.
    vhost
        .http
        .api()
        .delete_policy(&vhost.name, "hand-made", false)
        .await
        .unwrap();
    Warren::new()
        .args(["plan", CHANGED, "--vhost", &vhost.name, "--out"])
        .arg_path(&saved)
        .success();
    let ran = Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&saved)
        .success();
    ran.stdout_has("the broker matches the spec");
    plan_is_empty(&vhost, CHANGED, &[]);
    // A plan file is applied as saved: --prune and --vhost belong to it.
    let ran = Warren::new()
        .args(["apply", "--yes", "--prune"])
        .arg_path(&saved)
        .status(64);
    ran.stderr_has("give neither");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_a_replaced_queue_while_publishers_keep_publishing() {
    use lapin::options::{BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions};
    use lapin::{BasicProperties, Confirmation};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    needs_broker!();
    let vhost = TestVhost::new("apply-migrate").await;
    apply(&vhost, BASE, &["--yes"]).success();
    // A publisher at a steady rate, with confirms and `mandatory`, from
    // before the apply to after it.
    let running = Arc::new(AtomicBool::new(true));
    let publisher = {
        let (settings, name, running) =
            (vhost.settings.clone(), vhost.name.clone(), running.clone());
        tokio::spawn(async move {
            let connection = warren::broker::connect(&settings, &name).await.unwrap();
            let channel = connection.create_channel().await.unwrap();
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .unwrap();
            let (mut published, mut returned) = (0u64, 0u64);
            let mut keep_going = 60; // messages after the apply ends
            while keep_going > 0 {
                if !running.load(Ordering::SeqCst) {
                    keep_going -= 1;
                }
                let confirm = channel
                    .basic_publish(
                        "events".into(),
                        "payment.captured".into(),
                        BasicPublishOptions {
                            mandatory: true,
                            ..BasicPublishOptions::default()
                        },
                        b"payment",
                        BasicProperties::default()
                            .with_delivery_mode(2)
                            .with_message_id(published.to_string().into()),
                    )
                    .await
                    .unwrap()
                    .await
                    .unwrap();
                match confirm {
                    Confirmation::Ack(None) => {}
                    _ => returned += 1,
                }
                published += 1;
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
            let _ = connection.close(200, "done".into()).await;
            (published, returned)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let name = vhost.name.clone();
    let ran = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_warren"))
            .args(["apply", CHANGED, "--vhost", &name, "--yes", "--migrate"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("replaced queue payments"), "{stderr}");
    running.store(false, Ordering::SeqCst);
    let (published, returned) = publisher.await.unwrap();
    assert_eq!(
        returned, 0,
        "publishes were unroutable during the migration"
    );
    // Every published message is in the new queue (a few may be there
    // twice: those published while both the holding and the new queue
    // were bound).
    let connection = warren::broker::connect(&vhost.settings, &vhost.name)
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let mut seen = std::collections::BTreeMap::<u64, u32>::new();
    while let Some(m) = channel
        .basic_get("payments".into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let id: u64 = m
            .delivery
            .properties
            .message_id()
            .as_ref()
            .unwrap()
            .as_str()
            .parse()
            .unwrap();
        *seen.entry(id).or_default() += 1;
    }
    let _ = connection.close(200, "done".into()).await;
    let missing: Vec<u64> = (0..published).filter(|id| !seen.contains_key(id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {published} lost: {missing:?}",
        missing.len()
    );
    let twice = seen.values().filter(|&&n| n > 1).count();
    assert!(
        twice as u64 <= published / 10,
        "{twice} duplicates of {published}"
    );
    eprintln!("{published} published during the migration, none lost, {twice} delivered twice");
    plan_is_empty(&vhost, CHANGED, &[]);
    // The holding queue is gone.
    let usage = warren::broker::queue_usage(&vhost.http, &vhost.name)
        .await
        .unwrap();
    assert!(!usage.contains_key("payments.warren-migrate"), "{usage:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_apply_finishes_a_migration_that_was_interrupted() {
    use lapin::options::ConfirmSelectOptions;
    needs_broker!();
    let vhost = TestVhost::new("apply-resume").await;
    apply(&vhost, BASE, &["--yes"]).success();
    publish(&vhost, "events", "payment.captured", 7).await;
    crate::support::broker::await_messages(&vhost, "payments", 7).await;
    // An apply with --migrate that died after step 1: the holding queue
    // has the bindings and the messages, the old queue neither.
    let live = warren::broker::observe(&vhost.http, &vhost.name, &[])
        .await
        .unwrap();
    let bindings: Vec<_> = live
        .topology
        .bindings
        .into_iter()
        .filter(|b| b.destination == "payments")
        .collect();
    assert_eq!(bindings.len(), 2, "{bindings:?}");
    let connection = warren::broker::connect(&vhost.settings, &vhost.name)
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let moved = warren::apply::migrate::hold(
        &channel,
        std::time::Duration::from_secs(10),
        "payments",
        &bindings,
    )
    .await
    .unwrap();
    assert_eq!(moved, 7);
    let _ = connection.close(200, "interrupted".into()).await;
    // Published while interrupted: the holding queue takes them.
    publish(&vhost, "events", "payment.failed", 2).await;
    crate::support::broker::await_messages(&vhost, "payments.warren-migrate", 9).await;

    // --prune leaves the holding queue to the migration it belongs to.
    let ran = apply(&vhost, CHANGED, &["--yes", "--prune"]).success();
    ran.stdout_lacks("- queue payments.warren-migrate");
    ran.stdout_has("interrupted while migrating queue \"payments\"");
    ran.stdout_has("9 messages moved back");
    crate::support::broker::await_messages(&vhost, "payments", 9).await;
    let usage = warren::broker::queue_usage(&vhost.http, &vhost.name)
        .await
        .unwrap();
    assert!(!usage.contains_key("payments.warren-migrate"), "{usage:?}");
    plan_is_empty(&vhost, CHANGED, &[]);
    // The new queue has the bindings back.
    publish(&vhost, "events", "payment.captured", 1).await;
    crate::support::broker::await_messages(&vhost, "payments", 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_for_several_vhosts_applies_each_of_them() {
    needs_broker!();
    let (first, second) = (
        TestVhost::new("apply-saved-a").await,
        TestVhost::new("apply-saved-b").await,
    );
    let dir = tempfile::tempdir().unwrap();
    for (file, vhost, queue) in [("a.yaml", &first, "alpha"), ("b.yaml", &second, "beta")] {
        std::fs::write(
            dir.path().join(file),
            format!(
                "version: 1\nvhost: {:?}\nexchanges:\n  {queue}.in: {{ type: fanout }}\nqueues:\n  {queue}:\n    bindings: [{{ exchange: {queue}.in }}]\n",
                vhost.name
            ),
        )
        .unwrap();
    }
    let saved = dir.path().join("plan.json");
    Warren::new()
        .args(["plan"])
        .arg_path(dir.path())
        .args(["--out"])
        .arg_path(&saved)
        .success();
    let ran = Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&saved)
        .success();
    assert_eq!(
        ran.stdout.matches("the broker matches the spec").count(),
        2,
        "{}",
        ran.stdout
    );
    for (vhost, queue) in [(&first, "alpha"), (&second, "beta")] {
        let usage = warren::broker::queue_usage(&vhost.http, &vhost.name)
            .await
            .unwrap();
        assert!(usage.contains_key(queue), "{}: {usage:?}", vhost.name);
    }
    // Applied, the plan is spent: the broker no longer matches its fingerprint.
    let ran = Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&saved)
        .status(1);
    ran.stderr_has("the broker changed since the plan was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_whose_topology_was_edited_after_review_is_refused() {
    needs_broker!();
    let vhost = TestVhost::new("apply-saved-edited").await;
    let (_dir, saved) = saved_plan(&vhost);
    // A queue slipped into the plan's topology, not into its reviewed
    // changes.
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    doc["desired"]["definitions"]["queues"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "name": "smuggled", "vhost": vhost.name, "durable": true,
            "auto_delete": false, "arguments": {}
        }));
    std::fs::write(&saved, serde_json::to_string(&doc).unwrap()).unwrap();
    let ran = Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&saved)
        .status(1);
    ran.stderr_has("would also: create queue smuggled");
    // Nothing was applied: the reviewed changes are still to do.
    Warren::new()
        .args(["plan", BASE, "--vhost", &vhost.name, "--detailed-exitcode"])
        .success();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_refuses_an_amqp_endpoint_on_another_broker_and_changes_nothing() {
    needs_broker!();
    // The machine's own broker is the other one; skip when it is the one
    // under test.
    let here = crate::support::broker::settings();
    let other_http = "http://127.0.0.1:15672";
    if here.amqp_url.port() == Some(5672)
        || reqwest::get(format!("{other_http}/api/overview"))
            .await
            .is_err()
    {
        eprintln!("no second broker on 127.0.0.1:5672: skipped");
        return;
    }
    let vhost = TestVhost::new("apply-two-brokers").await;
    // The same vhost on the other broker, so that the AMQP connection
    // there succeeds.
    let other_settings = warren::broker::Settings::resolve(
        &warren::broker::SettingsInput {
            http_url: Some(other_http.into()),
            ..Default::default()
        },
        |_| None,
    )
    .unwrap();
    let other = warren::broker::http_client(&other_settings).unwrap();
    other
        .put_json(
            &format!("vhosts/{}", warren::broker::segment(&vhost.name)),
            &serde_json::json!({}),
            "create the vhost",
        )
        .await
        .unwrap();
    other
        .put_json(
            &format!("permissions/{}/guest", warren::broker::segment(&vhost.name)),
            &serde_json::json!({"configure": ".*", "write": ".*", "read": ".*"}),
            "grant guest",
        )
        .await
        .unwrap();
    let ran = Warren::new()
        .args(["apply", "--yes", BASE, "--vhost", &vhost.name])
        .args(["--amqp-url", "amqp://127.0.0.1:5672"])
        .status(1);
    ran.stderr_has("reach different brokers");
    let queues: Vec<serde_json::Value> = other
        .get_json(
            &format!("queues/{}", warren::broker::segment(&vhost.name)),
            "list queues",
        )
        .await
        .unwrap();
    let _ = other
        .delete(
            &format!("vhosts/{}", warren::broker::segment(&vhost.name)),
            "delete the vhost",
        )
        .await;
    assert!(queues.is_empty(), "{queues:?}");
    // Nothing on the broker under test either, but the vhost.
    Warren::new()
        .args(["plan", BASE, "--vhost", &vhost.name, "--detailed-exitcode"])
        .status(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vhost_deleted_while_apply_runs_is_named_as_the_cause() {
    needs_broker!();
    let vhost = TestVhost::new("apply-vhost-gone").await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("many.yaml");
    let mut text = String::from("version: 1\nexchanges:\n  ev: { type: topic }\nqueues:\n");
    for i in 0..400 {
        text.push_str(&format!(
            "  q{i}: {{ external: true, bindings: [{{ exchange: ev, key: k{i} }}] }}\n"
        ));
    }
    std::fs::write(&spec, text).unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("warren"))
        .env("NO_COLOR", "1")
        .args([
            "apply",
            "--yes",
            "--parallelism",
            "1",
            "--vhost",
            &vhost.name,
        ])
        .arg(&spec)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once apply is under way, the vhost goes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let queues: Vec<serde_json::Value> = vhost
            .http
            .get_json(
                &format!("queues/{}", warren::broker::segment(&vhost.name)),
                "list queues",
            )
            .await
            .unwrap_or_default();
        if queues.len() > 20 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "apply never started");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    vhost
        .http
        .api()
        .delete_vhost(&vhost.name, false)
        .await
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("was deleted while apply ran"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_lock_queue_that_is_not_exclusive_is_named_with_the_fix() {
    needs_broker!();
    let vhost = TestVhost::new("apply-stale-lock").await;
    apply(&vhost, BASE, &["--yes"]).success();
    // Left by a definitions import of a vhost that was being applied.
    let path = format!(
        "queues/{}/{}",
        warren::broker::segment(&vhost.name),
        warren::apply::LOCK_QUEUE
    );
    vhost
        .http
        .put_json(
            &path,
            &serde_json::json!({ "durable": true, "auto_delete": false, "arguments": {} }),
            "declare a stale lock",
        )
        .await
        .unwrap();
    let ran = apply(&vhost, CHANGED, &["--yes"]).status(1);
    ran.stderr_has("not exclusive")
        .stderr_has("delete that queue");
    vhost
        .http
        .delete(&path, "delete the stale lock")
        .await
        .unwrap();
    apply(&vhost, CHANGED, &["--yes"]).success();
}
