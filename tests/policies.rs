//! Which policy a queue gets, decided as the broker decides it (the
//! differential test in tests/broker/policies.rs holds warren to that).

use warren::spec::load_str;
use warren::validate::validate_loaded;

fn codes(text: &str) -> Vec<&'static str> {
    let v = validate_loaded(load_str("p.yaml", text));
    v.diagnostics.iter().map(|d| d.code.id).collect()
}

const CLASSIC: &str = "version: 1\nexchanges:\n  x: { type: fanout }\nqueues:\n  c1: { external: true, bindings: [{ exchange: x }] }\n";

#[test]
fn a_policy_with_a_key_the_queue_type_lacks_is_passed_over() {
    // The broker applies `lo` to classic queue c1: `hi` sets delivery-limit,
    // which classic queues do not support, so `hi` does not apply at all
    // and its TTL never takes effect (no W402 about it).
    let spec = format!(
        "{CLASSIC}policies:\n  hi: {{ pattern: '^c', priority: 5, definition: {{ message-ttl: 1000, delivery-limit: 3 }} }}\n  lo: {{ pattern: '^c', priority: 1, definition: {{ max-length: 10 }} }}\n"
    );
    let found = codes(&spec);
    assert!(found.contains(&"W503"), "{found:?}");
    assert!(!found.contains(&"W501"), "only lo applies: {found:?}");
    let v = validate_loaded(load_str("p.yaml", &spec));
    let w503 = v.diagnostics.iter().find(|d| d.code.id == "W503").unwrap();
    assert!(
        w503.message.contains("policy \"lo\" applies instead"),
        "{}",
        w503.message
    );
}

#[test]
fn two_passed_over_policies_are_no_tie() {
    let spec = format!(
        "{CLASSIC}policies:\n  a: {{ pattern: '^c', priority: 5, definition: {{ delivery-limit: 3 }} }}\n  b: {{ pattern: '^c', priority: 5, definition: {{ max-age: 1D }} }}\n"
    );
    let found = codes(&spec);
    assert!(!found.contains(&"E502"), "{found:?}");
}

#[test]
fn patterns_are_read_as_pcre() {
    // Look-ahead and back-references are normal in real deployments.
    let spec = format!(
        "{CLASSIC}policies:\n  not-amq: {{ pattern: '^(?!amq\\.)', definition: {{ max-length: 10 }} }}\n  twice: {{ pattern: '^(c)\\1$', definition: {{ max-length: 5 }} }}\n"
    );
    let found = codes(&spec);
    assert!(!found.contains(&"E009"), "{found:?}");
    let broken = format!(
        "{CLASSIC}policies:\n  bad: {{ pattern: '^(c', definition: {{ max-length: 5 }} }}\n"
    );
    assert!(codes(&broken).contains(&"E009"));
}
