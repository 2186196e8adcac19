//! `warren publish` and `warren dlq`, as a user runs them.

use serde_json::json;
use warren::worker::{Event, Failure, handler};

use super::{Harness, SHIPPING, body, header};
use crate::support::Warren;

/// `warren publish SPEC ARGS...`, to be run.
fn publish(spec: &std::path::Path, args: &[&str]) -> Warren {
    Warren::new().args(["publish"]).arg_path(spec).args(args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_checks_the_key_against_the_spec_and_fails_on_a_return() {
    needs_broker!();
    let h = Harness::new("worker-publish", SHIPPING).await;
    let spec = h.spec();
    let ran = publish(
        &spec,
        &[
            "--exchange",
            "orders",
            "--key",
            "order.paid",
            "--body",
            r#"{"order": 1}"#,
            "--message-id",
            "m-1",
        ],
    )
    .success();
    ran.stdout_has("the broker confirmed it")
        .stdout_has("shipping");
    let got = h.take("shipping", 1).await;
    assert_eq!(body(&got[0]), json!({ "order": 1 }));
    assert_eq!(
        got[0]
            .delivery
            .properties
            .message_id()
            .as_ref()
            .unwrap()
            .as_str(),
        "m-1"
    );

    // Nothing in the spec receives it: refused before connecting.
    let ran = publish(
        &spec,
        &[
            "--exchange",
            "orders",
            "--key",
            "order.lost",
            "--body",
            "{}",
        ],
    )
    .status(1);
    ran.stderr_has("nothing in the spec receives key \"order.lost\"");
    // As a service, only what it declares.
    let ran = publish(
        &spec,
        &[
            "--service",
            "shipping",
            "--key",
            "order.refunded",
            "--body",
            "{}",
        ],
    )
    .status(1);
    ran.stderr_has("does not declare the routing key");
    let ran = publish(
        &spec,
        &[
            "--exchange",
            "orders",
            "--key",
            "order.paid",
            "--body",
            "{oops",
        ],
    )
    .status(64);
    ran.stderr_has("is not JSON");

    // The spec routes it, the broker does not (its binding is gone): the
    // return is a failure.
    let connection = warren::broker::connect(&h.vhost.settings, &h.vhost.name)
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .queue_unbind(
            "shipping".into(),
            "orders".into(),
            "order.paid".into(),
            Default::default(),
        )
        .await
        .unwrap();
    let _ = connection.close(200, "unbound".into()).await;
    let ran = publish(
        &spec,
        &[
            "--exchange",
            "orders",
            "--key",
            "order.paid",
            "--body",
            "{}",
        ],
    )
    .status(1);
    ran.stderr_has("did not take the message")
        .stderr_has("returned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_list_keeps_the_dead_letters_and_replay_moves_them_back_with_attempts_reset() {
    needs_broker!();
    let h = Harness::new("worker-replay", SHIPPING).await;
    let running = h.serve(
        "shipping",
        handler::function(|_| async { Err(Failure::permanent("label printer jammed")) }),
    );
    let orders: Vec<_> = (0..3).map(|i| json!({ "order": i })).collect();
    h.publish("orders", "order.paid", &orders).await;
    while h.depth("shipping.dlq").await < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    running.stop().await;

    let spec = h.spec();
    let list = || {
        let ran = Warren::new()
            .args(["dlq", "list"])
            .arg_path(&spec)
            .args(["shipping", "--json"])
            .success();
        serde_json::from_str::<serde_json::Value>(&ran.stdout).unwrap()
    };
    let first = list();
    assert_eq!(first.as_array().unwrap().len(), 3, "{first}");
    assert_eq!(first[0]["reason"], "permanent-failure");
    assert_eq!(first[0]["error"], "label printer jammed");
    assert_eq!(first[0]["routing_key"], "order.paid");
    assert!(first[0]["message_id"].as_str().unwrap().starts_with("id-"));
    // Listing took nothing away, and kept the order.
    assert_eq!(list(), first);
    let text = Warren::new()
        .args(["dlq", "list"])
        .arg_path(&spec)
        .args(["shipping"])
        .success();
    text.stdout_has("label printer jammed");

    let ran = Warren::new()
        .args(["dlq", "replay"])
        .arg_path(&spec)
        .args(["shipping", "--limit", "2"])
        .success();
    ran.stdout_has("Replayed 2 dead letters");
    assert_eq!(h.depth("shipping.dlq").await, 1);
    // The replayed messages start over: attempt 1, first routing key, and
    // a handler that now works ships them.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let running = h.serve(
        "shipping",
        handler::function(move |m| {
            record
                .lock()
                .unwrap()
                .push((m.attempt, m.routing_key.clone(), m.message_id.clone()));
            async move { Ok(vec![Event::new("order.shipped", m.body)]) }
        }),
    );
    let shipped = h.take("shipped", 2).await;
    running.stop().await;
    assert_eq!(shipped.len(), 2);
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    // The oldest two, as listed.
    let mut oldest: Vec<_> = (0..2)
        .map(|i| {
            (
                1,
                "order.paid".to_string(),
                first[i]["message_id"].as_str().map(String::from),
            )
        })
        .collect();
    oldest.sort();
    assert_eq!(seen, oldest);
    let left = h.take("shipping.dlq", 1).await;
    assert_eq!(
        header(&left[0], "x-warren-reason").as_deref(),
        Some("permanent-failure")
    );
}
