//! The documents that promise things about the code.

#[test]
fn checks_md_documents_every_code() {
    let doc = std::fs::read_to_string("docs/checks.md").unwrap();
    for code in warren::diagnostic::codes::ALL {
        let heading = format!("\n## {} {}\n", code.id, code.name);
        assert!(
            doc.contains(&heading),
            "docs/checks.md lacks `{}`",
            heading.trim()
        );
    }
}

#[test]
fn readme_test_command_is_what_ci_runs() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let ci = std::fs::read_to_string(".ci/run").unwrap();
    assert!(readme.contains("bash scripts/test.sh"));
    assert!(ci.contains("scripts/test.sh"));
}

#[test]
fn readme_diagram_is_the_current_graph() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme.find("```mermaid\n").expect("a mermaid block") + "```mermaid\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let ran = crate::support::Warren::new()
        .args(["graph", "topologies/ecommerce.yaml"])
        .success();
    assert_eq!(
        &readme[start..end],
        ran.stdout,
        "README's diagram is stale: paste the output of `warren graph topologies/ecommerce.yaml`"
    );
}

/// docs/plan.md names every attribute a plan shows, in the normal form
/// (a raw `alternate-exchange` argument shows as `alternate_exchange`).
#[test]
fn plan_md_names_the_attributes_plans_show() {
    let doc = std::fs::read_to_string("docs/plan.md").unwrap();
    let spec = "version: 1\nexchanges:\n  x: { type: topic, internal: true, arguments: { alternate-exchange: y } }\n  y: { type: fanout }\nqueues:\n  q: { external: true, message_ttl: 5s, bindings: [{ exchange: y }] }\npolicies:\n  p: { pattern: '^q$', definition: { max-length: 5 } }\n";
    let validation = warren::validate::validate_loaded(warren::spec::load_str("s.yaml", spec));
    let desired = &validation.topologies[0];
    let empty = warren::topology::Topology {
        vhost: desired.vhost.clone(),
        ..Default::default()
    };
    let plan = warren::plan::diff(desired, &empty, &warren::plan::Options::default());
    let mut names = std::collections::BTreeSet::new();
    for change in &plan.changes {
        for attr in &change.attributes {
            let base = match attr.name.split_once('.') {
                Some((prefix, _)) => format!("{prefix}."),
                None => attr.name.clone(),
            };
            names.insert(base);
        }
    }
    assert!(names.contains("alternate_exchange"), "{names:?}");
    for name in names {
        assert!(
            doc.contains(&format!("`{name}")),
            "docs/plan.md does not name `{name}`"
        );
    }
}

/// docs/spec.md's queue table names every named field of the settings
/// table with its argument, on one line.
#[test]
fn spec_md_queue_table_matches_the_settings_table() {
    let doc = std::fs::read_to_string("docs/spec.md").unwrap();
    let section = |title: &str| {
        let start = doc.find(title).expect("the section");
        let rest = &doc[start + title.len()..];
        &rest[..rest.find("\n## ").unwrap_or(rest.len())]
    };
    for s in warren::vocabulary::SETTINGS {
        let (Some(field), Some(argument)) = (s.top_field(), s.argument) else {
            continue;
        };
        let table = match s.applies {
            warren::vocabulary::Applies::Exchanges => section("## Exchanges"),
            _ => section("## Queues"),
        };
        let row = format!("| `{field}` |");
        let line = table
            .lines()
            .find(|l| l.starts_with(&row))
            .unwrap_or_else(|| panic!("docs/spec.md has no row for `{field}`"));
        assert!(
            line.contains(&format!("`{argument}`")),
            "docs/spec.md's row for `{field}` does not name {argument}: {line}"
        );
    }
}
