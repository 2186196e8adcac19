//! Definitions import and export on the corpus in tests/corpus/definitions:
//! every file imports, the spec written for it validates, and that spec
//! compiles back to the same definitions.

use warren::definitions::{from_definitions, to_definitions};
use warren::diagnostic::Severity;
use warren::spec::{load_str, to_spec_yaml};
use warren::validate::validate_loaded;

use crate::support::corpus;

/// The broker-visible part of a topology, in a comparable form.
fn broker_view(t: &warren::topology::Topology) -> serde_json::Value {
    to_definitions(t)
}

#[test]
fn corpus_imports_validates_and_round_trips() {
    let mut vhosts = 0;
    for path in corpus() {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let imported =
            from_definitions(&doc, "/").unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for topology in &imported.topologies {
            vhosts += 1;
            let yaml = to_spec_yaml(topology).unwrap();
            let validation = validate_loaded(load_str("imported.yaml", &yaml));
            let errors: Vec<_> = validation
                .diagnostics
                .iter()
                .filter(|d| d.severity() == Severity::Error && d.code.id == "E001")
                .collect();
            assert!(
                errors.is_empty(),
                "{} vhost {:?}: spec does not load: {errors:?}\n{yaml}",
                path.display(),
                topology.vhost
            );
            let back = &validation.topologies[0];
            assert_eq!(
                broker_view(back),
                broker_view(topology),
                "{} vhost {:?} does not round-trip\n{yaml}",
                path.display(),
                topology.vhost
            );
        }
    }
    assert!(vhosts >= 25);
}

#[test]
fn unsupported_objects_are_reported() {
    let text =
        std::fs::read_to_string("tests/corpus/definitions/04-sda-streams-shovels.json").unwrap();
    let imported = from_definitions(&serde_json::from_str(&text).unwrap(), "/").unwrap();
    assert!(
        imported
            .unsupported
            .iter()
            .any(|u| u.contains("runtime parameter shovel/")),
        "{:?}",
        imported.unsupported
    );
}

#[test]
fn a_one_vhost_export_of_3_10_keeps_its_policies_in_its_vhost() {
    // GET /api/definitions/dbg on RabbitMQ 3.10.8: the queues carry no
    // vhost, the policies still do.
    let doc = serde_json::json!({
        "rabbit_version": "3.10.8",
        "parameters": [],
        "policies": [{"vhost": "dbg", "name": "p1", "pattern": "^q$", "apply-to": "queues",
                      "definition": {"max-length": 5}, "priority": 0}],
        "queues": [{"name": "q", "durable": true, "auto_delete": false, "arguments": {}}],
        "exchanges": [],
        "bindings": []
    });
    let imported = from_definitions(&doc, "shop").unwrap();
    assert_eq!(imported.topologies.len(), 1);
    let t = &imported.topologies[0];
    assert_eq!(t.vhost, "shop");
    assert!(t.queues.contains_key("q") && t.policies.contains_key("p1"));
}
