//! schemas/warren.schema.json is generated; this keeps it in step.

#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string("schemas/warren.schema.json")
        .expect("schemas/warren.schema.json exists");
    let generated = warren::spec::schema::json();
    assert!(
        committed == generated,
        "schemas/warren.schema.json is stale or edited by hand: regenerate it with\n  cargo run -- schema > schemas/warren.schema.json"
    );
}

#[test]
fn schema_describes_the_top_level_fields() {
    let schema: serde_json::Value = serde_json::from_str(&warren::spec::schema::json()).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    for field in [
        "version",
        "vhost",
        "defaults",
        "exchanges",
        "queues",
        "bindings",
        "policies",
        "services",
        "users",
        "ignore",
    ] {
        assert!(properties.contains_key(field), "{field}");
    }
    assert_eq!(schema["additionalProperties"], false);
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .contains(&"version".into())
    );
}

/// The committed schema accepts every bundled topology and the plan
/// fixtures, and rejects a spec with an unknown field: editors that use it
/// agree with warren.
#[test]
fn schema_accepts_valid_specs_and_rejects_unknown_fields() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/warren.schema.json").unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let mut specs: Vec<std::path::PathBuf> = ["topologies", "tests/fixtures/plan"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 5);
    for path in specs {
        let doc: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
    let unknown: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string("tests/broken/E001-unknown-field.yaml").unwrap(),
    )
    .unwrap();
    assert!(!validator.is_valid(&unknown));
    let bad_duration: serde_json::Value =
        serde_json::json!({"version": 1, "queues": {"q": {"message_ttl": "5 minutes"}}});
    assert!(!validator.is_valid(&bad_duration));
}

/// The binary and the schema give one answer on scalars: quoted numbers and
/// booleans, and numbers or booleans in text fields, are accepted by both;
/// a bare number as a duration and a quoted word as a number by neither.
#[test]
fn schema_and_binary_agree_on_scalars() {
    let schema: serde_json::Value = serde_json::from_str(&warren::spec::schema::json()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let accepted = [
        "version: 1\nvhost: 2024\n",
        "version: 1\nvhost: true\n",
        "version: 1\nqueues:\n  q: { external: true, max_length: \"10\", durable: \"true\" }\n",
        "version: 1\nexchanges:\n  x: { type: direct }\nqueues:\n  q: { external: true, bindings: [{ exchange: x, key: 42 }] }\n",
    ];
    let refused = [
        "version: 1\nqueues:\n  q: { external: true, message_ttl: 10 }\n",
        "version: 1\nqueues:\n  q: { external: true, max_length: \"ten\" }\n",
        "version: 1\nqueues:\n  q: { external: true, durable: \"yes\" }\n",
    ];
    for (text, ok) in accepted
        .iter()
        .map(|t| (t, true))
        .chain(refused.iter().map(|t| (t, false)))
    {
        let loaded = warren::spec::load_str("s.yaml", text);
        let binary_ok = loaded.diagnostics.is_empty();
        let doc: serde_json::Value = serde_saphyr::from_str(text).unwrap();
        let schema_ok = validator.is_valid(&doc);
        assert_eq!(binary_ok, ok, "binary on {text}: {:?}", loaded.diagnostics);
        assert_eq!(schema_ok, ok, "schema on {text}");
    }
}

/// What an editor shows from the schema: every property has a title and a
/// Markdown description on one line per paragraph, and no Rust type name
/// appears anywhere a person can see it. (`scripts/editor-check.py` checks
/// the same through yaml-language-server.)
#[test]
fn schema_documents_every_property_in_plain_words() {
    fn walk(value: &serde_json::Value, path: &str, problems: &mut Vec<String>) {
        let rust =
            regex::Regex::new(r"[A-Z][a-z]+Spec\b|OneOrMany|Spanned|\bu64\b|\bu32\b").unwrap();

        match value {
            serde_json::Value::Object(map) => {
                // Rules (if/then, dependentSchemas) constrain; they are not shown.
                let rule = ["allOf", "/if", "/then", "dependentSchemas"]
                    .iter()
                    .any(|k| path.contains(k));
                if let (false, Some(serde_json::Value::Object(props))) =
                    (rule, map.get("properties"))
                {
                    for (name, property) in props {
                        let at = format!("{path}.{name}");
                        let has = |k: &str| property.get(k).is_some_and(|v| v.is_string());
                        // `version` is a constant; its text is on the property.
                        if !has("title") || !has("markdownDescription") {
                            problems.push(format!("{at} lacks a title or markdownDescription"));
                        }
                    }
                }
                for (key, child) in map {
                    if let serde_json::Value::String(text) = child {
                        let shown = [
                            "title",
                            "description",
                            "markdownDescription",
                            "errorMessage",
                            "patternErrorMessage",
                        ];
                        if shown.contains(&key.as_str()) {
                            if rust.is_match(text) {
                                problems.push(format!("{path}.{key} names a Rust type: {text}"));
                            }
                            if text.split("\n\n").any(|p| p.contains('\n')) {
                                problems.push(format!("{path}.{key} is hard-wrapped: {text:?}"));
                            }
                        }
                    }
                    walk(child, &format!("{path}/{key}"), problems);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), problems);
                }
            }
            _ => {}
        }
    }
    let schema: serde_json::Value = serde_json::from_str(&warren::spec::schema::json()).unwrap();
    let mut problems = Vec::new();
    walk(&schema, "", &mut problems);
    for name in schema["$defs"].as_object().unwrap().keys() {
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "definition {name} is not named for people"
        );
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
