//! Definitions import on arbitrary JSON: read, write back as a spec, and
//! validate what was written. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(imported) = warren::definitions::from_definitions(&doc, "/") else {
        return;
    };
    for topology in &imported.topologies {
        if let Ok(yaml) = warren::spec::to_spec_yaml(topology) {
            let _ = warren::validate::validate_loaded(warren::spec::load_str("import.yaml", &yaml));
        }
        let _ = warren::definitions::to_definitions(topology);
    }
});
