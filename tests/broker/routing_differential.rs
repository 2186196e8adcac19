//! `routing` against RabbitMQ itself: random topologies are loaded into a
//! fresh vhost, probe messages are published, and the queues each probe
//! reached must be exactly the queues `Router` predicts.

use std::collections::{BTreeMap, BTreeSet};

use lapin::options::{BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel};
use serde_json::{Value, json};
use warren::broker::{amqp_headers, connect};
use warren::definitions::to_definitions;
use warren::routing::{Headers, Router};
use warren::topology::{
    Arguments, Binding, DestinationType, Exchange, ExchangeType, Origin, Queue, QueueType, Topology,
};

use crate::support::broker::TestVhost;
use crate::support::rng::Rng;

/// Topologies per run and the seed of the first; a failure names its seed.
const CASES: u64 = 24;
const FIRST_SEED: u64 = 0x5eed_0001;

const WORDS: &[&str] = &["a", "b", "c", ""];
/// Header names and values; h1 comes as an integer, a string and a boolean
/// so that typed comparison is exercised.
fn header_values() -> [(&'static str, Value); 6] {
    [
        ("h1", json!(1)),
        ("h1", json!("1")),
        ("h1", json!(true)),
        ("h2", json!("a")),
        ("h2", json!("b")),
        ("x-h", json!("z")),
    ]
}

fn random_key(rng: &mut Rng, wildcards: bool) -> String {
    let len = rng.below(4);
    let mut words = Vec::new();
    for _ in 0..len {
        let word = if wildcards && rng.chance(35) {
            *rng.pick(&["*", "#"])
        } else {
            *rng.pick(WORDS)
        };
        words.push(word);
    }
    words.join(".")
}

fn random_headers(rng: &mut Rng) -> Arguments {
    let mut args = Arguments::new();
    for _ in 0..rng.below(3) {
        let (name, value) = rng.pick(&header_values()).clone();
        args.insert(name.to_string(), value);
    }
    args
}

fn random_topology(rng: &mut Rng, vhost: &str) -> Topology {
    let mut t = Topology {
        vhost: vhost.to_string(),
        ..Topology::default()
    };
    let kinds = [
        ExchangeType::Direct,
        ExchangeType::Fanout,
        ExchangeType::Topic,
        ExchangeType::Headers,
    ];
    let exchanges: Vec<String> = (0..3 + rng.below(4)).map(|i| format!("x{i}")).collect();
    let queues: Vec<String> = (0..3 + rng.below(5)).map(|i| format!("q{i}")).collect();
    for name in &exchanges {
        let kind = rng.pick(&kinds).clone();
        let alternate_exchange = rng.chance(30).then(|| rng.pick(&exchanges).clone());
        t.exchanges.insert(
            name.clone(),
            Exchange {
                name: name.clone(),
                kind,
                durable: false,
                auto_delete: false,
                internal: rng.chance(15),
                alternate_exchange,
                settings_via: warren::vocabulary::SettingsVia::Arguments,
                arguments: Arguments::new(),
                origin: Origin::default(),
            },
        );
    }
    for name in &queues {
        let mut q = Queue::new(name, QueueType::Classic, Origin::default());
        q.durable = false;
        t.queues.insert(name.clone(), q);
    }
    for _ in 0..4 + rng.below(12) {
        let source = rng.pick(&exchanges).clone();
        let (destination, destination_type) = if rng.chance(25) {
            (rng.pick(&exchanges).clone(), DestinationType::Exchange)
        } else {
            (rng.pick(&queues).clone(), DestinationType::Queue)
        };
        let kind = t.exchanges[&source].kind.clone();
        let mut arguments = Arguments::new();
        let routing_key = match kind {
            ExchangeType::Headers => {
                arguments = random_headers(rng);
                if rng.chance(80) {
                    let mode = *rng.pick(&["all", "any", "all-with-x", "any-with-x"]);
                    arguments.insert("x-match".into(), json!(mode));
                }
                String::new()
            }
            ExchangeType::Topic => random_key(rng, true),
            _ => random_key(rng, false),
        };
        t.bindings.push(Binding {
            source,
            destination,
            destination_type,
            routing_key,
            arguments,
            origin: Origin::default(),
        });
    }
    t
}

#[derive(Clone, Debug)]
struct Probe {
    exchange: String,
    key: String,
    headers: Headers,
}

fn probes(rng: &mut Rng, t: &Topology) -> Vec<Probe> {
    let mut keys: BTreeSet<String> = ["", "a", "b", "a.b", "a.b.c", "b.a", "c.c.c.c", "a..b", "."]
        .iter()
        .map(|k| k.to_string())
        .collect();
    for b in &t.bindings {
        keys.insert(b.routing_key.replace(['*', '#'], "a"));
    }
    let mut header_sets: Vec<Headers> = vec![Headers::new()];
    for _ in 0..4 {
        header_sets.push(random_headers(rng));
    }
    let mut out = Vec::new();
    for x in t.exchanges.values().filter(|x| !x.internal) {
        for key in &keys {
            for headers in &header_sets {
                out.push(Probe {
                    exchange: x.name.clone(),
                    key: key.clone(),
                    headers: headers.clone(),
                });
            }
        }
    }
    out
}

/// Publishes every probe (with confirms) and reads back which queues got
/// which probe.
async fn broker_routes(vhost: &TestVhost, t: &Topology, probes: &[Probe]) -> Vec<BTreeSet<String>> {
    let connection = connect(&vhost.settings, &vhost.name)
        .await
        .expect("connect");
    let channel: Channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    for (i, probe) in probes.iter().enumerate() {
        let properties = BasicProperties::default()
            .with_message_id(i.to_string().into())
            .with_headers(amqp_headers(&probe.headers).unwrap());
        channel
            .basic_publish(
                probe.exchange.as_str().into(),
                probe.key.as_str().into(),
                BasicPublishOptions::default(),
                b"probe",
                properties,
            )
            .await
            .expect("publish");
    }
    channel.wait_for_confirms().await.expect("confirms");
    let mut reached = vec![BTreeSet::new(); probes.len()];
    for queue in t.queues.keys() {
        loop {
            let got = channel
                .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .expect("basic.get");
            let Some(message) = got else { break };
            let id: usize = message
                .delivery
                .properties
                .message_id()
                .as_ref()
                .and_then(|id| id.as_str().parse().ok())
                .expect("probe id");
            reached[id].insert(queue.clone());
        }
    }
    let _ = connection.close(200, "done".into()).await;
    reached
}

fn model_route(t: &Topology, probe: &Probe) -> BTreeSet<String> {
    Router::new(t)
        .route(&probe.exchange, &probe.key, &probe.headers)
        .map(|r| r.queues)
        .unwrap_or_default()
}

async fn disagrees(t: &Topology, probe: &Probe) -> bool {
    let vhost = TestVhost::new("route-reduce").await;
    let mut t = t.clone();
    t.vhost = vhost.name.clone();
    vhost.import(to_definitions(&t)).await;
    let broker = broker_routes(&vhost, &t, std::slice::from_ref(probe)).await;
    broker[0] != model_route(&t, probe)
}

/// Drops bindings, alternate exchanges and queues one at a time while the
/// disagreement persists, so the report shows the smallest topology.
async fn reduce(mut t: Topology, probe: &Probe) -> Topology {
    let mut i = 0;
    while i < t.bindings.len() {
        let mut smaller = t.clone();
        smaller.bindings.remove(i);
        if disagrees(&smaller, probe).await {
            t = smaller;
        } else {
            i += 1;
        }
    }
    let names: Vec<String> = t.exchanges.keys().cloned().collect();
    for name in names {
        if t.exchanges[&name].alternate_exchange.is_some() {
            let mut smaller = t.clone();
            if let Some(x) = smaller.exchanges.get_mut(&name) {
                x.alternate_exchange = None;
            }
            if disagrees(&smaller, probe).await {
                t = smaller;
            }
        }
    }
    let used: BTreeSet<String> = t.bindings.iter().map(|b| b.destination.clone()).collect();
    t.queues.retain(|name, _| used.contains(name));
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_matches_the_broker() {
    needs_broker!();
    let mut total = 0;
    for case in 0..CASES {
        let seed = FIRST_SEED + case;
        let mut rng = Rng(seed);
        let vhost = TestVhost::new("route-diff").await;
        let t = random_topology(&mut rng, &vhost.name);
        vhost.import(to_definitions(&t)).await;
        let probes = probes(&mut rng, &t);
        let broker = broker_routes(&vhost, &t, &probes).await;
        for (probe, reached) in probes.iter().zip(&broker) {
            let predicted = model_route(&t, probe);
            if &predicted != reached {
                let small = reduce(t.clone(), probe).await;
                let small_predicted = model_route(&small, probe);
                panic!(
                    "routing disagrees with RabbitMQ (seed {seed:#x})\nprobe: {probe:?}\nbroker: {reached:?}\nwarren: {predicted:?}\n\
                     smallest topology showing it (warren predicts {small_predicted:?}):\n{}",
                    serde_json::to_string_pretty(&to_definitions(&small)).unwrap_or_default()
                );
            }
        }
        total += probes.len();
    }
    assert!(total >= 4_000, "only {total} probes: the generator shrank");
    eprintln!("{total} probes over {CASES} topologies agree with the broker");
}

#[test]
fn generated_topologies_use_every_feature() {
    // Guards the generator: a change that stops producing some kind of
    // binding would make the differential test quietly weaker.
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for case in 0..CASES {
        let t = random_topology(&mut Rng(FIRST_SEED + case), "v");
        for b in &t.bindings {
            let x = &t.exchanges[&b.source];
            *seen.entry(x.kind.as_str().to_string().leak()).or_default() += 1;
            if b.destination_type == DestinationType::Exchange {
                *seen.entry("exchange-to-exchange").or_default() += 1;
            }
            if b.routing_key.contains('#') {
                *seen.entry("#").or_default() += 1;
            }
            if b.routing_key.contains('*') {
                *seen.entry("*").or_default() += 1;
            }
            if let Some(m) = b.arguments.get("x-match").and_then(Value::as_str) {
                *seen.entry(m.to_string().leak()).or_default() += 1;
            }
        }
        for x in t.exchanges.values() {
            if x.alternate_exchange.is_some() {
                *seen.entry("alternate-exchange").or_default() += 1;
            }
            if x.internal {
                *seen.entry("internal").or_default() += 1;
            }
        }
    }
    for feature in [
        "direct",
        "fanout",
        "topic",
        "headers",
        "exchange-to-exchange",
        "#",
        "*",
        "all",
        "any",
        "all-with-x",
        "any-with-x",
        "alternate-exchange",
        "internal",
    ] {
        assert!(
            seen.get(feature).copied().unwrap_or(0) > 0,
            "generator never produced {feature}: {seen:?}"
        );
    }
}

/// Applies `t` with `warren apply` (written as a spec, pruning what the
/// spec does not name), then checks that nothing is left to plan and that
/// the broker routes every probe as warren predicts.
async fn apply_and_compare(vhost: &TestVhost, t: &Topology, rng: &mut Rng, seed: u64, step: &str) {
    use crate::support::Warren;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, warren::spec::to_spec_yaml(t).unwrap()).unwrap();
    let ran = Warren::new()
        .args(["apply", "--yes", "--prune", "--vhost", &vhost.name])
        .arg_path(&spec)
        .success();
    assert!(
        ran.stdout.contains("the broker matches the spec") || ran.stdout.contains("No changes"),
        "seed {seed:#x}, {step}: {}",
        ran.stdout
    );
    let again = Warren::new()
        .args(["apply", "--yes", "--prune", "--vhost", &vhost.name])
        .arg_path(&spec)
        .success();
    assert!(
        !again.stdout.contains("Applied"),
        "seed {seed:#x}, {step}: the second apply changed something:\n{}",
        again.stdout
    );
    let probes = probes(rng, t);
    let broker = broker_routes(vhost, t, &probes).await;
    for (probe, reached) in probes.iter().zip(&broker) {
        assert_eq!(
            &model_route(t, probe),
            reached,
            "seed {seed:#x}, {step}: routing after apply disagrees for {probe:?}"
        );
    }
}

/// One random edit of each change class: a replaced queue (new argument),
/// a replaced exchange (durability), a created queue with its binding, a
/// deleted binding.
fn edit(t: &mut Topology, rng: &mut Rng) {
    let queues: Vec<String> = t.queues.keys().cloned().collect();
    let q = rng.pick(&queues).clone();
    if let Some(queue) = t.queues.get_mut(&q) {
        queue.arguments.insert("x-max-length".into(), json!(1000));
    }
    let exchanges: Vec<String> = t.exchanges.keys().cloned().collect();
    let x = rng.pick(&exchanges).clone();
    if let Some(exchange) = t.exchanges.get_mut(&x) {
        exchange.durable = !exchange.durable;
    }
    let mut added = Queue::new("added", QueueType::Classic, Origin::default());
    added.durable = false;
    t.queues.insert("added".into(), added);
    let source = rng.pick(&exchanges).clone();
    let headers = t.exchanges[&source].kind == ExchangeType::Headers;
    t.bindings.push(Binding {
        source,
        destination: "added".into(),
        destination_type: DestinationType::Queue,
        routing_key: if headers { String::new() } else { "a".into() },
        arguments: if headers {
            random_headers(rng)
        } else {
            Arguments::new()
        },
        origin: Origin::default(),
    });
    if !t.bindings.is_empty() {
        let i = rng.below(t.bindings.len());
        t.bindings.remove(i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_converges_and_routes_as_warren_predicts() {
    needs_broker!();
    const APPLY_CASES: u64 = 6;
    for case in 0..APPLY_CASES {
        let seed = FIRST_SEED + 0x100 + case;
        let mut rng = Rng(seed);
        let vhost = TestVhost::new("apply-diff").await;
        let mut t = random_topology(&mut rng, &vhost.name);
        apply_and_compare(&vhost, &t, &mut rng, seed, "from empty").await;
        edit(&mut t, &mut rng);
        apply_and_compare(&vhost, &t, &mut rng, seed, "after an edit of every class").await;
    }
}
