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
