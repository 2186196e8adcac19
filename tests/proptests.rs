//! Properties of the loader: no input makes it panic.

use proptest::prelude::*;
use warren::spec::load_str;
use warren::validate::validate_loaded;

/// Fragments that make plausible, often broken, specs.
fn yamlish() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("version: 1\n".to_string()),
        Just("exchanges:\n  e: { type: topic }\n".to_string()),
        Just(
            "queues:\n  q: { type: quorum, bindings: [{ exchange: e, key: 'a.#' }] }\n".to_string()
        ),
        Just(
            "services:\n  s: { consumes: { exchange: e, keys: [a] }, retry: { delays: [1s] } }\n"
                .to_string()
        ),
        Just("policies:\n  p: { pattern: '.*', definition: { max-length: 1 } }\n".to_string()),
        Just("  - &a [*a]\n".to_string()),
        Just("x: &x { <<: *x }\n".to_string()),
        Just(": : :\n".to_string()),
        Just("\t".to_string()),
        Just("'".to_string()),
        Just("{".to_string()),
        Just("é\u{feff}".to_string()),
        "[a-z:{}\\[\\], \n'\"&*#-]{0,20}",
    ];
    prop::collection::vec(fragment, 0..8).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let validation = validate_loaded(load_str("fuzz.yaml", &text));
        let _ = warren::cli::render_human(&validation.diagnostics, &validation.sources, false);
    }

    #[test]
    fn yaml_like_text_never_panics(text in yamlish()) {
        let validation = validate_loaded(load_str("fuzz.yaml", &text));
        let _ = warren::cli::render_human(&validation.diagnostics, &validation.sources, false);
    }

    #[test]
    fn durations_print_back_to_what_parses(millis in 0u64..10_000_000_000) {
        let d = warren::spec::Duration::from_millis(millis);
        prop_assert_eq!(warren::spec::Duration::parse(&d.to_string()), Ok(d));
    }
}
