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
