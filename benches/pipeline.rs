//! Criterion benchmarks of the pure pipeline on a generated 10,000-queue
//! topology: load (the baseline every other step adds to), compile and
//! check, routing, and diffing two equal topologies.
//!
//! `cargo bench --bench pipeline`

use std::fmt::Write;

use criterion::{Criterion, criterion_group, criterion_main};
use warren::plan::{Options, diff};
use warren::routing::{Headers, Router};
use warren::spec::load_str;
use warren::topology::compile::compile;

/// The same shape as bench/gen_topology.py: 100 topic exchanges, 10,000
/// queues with two bindings each, 100 producing services.
fn spec() -> String {
    let mut s =
        String::from("version: 1\nvhost: bench\ndefaults:\n  queue_type: quorum\nexchanges:\n");
    for x in 0..100 {
        let _ = writeln!(s, "  events.{x}: {{ type: topic }}");
    }
    s.push_str("queues:\n");
    for q in 0..10_000 {
        let x = q % 100;
        let _ = writeln!(
            s,
            "  q.{q}:\n    external: true\n    bindings:\n      - {{ exchange: events.{x}, key: \"entity{q}.created\" }}\n      - {{ exchange: events.{x}, key: \"entity{q}.*.updated\" }}"
        );
    }
    s.push_str("services:\n");
    for p in 0..100 {
        let _ = writeln!(
            s,
            "  producer{p}:\n    emits: [{{ exchange: events.{p}, keys: [entity{p}.created] }}]"
        );
    }
    s
}

fn pipeline(c: &mut Criterion) {
    let text = spec();
    let mut group = c.benchmark_group("10k queues");
    group.sample_size(10);
    group.bench_function("load (baseline)", |b| {
        b.iter(|| load_str("bench.yaml", &text))
    });
    group.bench_function("load + compile + check", |b| {
        b.iter(|| warren::validate::validate_loaded(load_str("bench.yaml", &text)))
    });
    let loaded = load_str("bench.yaml", &text);
    let topology = compile(&loaded).0.remove(0);
    group.bench_function("compile + check", |b| {
        b.iter(|| {
            let (topologies, _) = compile(&loaded);
            warren::check::check(&topologies[0])
        })
    });
    group.bench_function("diff equal topologies", |b| {
        b.iter(|| {
            diff(
                &topology,
                &topology,
                &Options {
                    prune: true,
                    ..Options::default()
                },
            )
        })
    });
    let router = Router::new(&topology);
    let none = Headers::new();
    group.bench_function("route 1,000 keys", |b| {
        b.iter(|| {
            (0..1_000)
                .map(|i| {
                    router
                        .route(
                            &format!("events.{}", i % 100),
                            &format!("entity{i}.x.updated"),
                            &none,
                        )
                        .map(|r| r.queues.len())
                })
                .count()
        })
    });
    group.finish();
}

/// `n` services on one topic exchange, each consuming one key, emitting
/// the next service's key, with a retry chain and a user of its own: the
/// shape whose validation grew with the cube of `n` before the router
/// indexed its bindings. `dense`: each consumes `k.#` instead, so that
/// every event reaches every service (n² service pairs, one loop).
fn services_spec(n: usize, dense: bool) -> String {
    let mut s = String::from(
        "version: 1\nvhost: bench\nexchanges:\n  events: { type: topic }\nservices:\n",
    );
    for i in 0..n {
        let consumed = if dense {
            "k.#".to_string()
        } else {
            format!("k.{i}.*")
        };
        let _ = writeln!(
            s,
            "  s{i}:\n    consumes: {{ exchange: events, keys: [\"{consumed}\"] }}\n    emits: [{{ exchange: events, keys: [k.{}.done] }}]\n    retry: {{ delays: [5s] }}\n    user: u{i}",
            (i + 1) % n
        );
    }
    s.push_str("users:\n");
    for i in 0..n {
        let _ = writeln!(s, "  u{i}: {{ password_env: PW_{i} }}");
    }
    s
}

/// Validation time per service should stay flat as services grow.
fn services(c: &mut Criterion) {
    let mut group = c.benchmark_group("services");
    group.sample_size(10);
    for (shape, dense) in [("", false), (" dense", true)] {
        for n in [1_000, 2_000, 4_000] {
            let text = services_spec(n, dense);
            group.bench_function(format!("load{shape} {n} (baseline)"), |b| {
                b.iter(|| load_str("bench.yaml", &text))
            });
            group.bench_function(format!("validate{shape} {n}"), |b| {
                b.iter(|| warren::validate::validate_loaded(load_str("bench.yaml", &text)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, pipeline, services);
criterion_main!(benches);
