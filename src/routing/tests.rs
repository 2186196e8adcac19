use super::*;
use crate::spec::load_str;
use crate::topology::compile::compile;
use serde_json::json;

fn m(p: &str, k: &str) -> bool {
    topic_matches(p, k)
}

#[test]
fn topic_literal_words() {
    assert!(m("a.b", "a.b"));
    assert!(!m("a.b", "a.c"));
    assert!(!m("a.b", "a.b.c"));
    assert!(!m("a.b.c", "a.b"));
}

#[test]
fn topic_star_matches_exactly_one_word() {
    assert!(m("a.*", "a.b"));
    assert!(!m("a.*", "a"));
    assert!(!m("a.*", "a.b.c"));
    assert!(m("*.b", "a.b"));
    assert!(m("*", "a"));
    // `*` does not match empty input (zero words)...
    assert!(!m("*", ""));
    // ...but does match one empty word.
    assert!(m("a.*.c", "a..c"));
}

#[test]
fn topic_hash_matches_zero_or_more_words() {
    assert!(m("#", ""));
    assert!(m("#", "a"));
    assert!(m("#", "a.b.c"));
    assert!(m("a.#", "a"));
    assert!(m("a.#", "a.b"));
    assert!(m("a.#", "a.b.c"));
    assert!(!m("a.#", "b.a"));
    assert!(m("#.c", "c"));
    assert!(m("#.c", "a.b.c"));
    assert!(m("a.#.c", "a.c"));
    assert!(m("a.#.c", "a.b.b.c"));
    assert!(!m("a.#.c", "a.b.d"));
    assert!(m("#.#", ""));
    assert!(m("#.*", "a"));
    assert!(!m("#.*", ""));
    assert!(m("*.#", "a"));
    assert!(m("*.#.*", "a.b"));
    assert!(!m("*.#.*", "a"));
}

#[test]
fn topic_wildcards_inside_words_are_literal() {
    assert!(!m("a*", "ab"));
    assert!(m("a*", "a*"));
    assert!(!m("a.b#", "a.bc"));
    assert!(m("a.b#", "a.b#"));
}

#[test]
fn topic_empty_pattern_and_key() {
    assert!(m("", ""));
    assert!(!m("", "a"));
    assert!(!m("a", ""));
    assert!(m(".", "."));
    assert!(m("*.*", "."));
    assert!(!m("*", "."));
}

fn args(v: serde_json::Value) -> BTreeMap<String, Value> {
    serde_json::from_value(v).unwrap()
}

#[test]
fn headers_all_and_any() {
    let h: Headers = args(json!({"format": "pdf", "type": "report", "x-extra": 1}));
    assert!(headers_match(
        &args(json!({"x-match": "all", "format": "pdf", "type": "report"})),
        &h
    ));
    assert!(!headers_match(
        &args(json!({"x-match": "all", "format": "pdf", "type": "log"})),
        &h
    ));
    assert!(headers_match(
        &args(json!({"x-match": "any", "format": "pdf", "type": "log"})),
        &h
    ));
    assert!(!headers_match(
        &args(json!({"x-match": "any", "format": "zip", "type": "log"})),
        &h
    ));
    // No x-match means all.
    assert!(headers_match(&args(json!({"format": "pdf"})), &h));
    // all with nothing to match matches everything; any matches nothing.
    assert!(headers_match(&args(json!({"x-match": "all"})), &h));
    assert!(!headers_match(&args(json!({"x-match": "any"})), &h));
}

#[test]
fn headers_with_x_modes_compare_x_arguments() {
    let h: Headers = args(json!({"x-tenant": "a"}));
    assert!(headers_match(
        &args(json!({"x-match": "all", "x-tenant": "b"})),
        &h
    ));
    assert!(!headers_match(
        &args(json!({"x-match": "all-with-x", "x-tenant": "b"})),
        &h
    ));
    assert!(headers_match(
        &args(json!({"x-match": "all-with-x", "x-tenant": "a"})),
        &h
    ));
    assert!(!headers_match(
        &args(json!({"x-match": "any", "x-tenant": "a"})),
        &h
    ));
    assert!(headers_match(
        &args(json!({"x-match": "any-with-x", "x-tenant": "a"})),
        &h
    ));
}

#[test]
fn headers_values_are_typed() {
    let h: Headers = args(json!({"n": 1, "s": "1", "f": 1.5, "b": true}));
    assert!(headers_match(&args(json!({"n": 1})), &h));
    assert!(!headers_match(&args(json!({"n": "1"})), &h));
    assert!(!headers_match(&args(json!({"s": 1})), &h));
    assert!(headers_match(&args(json!({"f": 1.5, "b": true})), &h));
    assert!(!headers_match(&args(json!({"b": "true"})), &h));
}

const TOPOLOGY: &str = r#"
version: 1
exchanges:
  events: { type: topic, alternate_exchange: unrouted }
  unrouted: { type: fanout }
  fan: { type: fanout }
  inner: { type: direct, internal: true }
  loop_a: { type: fanout }
  loop_b: { type: fanout }
queues:
  orders: { bindings: [{ exchange: events, key: "order.#" }] }
  created: { bindings: [{ exchange: events, key: order.created }] }
  lost: { bindings: [{ exchange: unrouted }] }
  fanned: { bindings: [{ exchange: fan }] }
  looped: { bindings: [{ exchange: loop_b }] }
  inside: { bindings: [{ exchange: inner, key: k }] }
bindings:
  - { exchange: events, to_exchange: fan, key: "*.shipped" }
  - { exchange: loop_a, to_exchange: loop_b }
  - { exchange: loop_b, to_exchange: loop_a }
  - { exchange: fan, to_exchange: inner }
"#;

fn route(exchange: &str, key: &str) -> Result<Route, RouteError> {
    let loaded = load_str("t.yaml", TOPOLOGY);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let (topologies, _) = compile(&loaded);
    let topology = &topologies[0];
    Router::new(topology).route(exchange, key, &Headers::new())
}

fn queues(r: &Route) -> Vec<&str> {
    r.queues.iter().map(String::as_str).collect()
}

#[test]
fn topic_bindings_deliver_once_per_queue() {
    let r = route("events", "order.created").unwrap();
    assert_eq!(queues(&r), ["created", "orders"]);
    assert!(!r.dropped());
}

#[test]
fn alternate_exchange_catches_unmatched() {
    let r = route("events", "user.signed_up").unwrap();
    assert_eq!(queues(&r), ["lost"]);
    assert!(r.hops.contains(&Hop::AlternateExchange {
        from: "events".into(),
        to: "unrouted".into()
    }));
}

#[test]
fn exchange_to_exchange_is_followed_and_reaches_internal_exchanges() {
    let r = route("events", "parcel.shipped").unwrap();
    // Matched by an exchange binding, so the alternate exchange is not used.
    assert_eq!(queues(&r), ["fanned"]);
    let r = route("events", "order.shipped").unwrap();
    assert_eq!(queues(&r), ["fanned", "orders"]);
}

#[test]
fn exchange_cycles_terminate() {
    let r = route("loop_a", "x").unwrap();
    assert_eq!(queues(&r), ["looped"]);
}

#[test]
fn default_exchange_routes_by_queue_name() {
    assert_eq!(queues(&route("", "orders").unwrap()), ["orders"]);
    assert!(route("", "nope").unwrap().dropped());
}

#[test]
fn publishing_to_internal_or_unknown_exchanges_fails() {
    assert_eq!(
        route("inner", "k"),
        Err(RouteError::InternalExchange("inner".into()))
    );
    assert_eq!(
        route("nope", "k"),
        Err(RouteError::UnknownExchange("nope".into()))
    );
}

mod trie {
    use proptest::prelude::*;

    use crate::routing::{Headers, Router, topic_matches};
    use crate::topology::{
        Binding, DestinationType, Exchange, ExchangeType, Origin, Queue, QueueType, Topology,
    };

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("*".to_string()),
            Just("#".to_string()),
            Just("a".to_string()),
            Just("b".to_string()),
            Just("".to_string()),
            Just("a*".to_string()),
        ]
    }

    fn key(words: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        prop::collection::vec(words, 0..5).prop_map(|w| w.join("."))
    }

    proptest! {
        /// The router's trie matches exactly the bindings the word-by-word
        /// definition of topic matching accepts, in topology order.
        #[test]
        fn trie_routes_as_topic_matching_says(
            patterns in prop::collection::vec(key(word()), 1..12),
            message in key(prop_oneof![Just("a".to_string()), Just("b".to_string()), Just("".to_string()), Just("a*".to_string())]),
        ) {
            let mut t = Topology { vhost: "v".into(), ..Topology::default() };
            t.exchanges.insert("x".into(), Exchange::new("x", ExchangeType::Topic, Origin::default()));
            for (i, p) in patterns.iter().enumerate() {
                let q = format!("q{i}");
                t.queues.insert(q.clone(), Queue::new(&q, QueueType::Classic, Origin::default()));
                t.bindings.push(Binding {
                    source: "x".into(),
                    destination: q,
                    destination_type: DestinationType::Queue,
                    routing_key: p.clone(),
                    arguments: Default::default(),
                    origin: Origin::default(),
                });
            }
            let route = Router::new(&t).route("x", &message, &Headers::new()).unwrap();
            let expected: Vec<String> = patterns
                .iter()
                .enumerate()
                .filter(|(_, p)| topic_matches(p, &message))
                .map(|(i, _)| format!("q{i}"))
                .collect();
            let got: Vec<String> = route.hops.iter().map(|h| match h {
                crate::routing::Hop::Binding { destination, .. } => destination.clone(),
                other => panic!("unexpected hop {other:?}"),
            }).collect();
            prop_assert_eq!(got, expected);
        }
    }

    /// Up to five exchanges of every kind, with alternate exchanges and
    /// bindings to queues and exchanges between them, some looping.
    fn topology() -> impl Strategy<Value = Topology> {
        let kind = prop_oneof![
            Just(ExchangeType::Direct),
            Just(ExchangeType::Topic),
            Just(ExchangeType::Fanout),
            Just(ExchangeType::Headers),
        ];
        let exchanges = prop::collection::vec((kind, prop::option::of(0usize..5)), 1..5);
        let bindings = prop::collection::vec(
            (
                0usize..5,
                0usize..8,
                any::<bool>(),
                key(word()),
                any::<bool>(),
            ),
            0..24,
        );
        (exchanges, bindings).prop_map(|(exchanges, bindings)| {
            let mut t = Topology {
                vhost: "v".into(),
                ..Topology::default()
            };
            let n = exchanges.len();
            for (i, (kind, alternate)) in exchanges.into_iter().enumerate() {
                let mut x = Exchange::new(format!("x{i}"), kind, Origin::default());
                x.alternate_exchange = alternate.map(|a| format!("x{}", a % n));
                t.exchanges.insert(x.name.clone(), x);
            }
            for q in 0..6 {
                let q = format!("q{q}");
                t.queues.insert(
                    q.clone(),
                    Queue::new(&q, QueueType::Classic, Origin::default()),
                );
            }
            for (source, destination, to_queue, key, header) in bindings {
                let (destination, destination_type) = if to_queue {
                    // q6 and q7 are missing from the topology.
                    (format!("q{destination}"), DestinationType::Queue)
                } else {
                    (format!("x{}", destination % n), DestinationType::Exchange)
                };
                let mut arguments = std::collections::BTreeMap::new();
                if header {
                    arguments.insert("h".to_string(), serde_json::json!("a"));
                }
                t.bindings.push(Binding {
                    source: format!("x{}", source % n),
                    destination,
                    destination_type,
                    routing_key: key,
                    arguments,
                    origin: Origin::default(),
                });
            }
            t
        })
    }

    proptest! {
        /// The groups a message reaches hold exactly the queues its route
        /// does, each group once, whatever the exchanges and their loops.
        #[test]
        fn groups_reach_the_queues_the_route_does(
            t in topology(),
            start in 0usize..5,
            message in key(prop_oneof![Just("a".to_string()), Just("b".to_string()), Just("".to_string())]),
            header in any::<bool>(),
        ) {
            let router = Router::new(&t);
            let exchange = format!("x{}", start % t.exchanges.len());
            let mut headers = Headers::new();
            if header {
                headers.insert("h".into(), serde_json::json!("a"));
            }
            let route = router.reach(&exchange, &message, &headers).unwrap();
            let groups = router.reach_groups(&exchange, &message, &headers).unwrap();
            let reached: std::collections::BTreeSet<&str> = groups
                .iter()
                .flat_map(|g| g.queues())
                .filter(|q| t.queues.contains_key(*q))
                .collect();
            prop_assert_eq!(&reached, &route.queues);
            prop_assert_eq!(router.delivers(&exchange, &message, &headers).unwrap(), !route.dropped());
            let ids: std::collections::HashSet<_> = groups.iter().map(|g| g.id()).collect();
            prop_assert_eq!(ids.len(), groups.len());
        }
    }
}
