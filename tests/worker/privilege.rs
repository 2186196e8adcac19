//! Least privilege, proven on the broker: a service's user, with the
//! permissions `apply` derived from the spec, can do what the service does
//! and the broker itself refuses the rest.

use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ExchangeDeclareOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Confirmation, ExchangeKind};

use crate::support::Warren;
use crate::support::broker::TestVhost;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_refuses_a_service_user_everything_its_service_does_not_do() {
    needs_broker!();
    let vhost = TestVhost::new("worker-privilege").await;
    // Users are broker-wide: names of this run's own.
    let (shipper, biller) = (
        format!("warren-test.shipper.{}", std::process::id()),
        format!("warren-test.biller.{}", std::process::id()),
    );
    let spec = format!(
        r#"version: 1
vhost: {vhost:?}
exchanges:
  orders: {{ type: topic }}
queues:
  shipped:
    external: true
    bindings: [{{ exchange: orders, key: order.shipped }}]
services:
  shipping:
    consumes: {{ exchange: orders, keys: [order.paid] }}
    emits: [{{ exchange: orders, keys: [order.shipped] }}]
    retry: {{ delays: [1s] }}
    user: {shipper:?}
  billing:
    consumes: {{ exchange: orders, keys: [order.created] }}
    emits: [{{ exchange: orders, keys: [order.paid] }}]
    user: {biller:?}
users:
  {shipper:?}: {{ password_env: WARREN_TEST_PASSWORD_SHIPPER }}
  {biller:?}: {{ password_env: WARREN_TEST_PASSWORD_BILLER }}
"#,
        vhost = vhost.name
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec).unwrap();
    let password = format!("pw-{}", std::process::id());
    Warren::new()
        .args(["apply", "--yes"])
        .arg_path(&path)
        .env("WARREN_TEST_PASSWORD_SHIPPER", &password)
        .env("WARREN_TEST_PASSWORD_BILLER", &password)
        .success();

    let settings = vhost.settings.clone().as_user(
        shipper.clone(),
        warren::broker::Password::new(password.clone()),
    );
    let connection = warren::broker::connect(&settings, &vhost.name)
        .await
        .unwrap();
    let publish = |key: &'static str| {
        let connection = &connection;
        async move {
            let channel = warren::broker::confirm_channel(connection).await.unwrap();
            let sent = channel
                .basic_publish(
                    "orders".into(),
                    key.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    b"{}",
                    BasicProperties::default(),
                )
                .await;
            match sent {
                Ok(confirm) => confirm.await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    // What the service does is allowed: emit its key, consume its queue.
    assert_eq!(publish("order.shipped").await, Ok(Confirmation::Ack(None)));
    let channel = connection.create_channel().await.unwrap();
    channel
        .basic_consume(
            "shipping".into(),
            "ok".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("the service consumes its own queue");
    let _ = channel.close(200, "done".into()).await;

    let refused = |what: &str, result: Result<String, String>| {
        let error = result.expect_err(&format!("{what}: the broker allowed it"));
        assert!(
            error.contains("ACCESS_REFUSED") || error.contains("403"),
            "{what}: {error}"
        );
    };
    // A key its service does not emit (the topic permission).
    refused(
        "publish order.refunded",
        publish("order.refunded").await.map(|c| format!("{c:?}")),
    );
    // Another service's queue.
    let channel = connection.create_channel().await.unwrap();
    refused(
        "consume billing",
        channel
            .basic_consume(
                "billing".into(),
                "no".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map(|_| "consumed".to_string())
            .map_err(|e| e.to_string()),
    );
    // Declaring or deleting anything (configure is ^$).
    let channel = connection.create_channel().await.unwrap();
    refused(
        "declare a queue",
        channel
            .queue_declare(
                "mine".into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .map(|_| "declared".to_string())
            .map_err(|e| e.to_string()),
    );
    let channel = connection.create_channel().await.unwrap();
    refused(
        "declare an exchange",
        channel
            .exchange_declare(
                "mine".into(),
                ExchangeKind::Fanout,
                ExchangeDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .map(|_| "declared".to_string())
            .map_err(|e| e.to_string()),
    );
    let channel = connection.create_channel().await.unwrap();
    refused(
        "delete its own queue",
        channel
            .queue_delete("shipping".into(), QueueDeleteOptions::default())
            .await
            .map(|_| "deleted".to_string())
            .map_err(|e| e.to_string()),
    );
    let _ = connection.close(200, "done".into()).await;
    for user in [&shipper, &biller] {
        let _ = vhost.http.api().delete_user(user, true).await;
    }
}
