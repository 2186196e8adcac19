//! The corpus of broken specs in tests/broken/: one mistake per file, named
//! after the code it must produce. Each file's rendered diagnostics are an
//! insta snapshot; each file fails `validate --deny-warnings` with its code.

use std::path::{Path, PathBuf};

use warren::diagnostic::codes;
use warren::spec::load_paths;
use warren::validate::validate_loaded;

use crate::support::Warren;

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/broken")
        .expect("tests/broken exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn expected_code(path: &Path) -> &str {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 file name");
    name.split('-').next().expect("a code prefix")
}

#[test]
fn corpus_is_large_enough() {
    assert!(
        corpus().len() >= 40,
        "tests/broken holds {} specs",
        corpus().len()
    );
}

#[test]
fn every_code_has_a_broken_spec() {
    let corpus = corpus();
    // Need a live broker; covered by tests/broker/plan.rs and the unit
    // tests of check/cluster.rs.
    let live_only = [
        codes::LIVE_POLICY_CONFLICT.id,
        codes::SETTINGS_NOT_APPLIED.id,
        codes::OPEN_FILES_LOW.id,
    ];
    for code in codes::ALL.iter().filter(|c| !live_only.contains(&c.id)) {
        assert!(
            corpus.iter().any(|p| expected_code(p) == code.id),
            "no spec in tests/broken produces {code}"
        );
    }
}

#[test]
fn each_broken_spec_renders_its_diagnostic() {
    for path in corpus() {
        let loaded = load_paths(std::slice::from_ref(&path)).expect("readable");
        let validation = validate_loaded(loaded);
        let code = expected_code(&path);
        assert!(
            validation.diagnostics.iter().any(|d| d.code.id == code),
            "{} does not produce {code}: {:?}",
            path.display(),
            validation
                .diagnostics
                .iter()
                .map(|d| d.code.id)
                .collect::<Vec<_>>()
        );
        let rendered =
            warren::cli::render_human(&validation.diagnostics, &validation.sources, false);
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_string();
        insta::assert_snapshot!(name, rendered);
    }
}

#[test]
fn each_broken_spec_fails_with_file_line_and_column() {
    for path in corpus() {
        let ran = Warren::new()
            .args(["validate", "--deny-warnings", "--format", "json"])
            .arg_path(&path)
            .status(1);
        let items: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON output");
        let code = expected_code(&path);
        let found = items
            .as_array()
            .expect("an array")
            .iter()
            .find(|d| d["code"] == code)
            .unwrap_or_else(|| panic!("{} lacks {code}: {}", path.display(), ran.stdout));
        assert_eq!(found["file"], path.display().to_string());
        assert!(found["line"].as_u64().is_some_and(|l| l >= 1), "{found}");
        assert!(found["column"].as_u64().is_some_and(|c| c >= 1), "{found}");
        for key in ["severity", "message", "help", "name"] {
            assert!(found[key].is_string(), "{key} missing in {found}");
        }

        let human = Warren::new()
            .args(["validate", "--deny-warnings"])
            .arg_path(&path)
            .status(1);
        // miette names the file, line and column of each snippet it shows.
        let location = regex::Regex::new(&format!(
            r"\[{}:\d+:\d+\]",
            regex::escape(&path.display().to_string())
        ))
        .expect("a valid pattern");
        assert!(
            location.is_match(&human.stderr),
            "no file:line:column in\n{}",
            human.stderr
        );
    }
}
