//! Scalars in the schema as warren reads them.

/// How warren reads a YAML scalar, in the schema's terms, so that editors
/// and `warren validate` accept the same files (docs/spec.md, "Scalars"):
/// a number or boolean may be quoted (`"10"`, `"true"`), and a plain text
/// field (a name, a routing key, a vhost) takes a number or boolean as its
/// text (`key: 42`). Fields with a format of their own (durations, enums)
/// stay as they are: warren refuses `message_ttl: 10` and `type: 42`.
pub(super) fn as_warren_reads_them(schema: &mut serde_json::Value) {
    use serde_json::{Value, json};
    match schema {
        Value::Object(map) => {
            let types: Vec<String> = match map.get("type") {
                Some(Value::String(t)) => vec![t.clone()],
                Some(Value::Array(ts)) => ts
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            let has = |t: &str| types.iter().any(|x| x == t);
            let plain_string = has("string")
                && !map.contains_key("pattern")
                && !map.contains_key("enum")
                && !map.contains_key("format")
                && !map.contains_key("const");
            let mut add: Vec<&str> = Vec::new();
            if has("integer") && !has("string") {
                add.push("string");
                map.insert(
                    "pattern".into(),
                    json!("^[+-]?(0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+)$"),
                );
                map.insert(
                    "patternErrorMessage".into(),
                    json!("expected a whole number"),
                );
            } else if has("boolean") && !has("string") {
                add.push("string");
                map.insert(
                    "pattern".into(),
                    json!("^(true|True|TRUE|false|False|FALSE)$"),
                );
                map.insert(
                    "patternErrorMessage".into(),
                    json!("expected true or false (yes, no, on and off are not booleans here)"),
                );
            } else if plain_string {
                add.extend(["number", "boolean"]);
            }
            if !add.is_empty() {
                let mut all = types.clone();
                all.extend(add.iter().map(|t| t.to_string()));
                map.insert("type".into(), json!(all));
            }
            for v in map.values_mut() {
                as_warren_reads_them(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(as_warren_reads_them),
        _ => {}
    }
}
