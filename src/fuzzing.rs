//! The steps the fuzz targets (fuzz/fuzz_targets) drive with arbitrary
//! input, here so that tests/fuzz.rs replays kept inputs through exactly
//! the same code. Not part of warren's interface.

/// The spec pipeline: load, compile, check, render the diagnostics for
/// people, and write each topology back out.
pub fn spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let validation = crate::validate::validate_loaded(crate::spec::load_str("fuzz.yaml", text));
    #[cfg(feature = "cli")]
    let _ = crate::cli::render_human(&validation.diagnostics, &validation.sources, false);
    for topology in &validation.topologies {
        let _ = crate::spec::to_spec_yaml(topology);
        let _ = crate::definitions::to_definitions(topology);
    }
}

/// Definitions import, then the spec it writes, validated again.
pub fn definitions(data: &[u8]) {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(imported) = crate::definitions::from_definitions(&doc, "/") else {
        return;
    };
    for topology in &imported.topologies {
        if let Ok(yaml) = crate::spec::to_spec_yaml(topology) {
            let _ = crate::validate::validate_loaded(crate::spec::load_str("import.yaml", &yaml));
        }
        let _ = crate::definitions::to_definitions(topology);
    }
}
