//! The apply sequence driven through the library, as a Rust program uses
//! it: `apply::prepare`, then `Prepared::apply`. What the command line
//! cannot show: what happens between the two calls.

use std::sync::Arc;

use serde_json::json;
use warren::apply::{self, ApplyError, Options, Prepared};
use warren::topology::Topology;

use crate::support::broker::{TestVhost, await_messages, publish_confirmed};

const ONE_QUEUE: &str = "
version: 1
vhost: placeholder
exchanges:
  events: { type: topic }
queues:
  orders:
    type: quorum
    bindings: [{ exchange: events, key: order.# }]
";

/// `spec` checked, for `vhost`.
fn topology(vhost: &TestVhost, spec: &str) -> Topology {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec).unwrap();
    let checked = warren::validate::validate(&[path]).unwrap();
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    let mut topology = checked.topologies.into_iter().next().unwrap();
    topology.vhost = vhost.name.clone();
    topology
}

async fn prepare(vhost: &TestVhost, desired: &Topology, options: Options) -> Prepared {
    let http = Arc::new(warren::broker::http_client(&vhost.settings).unwrap());
    apply::prepare(
        &vhost.settings,
        &http,
        desired,
        &Default::default(),
        options,
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_plan_applies_and_then_nothing_is_left() {
    needs_broker!();
    let vhost = TestVhost::new("library-apply").await;
    let desired = topology(&vhost, ONE_QUEUE);
    let prepared = prepare(&vhost, &desired, Options::default()).await;
    // The exchange, the queue and its binding.
    assert_eq!(prepared.plan().changes.len(), 3, "{:#?}", prepared.plan());
    assert_eq!(prepared.steps(), 3);
    assert!(prepared.refusal().is_none());
    let mut heard = Vec::new();
    let applied = prepared
        .apply(|apply::Event::Done { change, .. }| heard.push(change.name.clone()))
        .await
        .unwrap();
    assert_eq!(applied.changes, 3);
    assert_eq!(heard.len(), 3, "{heard:?}");
    assert_eq!(vhost.queue("orders").await["type"], "quorum");

    let again = prepare(&vhost, &desired, Options::default()).await;
    assert!(again.is_empty(), "{:#?}", again.plan());
    assert_eq!(again.apply(|_| {}).await.unwrap().changes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_changed_between_prepare_and_apply_is_refused_and_nothing_is_applied() {
    needs_broker!();
    let vhost = TestVhost::new("library-moved").await;
    let desired = topology(&vhost, ONE_QUEUE);
    let prepared = prepare(&vhost, &desired, Options::default()).await;
    // Another client declares a queue after the plan was shown.
    vhost
        .import(json!({
            "queues": [{ "name": "intruder", "durable": true, "auto_delete": false, "arguments": {} }]
        }))
        .await;
    let refused = prepared.apply(|_| {}).await;
    assert!(matches!(refused, Err(ApplyError::Moved)), "{refused:?}");
    let live = vhost.http.api().list_queues_in(&vhost.name).await.unwrap();
    let names: Vec<&str> = live.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["intruder"], "applied although refused");
    // Prepared again, it applies and leaves the other client's queue.
    let prepared = prepare(&vhost, &desired, Options::default()).await;
    assert_eq!(prepared.apply(|_| {}).await.unwrap().changes, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_at_stake_and_a_missing_password_refuse_before_the_broker_is_touched() {
    needs_broker!();
    let vhost = TestVhost::new("library-refusals").await;
    let first = topology(&vhost, ONE_QUEUE);
    prepare(&vhost, &first, Options::default())
        .await
        .apply(|_| {})
        .await
        .unwrap();
    let held = (0..4).map(|i| (vec![i], Default::default())).collect();
    publish_confirmed(&vhost, "events", "order.paid", held).await;
    await_messages(&vhost, "orders", 4).await;

    // A classic queue now: replacing it would drop its four messages.
    let replaced = topology(&vhost, &ONE_QUEUE.replace("type: quorum", "type: classic"));
    let prepared = prepare(&vhost, &replaced, Options::default()).await;
    assert_eq!(prepared.at_stake().len(), 1);
    assert_eq!(prepared.at_stake()[0].messages, 4);
    assert!(matches!(
        prepared.refusal(),
        Some(ApplyError::DataAtStake(_))
    ));
    // Applying anyway is refused the same way, and touches nothing.
    let refused = prepared.apply(|_| {}).await;
    assert!(
        matches!(refused, Err(ApplyError::DataAtStake(_))),
        "{refused:?}"
    );
    assert_eq!(vhost.queue("orders").await["type"], "quorum");
    await_messages(&vhost, "orders", 4).await;

    // Migrating keeps the messages: nothing at stake, and they move over.
    let migrating = Options {
        migrate: true,
        ..Options::default()
    };
    let prepared = prepare(&vhost, &replaced, migrating).await;
    assert!(prepared.refusal().is_none(), "{:?}", prepared.at_stake());
    prepared.apply(|_| {}).await.unwrap();
    assert_eq!(vhost.queue("orders").await["type"], "classic");
    await_messages(&vhost, "orders", 4).await;

    // A user whose password variable is unset.
    let (user, var) = (
        format!("reporter-{}", std::process::id()),
        format!("WARREN_TEST_UNSET_{}", std::process::id()),
    );
    let with_user = format!(
        "{}users:\n  {user}:\n    password_env: {var}\n",
        ONE_QUEUE.replace("type: quorum", "type: classic")
    );
    let prepared = prepare(&vhost, &topology(&vhost, &with_user), Options::default()).await;
    match prepared.refusal() {
        Some(ApplyError::MissingPasswords(missing)) => {
            assert_eq!(missing, [(user.clone(), var)]);
        }
        other => panic!("{other:?}"),
    }
    assert!(prepared.apply(|_| {}).await.is_err());
    let users = vhost.http.api().list_users().await.unwrap();
    assert!(users.iter().all(|u| u.name != user));
}
