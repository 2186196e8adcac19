//! Replays the inputs kept from fuzzing (tests/fuzz/TARGET/) through the
//! same steps as the fuzz targets in fuzz/fuzz_targets: what once crashed
//! warren stays fixed. `bash scripts/fuzz.sh` runs the fuzzers themselves.

use std::path::Path;

fn inputs(target: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new("tests/fuzz").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

use warren::fuzzing::{definitions, spec};

#[test]
fn kept_fuzz_inputs_still_pass() {
    let spec_inputs = inputs("spec");
    let definition_inputs = inputs("definitions");
    assert!(!spec_inputs.is_empty() && !definition_inputs.is_empty());
    for path in spec_inputs {
        spec(&std::fs::read(&path).unwrap());
    }
    for path in definition_inputs {
        definitions(&std::fs::read(&path).unwrap());
    }
}

/// The fuzzers' seeds, through the same steps: every broken spec and every
/// corpus export.
#[test]
fn fuzz_seeds_pass_the_fuzz_steps() {
    for entry in std::fs::read_dir("tests/broken").unwrap() {
        spec(&std::fs::read(entry.unwrap().path()).unwrap());
    }
    for entry in std::fs::read_dir("tests/corpus/definitions").unwrap() {
        definitions(&std::fs::read(entry.unwrap().path()).unwrap());
    }
}
