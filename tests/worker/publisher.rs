//! The public `Publisher`, as a service's HTTP API uses it: publishes as
//! its service, checked against the spec, and connects again after the
//! broker closed its connection.

use serde_json::json;
use warren::worker::publish::RequestError;
use warren::worker::{Event, Publisher};

use super::{Harness, SHIPPING, body, header};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_sends_as_its_service_and_connects_again_after_a_cut() {
    needs_broker!();
    let h = Harness::new("worker-publisher", SHIPPING).await;
    let publisher = Publisher::new(&h.topology, &h.vhost.settings, "shipping").unwrap();
    let shipped = |n: u64| Event::new("order.shipped", json!({ "order": n }));
    publisher
        .publish(&shipped(1), "m-1", Some("o-1"))
        .await
        .unwrap();
    // The broker closes every connection of the vhost: the publish that
    // finds its connection gone fails or goes through on a new one, and
    // the next goes through; none is reported sent unless it was.
    crate::support::broker::close_connections(&h.vhost.http, &h.vhost.name).await;
    let mut sent = vec![1];
    for n in 2..=3 {
        let mut tries = 0;
        loop {
            tries += 1;
            match publisher
                .publish(&shipped(n), &format!("m-{n}"), None)
                .await
            {
                Ok(()) => break,
                Err(RequestError::Broker(e)) if tries < 3 => eprintln!("publish again: {e}"),
                Err(e) => panic!("{e}"),
            }
        }
        sent.push(n);
    }
    let got = h.take("shipped", 3).await;
    let orders: Vec<u64> = got
        .iter()
        .map(|m| body(m)["order"].as_u64().unwrap())
        .collect();
    assert_eq!(orders, sent);
    assert_eq!(
        got[0]
            .properties
            .correlation_id()
            .as_ref()
            .map(|c| c.as_str()),
        Some("o-1")
    );
    assert_eq!(header(&got[0], "x-warren-exchange"), None);

    // What the spec does not let the service publish never leaves.
    let undeclared = publisher
        .publish(&Event::new("order.paid", json!({})), "m-x", None)
        .await;
    assert!(
        matches!(&undeclared, Err(RequestError::Refused(text)) if text.contains("order.paid")),
        "{undeclared:?}"
    );
    assert!(matches!(
        Publisher::new(&h.topology, &h.vhost.settings, "no-such-service"),
        Err(RequestError::Worker(_))
    ));
}
