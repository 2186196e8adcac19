//! The spec pipeline on arbitrary bytes: load, compile, check, and the
//! human rendering of whatever diagnostics come out. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let validation = warren::validate::validate_loaded(warren::spec::load_str("fuzz.yaml", text));
    let _ = warren::cli::render_human(&validation.diagnostics, &validation.sources, false);
    for topology in &validation.topologies {
        let _ = warren::spec::to_spec_yaml(topology);
        let _ = warren::definitions::to_definitions(topology);
    }
});
