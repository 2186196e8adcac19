//! Random specs through the whole round on the release under test: apply
//! (pruning), plan is empty, export, and the exported spec plans empty
//! too. The specs mix what differs between releases: the three queue
//! types with their own arguments, internal exchanges, exchange-to-
//! exchange bindings, policies, and vhost metadata (with a default queue
//! type where the release keeps one). CI runs it on 3.10, 4.0 and 4.3;
//! each run prints how many specs it took through, and a failure names
//! its seed.

use std::fmt::Write;

use warren::vocabulary::Version;

use crate::support::Warren;
use crate::support::broker::TestVhost;
use crate::support::rng::Rng;

/// Specs per run; `WARREN_DIFFERENTIAL_CASES` asks for more.
const CASES: u64 = 16;
const FIRST_SEED: u64 = 0xd1ff_0001;

/// A random spec (without `version` and `vhost`), valid on `release`.
fn random_spec(rng: &mut Rng, vhost: &str, release: Version) -> String {
    let mut y = String::from("version: 1\n");
    // Vhost metadata; a default queue type only where the release keeps it.
    if rng.chance(50) {
        let _ = writeln!(y, "vhost:\n  name: {vhost:?}");
        if rng.chance(70) {
            let _ = writeln!(y, "  description: \"case {}\"", rng.below(1000));
        }
        if rng.chance(50) {
            let _ = writeln!(y, "  tags: [{}]", rng.pick(&["a", "a, b", "ops"]));
        }
        if release >= Version::new(3, 11) && rng.chance(50) {
            let _ = writeln!(
                y,
                "  default_queue_type: {}",
                rng.pick(&["classic", "quorum"])
            );
        }
    } else {
        let _ = writeln!(y, "vhost: {vhost:?}");
    }
    let exchanges: Vec<String> = (0..2 + rng.below(4)).map(|i| format!("x{i}")).collect();
    y.push_str("exchanges:\n");
    for (i, name) in exchanges.iter().enumerate() {
        let kind = rng.pick(&["direct", "fanout", "topic", "headers"]);
        let mut fields = vec![format!("type: {kind}")];
        // The first stays public: something must be publishable.
        if i > 0 && rng.chance(25) {
            fields.push("internal: true".into());
        }
        if rng.chance(20) {
            fields.push("durable: false".into());
        }
        if rng.chance(20) {
            fields.push(format!("alternate_exchange: {}", rng.pick(&exchanges)));
        }
        let _ = writeln!(y, "  {name}: {{ {} }}", fields.join(", "));
    }
    let queues: Vec<String> = (0..2 + rng.below(5)).map(|i| format!("q{i}")).collect();
    y.push_str("queues:\n");
    for name in &queues {
        let kind = *rng.pick(&["classic", "quorum", "stream", "untyped"]);
        let mut fields = Vec::new();
        if kind != "untyped" {
            fields.push(format!("type: {kind}"));
        }
        let mut options: Vec<String> = Vec::new();
        if kind != "stream" {
            options.push("max_length: 1000".into());
        }
        match kind {
            "stream" => {
                options.extend(["max_age: 1d".into(), "max_length_bytes: 100000000".into()])
            }
            "quorum" => options.extend([
                "delivery_limit: 5".into(),
                "message_ttl: 60s".into(),
                format!("dead_letter: {{ exchange: {} }}", rng.pick(&exchanges)),
            ]),
            "classic" => options.extend([
                "max_priority: 5".into(),
                "message_ttl: 60s".into(),
                "expires: 1h".into(),
                "overflow: reject-publish".into(),
                format!(
                    "dead_letter: {{ exchange: {}, routing_key: dead }}",
                    rng.pick(&exchanges)
                ),
            ]),
            // Its type comes from the vhost: only what every type takes.
            _ => {}
        }
        for option in options {
            if rng.chance(30) {
                fields.push(option);
            }
        }
        let bindings: Vec<String> = (0..rng.below(3))
            .map(|_| {
                format!(
                    "{{ exchange: {}, key: {} }}",
                    rng.pick(&exchanges),
                    rng.pick(&["a", "a.b", "\"#\"", "\"*.b\""])
                )
            })
            .collect();
        if !bindings.is_empty() {
            fields.push(format!("bindings: [{}]", bindings.join(", ")));
        }
        fields.push("external: true".into());
        let _ = writeln!(y, "  {name}: {{ {} }}", fields.join(", "));
    }
    if rng.chance(50) {
        y.push_str("bindings:\n");
        for _ in 0..1 + rng.below(3) {
            let _ = writeln!(
                y,
                "  - {{ exchange: {}, to_exchange: {}, key: a }}",
                rng.pick(&exchanges),
                rng.pick(&exchanges)
            );
        }
    }
    if rng.chance(60) {
        y.push_str("policies:\n");
        for i in 0..1 + rng.below(2) {
            let (apply_to, definition) = *rng.pick(&[
                ("queues", "{ max-length: 500 }"),
                ("queues", "{ message-ttl: 30000 }"),
                ("exchanges", "{ alternate-exchange: x0 }"),
            ]);
            let _ = writeln!(
                y,
                "  p{i}: {{ pattern: \"^{}\", apply_to: {apply_to}, priority: {i}, definition: {definition} }}",
                rng.pick(&["q", "q1", "x", "x[12]"]),
            );
        }
    }
    y
}

fn plan_is_empty(spec: &std::path::Path, seed: u64, step: &str) {
    let ran = Warren::new()
        .args(["plan", "--prune", "--detailed-exitcode"])
        .arg_path(spec)
        .status_any();
    assert_eq!(
        ran.code,
        Some(0),
        "seed {seed:#x}, {step}: plan is not empty:\n{}\n{}\nspec:\n{}",
        ran.stdout,
        ran.stderr,
        std::fs::read_to_string(spec).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_specs_apply_plan_empty_export_and_plan_empty_again() {
    needs_broker!();
    let dir = tempfile::tempdir().unwrap();
    let release = crate::support::broker::release().await;
    let cases = std::env::var("WARREN_DIFFERENTIAL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    for case in 0..cases {
        let seed = FIRST_SEED + case;
        let mut rng = Rng(seed);
        let vhost = TestVhost::new("round").await;
        let spec = dir.path().join(format!("spec-{case}.yaml"));
        std::fs::write(&spec, random_spec(&mut rng, &vhost.name, release)).unwrap();
        let applied = Warren::new()
            .args(["apply", "--yes", "--prune"])
            .arg_path(&spec)
            .status_any();
        assert_eq!(
            applied.code,
            Some(0),
            "seed {seed:#x}: apply failed:\n{}\n{}\nspec:\n{}",
            applied.stdout,
            applied.stderr,
            std::fs::read_to_string(&spec).unwrap()
        );
        plan_is_empty(&spec, seed, "after apply");
        let exported = dir.path().join(format!("exported-{case}.yaml"));
        Warren::new()
            .args(["export", "--vhost", &vhost.name, "--out"])
            .arg_path(&exported)
            .success();
        plan_is_empty(&exported, seed, "the exported spec");
    }
    eprintln!(
        "{cases} random specs applied, planned empty, exported and planned empty on RabbitMQ {release}"
    );
}
