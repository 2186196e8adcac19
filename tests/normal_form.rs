//! One normal form: a spec that uses raw arguments routes, checks, plans
//! and exports exactly like the same spec written with named fields, and a
//! topology survives the trip through a definitions document unchanged.

use proptest::prelude::*;
use warren::definitions::{from_definitions, to_definitions};
use warren::spec::load_str;
use warren::topology::Topology;
use warren::validate::validate_loaded;

use crate::support::Warren;

/// One queue's settings, to be written as named fields or raw arguments.
#[derive(Clone, Debug)]
struct QueueSettings {
    kind: Option<&'static str>,
    max_length: Option<u64>,
    ttl_ms: Option<u64>,
    expires_s: Option<u64>,
    dead_letter: Option<usize>,
    bound_to: usize,
}

#[derive(Clone, Debug)]
struct Shape {
    /// Each exchange's type and alternate exchange (an index).
    exchanges: Vec<(&'static str, Option<usize>)>,
    queues: Vec<QueueSettings>,
}

fn shape() -> impl Strategy<Value = Shape> {
    (1usize..5).prop_flat_map(|n| {
        let exchange = (
            prop_oneof![Just("direct"), Just("fanout"), Just("topic")],
            prop::option::of(0..n),
        );
        let queue = (
            prop::option::of(prop_oneof![Just("classic"), Just("quorum")]),
            prop::option::of(1u64..1_000),
            prop::option::of(1u64..100_000),
            prop::option::of(1u64..10_000),
            prop::option::of(0..n),
            0..n,
        )
            .prop_map(
                |(kind, max_length, ttl_ms, expires_s, dead_letter, bound_to)| QueueSettings {
                    kind,
                    max_length,
                    ttl_ms,
                    expires_s,
                    dead_letter,
                    bound_to,
                },
            );
        (
            prop::collection::vec(exchange, n),
            prop::collection::vec(queue, 1..6),
        )
            .prop_map(|(exchanges, queues)| Shape { exchanges, queues })
    })
}

/// The spec text, with every setting named (`raw = false`) or given as its
/// raw argument (`raw = true`).
fn spec(shape: &Shape, raw: bool) -> String {
    let mut s = String::from("version: 1\nvhost: v\nexchanges:\n");
    for (i, (kind, ae)) in shape.exchanges.iter().enumerate() {
        s.push_str(&format!("  e{i}:\n    type: {kind}\n"));
        if let Some(ae) = ae.filter(|ae| *ae != i) {
            if raw {
                s.push_str(&format!("    arguments: {{ alternate-exchange: e{ae} }}\n"));
            } else {
                s.push_str(&format!("    alternate_exchange: e{ae}\n"));
            }
        }
    }
    s.push_str("queues:\n");
    for (i, q) in shape.queues.iter().enumerate() {
        s.push_str(&format!(
            "  q{i}:\n    external: true\n    bindings: [{{ exchange: e{}, key: k }}]\n",
            q.bound_to
        ));
        let mut args = Vec::new();
        let mut named = Vec::new();
        if let Some(kind) = q.kind {
            named.push(format!("type: {kind}"));
            args.push(format!("x-queue-type: {kind}"));
        }
        if let Some(n) = q.max_length {
            named.push(format!("max_length: {n}"));
            args.push(format!("x-max-length: {n}"));
        }
        if let Some(ms) = q.ttl_ms {
            named.push(format!("message_ttl: {ms}ms"));
            args.push(format!("x-message-ttl: {ms}"));
        }
        if let Some(secs) = q.expires_s {
            named.push(format!("expires: {secs}s"));
            args.push(format!("x-expires: {}", secs * 1000));
        }
        if let Some(dl) = q.dead_letter {
            named.push(format!("dead_letter: {{ exchange: e{dl} }}"));
            args.push(format!("x-dead-letter-exchange: e{dl}"));
        }
        if raw {
            if !args.is_empty() {
                s.push_str(&format!("    arguments: {{ {} }}\n", args.join(", ")));
            }
        } else {
            for n in named {
                s.push_str(&format!("    {n}\n"));
            }
        }
    }
    s
}

fn compiled(text: &str) -> (Topology, Vec<String>) {
    let validation = validate_loaded(load_str("spec.yaml", text));
    let mut codes: Vec<String> = validation
        .diagnostics
        .iter()
        .map(|d| d.code.id.to_string())
        .collect();
    codes.sort();
    let topology = validation
        .topologies
        .into_iter()
        .next()
        .expect("a topology");
    (topology, codes)
}

/// The model as the broker sees it: what a definitions document holds.
fn broker_view(t: &Topology) -> serde_json::Value {
    let mut doc = to_definitions(t);
    doc.as_object_mut()
        .unwrap()
        .retain(|k, _| ["exchanges", "queues", "bindings", "policies"].contains(&k.as_str()));
    doc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Written both ways, a random topology compiles to one model and gets
    /// the same findings.
    #[test]
    fn named_and_raw_settings_compile_alike(shape in shape()) {
        let (named, named_codes) = compiled(&spec(&shape, false));
        let (raw, raw_codes) = compiled(&spec(&shape, true));
        prop_assert_eq!(serde_json::to_value(&named).unwrap(), serde_json::to_value(&raw).unwrap());
        prop_assert_eq!(named_codes, raw_codes);
        // Every route agrees, alternate exchanges included.
        let (a, b) = (warren::routing::Router::new(&named), warren::routing::Router::new(&raw));
        for x in named.exchanges.keys() {
            for key in ["k", "other"] {
                let none = warren::routing::Headers::new();
                prop_assert_eq!(
                    a.route(x, key, &none).map(|r| r.queues),
                    b.route(x, key, &none).map(|r| r.queues)
                );
            }
        }
    }

    /// spec -> definitions -> import gives back the same model.
    #[test]
    fn definitions_round_trip_keeps_the_model(shape in shape(), raw in any::<bool>()) {
        let (topology, _) = compiled(&spec(&shape, raw));
        let imported = from_definitions(&to_definitions(&topology), "v").unwrap();
        let back = imported.topologies.into_iter().find(|t| t.vhost == "v").unwrap();
        prop_assert_eq!(broker_view(&back), broker_view(&topology));
        prop_assert_eq!(&back.exchanges, &{
            let mut x = topology.exchanges.clone();
            for e in x.values_mut() { e.origin = Default::default(); }
            x
        });
    }
}

#[test]
fn a_raw_alternate_exchange_routes_to_its_queues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ae.yaml");
    std::fs::write(
        &path,
        "version: 1\nexchanges:\n  events:\n    type: direct\n    arguments: { alternate-exchange: spill }\n  spill: { type: fanout }\nqueues:\n  unrouted: { external: true, bindings: [{ exchange: spill }] }\nservices:\n  api:\n    emits: [{ exchange: events, keys: [nobody.binds.this] }]\n",
    )
    .unwrap();
    // No W304: the broker routes the event to `spill`.
    Warren::new()
        .args(["validate", "--deny-warnings"])
        .arg_path(&path)
        .success();
    let ran = Warren::new()
        .args(["route"])
        .arg_path(&path)
        .args(["--exchange", "events", "--key", "nobody.binds.this"])
        .success();
    ran.stdout_has("queues: unrouted");
    ran.stdout_has("alternate exchange spill");
}
