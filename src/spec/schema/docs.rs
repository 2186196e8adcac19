//! What an editor shows: a title and a readable description on every
//! property and definition, descriptions for enum values, and definition
//! names a person reads ("queue", not the Rust type behind it).
//!
//! The text itself comes from the doc comments on the spec types; this pass
//! only reshapes it: doc comments are wrapped at 80 columns, editors show
//! each line break, and Markdown (backticks) renders only from
//! `markdownDescription`.

use serde_json::{Map, Value, json};

pub(super) fn add(schema: &mut Value) {
    schema["title"] = json!("warren spec");
    rename_definitions(schema);
    own_definitions(schema);
    describe(schema, None, false);
}

/// Keywords whose subschemas are rules (`rules.rs`), not documentation:
/// they get no titles, or a hover would show them.
const RULES: [&str; 6] = ["allOf", "if", "then", "else", "dependentSchemas", "not"];

/// Editors merge the text beside a `$ref` into the definition itself, so a
/// definition shared by a map and a field (`queues:` entries and
/// `queue_settings:` both use `queue`) would show the field's title on
/// every map entry. Such a field gets a copy of the definition of its own.
fn own_definitions(schema: &mut Value) {
    let text = schema.to_string();
    let uses = |name: &str| text.matches(&format!("\"#/$defs/{name}\"")).count();
    let mut copies: Vec<(String, String)> = Vec::new();
    let Some(defs) = schema.get("$defs").and_then(Value::as_object) else {
        return;
    };
    for def in defs.values() {
        let Some(Value::Object(props)) = def.get("properties") else {
            continue;
        };
        for (field, property) in props {
            let Some(Value::Array(branches)) = property.get("anyOf") else {
                continue;
            };
            for target in branches
                .iter()
                .filter_map(|b| b.get("$ref").and_then(Value::as_str))
                .filter_map(|r| r.strip_prefix("#/$defs/"))
            {
                let shared_object = defs
                    .get(target)
                    .is_some_and(|d| d.get("properties").is_some());
                if shared_object && uses(target) > 1 && property.get("description").is_some() {
                    copies.push((target.to_string(), field.replace('_', "-")));
                }
            }
        }
    }
    for (target, copy) in copies {
        let from = format!("#/$defs/{target}");
        let to = format!("#/$defs/{copy}");
        let mut def = schema["$defs"][&target].clone();
        def["title"] = json!(words(&copy));
        schema["$defs"][&copy] = def;
        // Only the field's reference moves; the map keeps the original.
        retarget_field(schema, &copy.replace('-', "_"), &from, &to);
    }
}

fn retarget_field(value: &mut Value, field: &str, from: &str, to: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get_mut("properties")
                && let Some(property) = props.get_mut(field)
            {
                rewrite_refs(
                    property,
                    &std::collections::HashMap::from([(from.to_string(), to.to_string())]),
                );
            }
            map.values_mut()
                .for_each(|v| retarget_field(v, field, from, to));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| retarget_field(v, field, from, to)),
        _ => {}
    }
}

/// `QueueSpec` -> `queue`, `OneOrMany_ConsumeSpec` -> `consumes-list`,
/// `DeadLetterStrategy` -> `dead-letter-strategy`; references follow.
fn rename_definitions(schema: &mut Value) {
    let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) else {
        return;
    };
    let renames: Vec<(String, String)> = defs.keys().map(|k| (k.clone(), friendly(k))).collect();
    let old = std::mem::take(defs);
    for (name, mut def) in old {
        let new = friendly(&name);
        if def.get("title").is_none() {
            def["title"] = json!(words(&new));
        }
        defs.insert(new, def);
    }
    let renames: std::collections::HashMap<String, String> = renames
        .into_iter()
        .map(|(old, new)| (format!("#/$defs/{old}"), format!("#/$defs/{new}")))
        .collect();
    rewrite_refs(schema, &renames);
}

fn friendly(rust_name: &str) -> String {
    if let Some(inner) = rust_name.strip_prefix("OneOrMany_") {
        return format!("{}-list", friendly(inner));
    }
    let name = rust_name.strip_suffix("Spec").unwrap_or(rust_name);
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn rewrite_refs(value: &mut Value, renames: &std::collections::HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(new) = renames.get(r.as_str())
            {
                *r = new.clone();
            }
            map.values_mut().for_each(|v| rewrite_refs(v, renames));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, renames)),
        _ => {}
    }
}

/// `max_length` -> `Max length`, `dead-letter-strategy` -> `Dead letter strategy`.
fn words(name: &str) -> String {
    let text = name.replace(['_', '-'], " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// Walks the schema: every schema with a description gets it unwrapped and
/// as Markdown; every property gets a title; enums made of documented
/// constants become an `enum` with per-value descriptions.
fn describe(value: &mut Value, property: Option<&str>, in_rule: bool) {
    match value {
        Value::Object(map) => {
            enum_descriptions(map);
            if let Some(Value::String(text)) = map.get("description") {
                let markdown = unwrap(text);
                map.insert("description".into(), json!(markdown.replace('`', "")));
                map.insert("markdownDescription".into(), json!(markdown));
            }
            if let Some(name) = property.filter(|_| !in_rule)
                && !map.contains_key("title")
            {
                map.insert("title".into(), json!(words(name)));
            }
            if property.is_some() && !in_rule {
                own_text_on_hover(map);
            }
            tagged_variant_text(map);
            for (key, child) in map.iter_mut() {
                let in_rule = in_rule || RULES.contains(&key.as_str());
                match key.as_str() {
                    "properties" => {
                        if let Value::Object(props) = child {
                            for (name, schema) in props.iter_mut() {
                                describe(schema, Some(name), in_rule);
                            }
                        }
                    }
                    _ => describe(child, None, in_rule),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| describe(v, None, in_rule)),
        _ => {}
    }
}

/// An optional field is `anyOf: [{$ref: T}, {type: null}]`; editors show
/// the text of the branch that matches, T's, not the field's own. Copying
/// the field's title and text into that branch makes `message_ttl` say what
/// it is for rather than what a duration is.
fn own_text_on_hover(map: &mut Map<String, Value>) {
    let text: Vec<(String, Value)> = ["title", "description", "markdownDescription"]
        .iter()
        .filter_map(|k| map.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    if let Some(Value::Array(branches)) = map.get_mut("anyOf") {
        for branch in branches.iter_mut().filter(|b| b.get("$ref").is_some()) {
            for (key, value) in &text {
                branch[key] = value.clone();
            }
        }
    }
}

/// An externally tagged variant (`{ exec: [...] }`) documents the object;
/// its one property, which is what a person hovers, gets the same text.
fn tagged_variant_text(map: &mut Map<String, Value>) {
    let (Some(Value::Array(required)), Some(text)) = (map.get("required"), map.get("description"))
    else {
        return;
    };
    let [Value::String(tag)] = required.as_slice() else {
        return;
    };
    let (tag, text) = (tag.clone(), unwrap(text.as_str().unwrap_or_default()));
    if let Some(Value::Object(props)) = map.get_mut("properties")
        && props.len() == 1
        && let Some(Value::Object(property)) = props.get_mut(&tag)
        && !property.contains_key("description")
    {
        property.insert("description".into(), json!(text));
    }
}

/// `oneOf: [{const: a, description: ..}, ..]` (schemars' shape for an
/// enum with documented variants) -> `enum: [a, ..]` with
/// `markdownEnumDescriptions`, which editors show beside each value.
fn enum_descriptions(map: &mut Map<String, Value>) {
    let Some(Value::Array(variants)) = map.get("oneOf") else {
        return;
    };
    let consts: Option<Vec<(Value, String)>> = variants
        .iter()
        .map(|v| {
            let value = v.get("const")?.clone();
            let text = v.get("description").and_then(Value::as_str).unwrap_or("");
            Some((value, unwrap(text)))
        })
        .collect();
    let Some(consts) = consts else {
        return;
    };
    map.remove("oneOf");
    map.insert("type".into(), json!("string"));
    map.insert(
        "enum".into(),
        Value::Array(consts.iter().map(|(v, _)| v.clone()).collect()),
    );
    map.insert(
        "markdownEnumDescriptions".into(),
        Value::Array(consts.iter().map(|(_, d)| json!(d)).collect()),
    );
    map.insert(
        "enumDescriptions".into(),
        Value::Array(
            consts
                .iter()
                .map(|(_, d)| json!(d.replace('`', "")))
                .collect(),
        ),
    );
}

/// Joins the lines of each paragraph of a doc comment.
fn unwrap(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_people_read() {
        assert_eq!(friendly("QueueSpec"), "queue");
        assert_eq!(friendly("OneOrMany_ConsumeSpec"), "consume-list");
        assert_eq!(friendly("DeadLetterStrategy"), "dead-letter-strategy");
        assert_eq!(words("max_length_bytes"), "Max length bytes");
        assert_eq!(unwrap("a wrapped\nline\n\nnext"), "a wrapped line\n\nnext");
    }
}
