//! Rules the spec types cannot state but a JSON Schema can, so that an
//! editor flags the mistake as it is typed. Each mirrors a warren check and
//! names its code; the checks stay the authority (they also see defaults,
//! other files and generated objects).

use serde_json::{Map, Value, json};

use crate::vocabulary::{Applies, QueueType, SETTINGS, Setting, ValueKind};

pub(super) fn add(schema: &mut Value) {
    version(schema);
    names(schema);
    bindings(schema);
    consumes(schema);
    queue_types(schema);
    queue_arguments(schema);
    services(schema);
    durations(schema);
    values(schema);
}

fn defs(schema: &mut Value) -> &mut Map<String, Value> {
    schema["$defs"]
        .as_object_mut()
        .expect("schemars writes $defs")
}

/// E002: version 1 is the only one (completion then offers 1, not 0).
fn version(schema: &mut Value) {
    // "1" as well: warren reads a quoted number as the number.
    schema["properties"]["version"] = json!({
        "enum": [1, "1"],
        "default": 1,
        "errorMessage": "warren reads spec version 1 only",
        "description": "Spec format version: 1, the only one so far."
    });
}

/// E104, E105: names are 1 to 255 characters; exchanges and queues may not
/// start with `amq.` nor hold a control character. (RabbitMQ counts 255 bytes; a schema counts
/// characters, which is the same for ASCII names.)
fn names(schema: &mut Value) {
    // E009: patterns are regular expressions (editors check the syntax).
    schema["properties"]["ignore"]["items"]["format"] = json!("regex");
    defs(schema)["PolicySpec"]["properties"]["pattern"]["format"] = json!("regex");
    let length = json!({ "minLength": 1, "maxLength": 255 });
    let reserved = json!({
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^(?!amq\\.)[^\\u0000-\\u001f\\u007f]*$",
        "patternErrorMessage": "names starting with amq. are reserved by RabbitMQ (E104), and a name holds no line break or other control character (E105)"
    });
    for (section, rule) in [
        ("exchanges", &reserved),
        ("queues", &reserved),
        ("policies", &length),
        ("services", &length),
        ("users", &length),
    ] {
        schema["properties"][section]["propertyNames"] = rule.clone();
    }
}

/// E005, E106: a binding in a queue block binds that queue and names no
/// destination; a top-level binding names exactly one (`queue` or
/// `to_exchange`). The source exchange is never the default exchange.
fn bindings(schema: &mut Value) {
    let defs = defs(schema);
    let mut top = defs["BindingSpec"].clone();
    top["properties"]["exchange"]["minLength"] = json!(1);
    // E301: a raw x-match is one of RabbitMQ's four modes.
    top["properties"]["arguments"]["properties"] = json!({ "x-match": {
        "description": "How a headers binding matches, as a raw argument; `match:` says the same.",
        "enum": ["all", "any", "all-with-x", "any-with-x"],
        "errorMessage": "x-match is all, any, all-with-x or any-with-x (E301)"
    } });
    let mut in_queue = top.clone();
    let props = in_queue["properties"].as_object_mut().expect("properties");
    props.remove("queue");
    props.remove("to_exchange");
    in_queue["description"] = json!(
        "A binding of the queue this block declares: the source exchange and the keys or headers that select messages."
    );
    top["anyOf"] = json!([{ "required": ["queue"] }, { "required": ["to_exchange"] }]);
    top["dependentSchemas"] = json!({ "queue": { "properties": {
        "to_exchange": forbidden("a binding has one destination: `queue:` or `to_exchange:` (E005)")
    } } });
    defs.insert("BindingSpec".into(), top);
    defs.insert("QueueBindingSpec".into(), in_queue);
    defs["QueueSpec"]["properties"]["bindings"]["items"] =
        json!({ "$ref": "#/$defs/QueueBindingSpec" });
}

/// E006: a service consumes keys from an exchange or a declared queue, not
/// both and not neither.
fn consumes(schema: &mut Value) {
    let defs = defs(schema);
    let both = "consumes names an exchange (with keys) or a declared queue, not both (E006)";
    defs["ConsumeSpec"]["anyOf"] = json!([{ "required": ["exchange"] }, { "required": ["queue"] }]);
    defs["ConsumeSpec"]["dependentSchemas"] = json!({ "queue": { "properties": {
        "exchange": forbidden(both),
        "keys": forbidden(both)
    } } });
}

/// A property that must not be set, with the reason. (An empty `enum`
/// rather than `not`: editors show `errorMessage` for a failed `enum`, but
/// only "matches a schema that is not allowed" for a failed `not`.)
fn forbidden(reason: &str) -> Value {
    json!({ "enum": [], "errorMessage": reason })
}

/// A property limited to `values`, with the reason.
fn only(values: Value, reason: &str) -> Value {
    json!({ "enum": values, "errorMessage": reason })
}

/// E201, E202, E203, E204 and E206: what each queue type refuses,
/// when the queue names its type (`defaults.queue_type` is not visible
/// from one queue's block).
fn queue_types(schema: &mut Value) {
    let truthy = json!([true, "true", "True", "TRUE"]);
    let falsy = json!([false, "false", "False", "FALSE"]);
    let if_type = |kind: &str, then: Value| {
        json!({
            "if": { "properties": { "type": { "const": kind } }, "required": ["type"] },
            "then": { "properties": then }
        })
    };
    let mut quorum = if_type(
        "quorum",
        json!({
            "durable": only(truthy.clone(), "quorum queues are replicated and always durable (E201)"),
            "auto_delete": only(falsy.clone(), "quorum queues cannot be auto-delete (E201)"),
            "max_priority": forbidden("quorum queues have no message priorities (E202)"),
            "overflow": only(json!(["drop-head", "reject-publish"]), "quorum queues do not support reject-publish-dlx (E203)"),
        }),
    );
    let mut streams = if_type(
        "stream",
        json!({
            "durable": only(truthy, "streams are replicated and always durable (E201)"),
            "auto_delete": only(falsy, "streams cannot be auto-delete (E201)"),
            "max_priority": forbidden("streams have no message priorities (E202)"),
        }),
    );
    for (field, setting) in refused_settings(QueueType::Stream) {
        streams["then"]["properties"][field] = forbidden(&format!(
            "streams do not take `{field}`: {} (E204)",
            setting.stream_refusal()
        ));
    }
    let mut classic = if_type("classic", json!({}));
    for (rule, kind) in [
        (&mut classic, QueueType::Classic),
        (&mut quorum, QueueType::Quorum),
    ] {
        for (field, _) in refused_settings(kind) {
            rule["then"]["properties"][field] =
                forbidden(&format!("{kind} queues refuse `{field}` (E206)"));
        }
    }
    let at_least_once = json!({
        "if": { "properties": { "dead_letter_strategy": { "const": "at-least-once" } }, "required": ["dead_letter_strategy"] },
        "then": {
            "required": ["overflow"],
            "properties": { "overflow": { "const": "reject-publish", "errorMessage": "at-least-once dead-lettering needs overflow: reject-publish (E403)" } }
        }
    });
    push_all_of(
        &mut defs(schema)["QueueSpec"],
        [classic, quorum, streams, at_least_once],
    );
}

/// The named fields a queue type refuses on every release (E204, E206;
/// max_priority is E202), with their rows.
fn refused_settings(kind: QueueType) -> impl Iterator<Item = (&'static str, &'static Setting)> {
    let mut fields: Vec<(&str, &Setting)> = SETTINGS
        .iter()
        .filter(|s| s.applies != Applies::Exchanges && !s.applies_to(kind))
        .filter_map(|s| Some((s.top_field()?, s)))
        .filter(|(f, _)| *f != "max_priority")
        .collect();
    fields.dedup_by_key(|(f, _)| *f);
    fields.into_iter()
}

/// E007: a named setting and the raw argument it stands for, both set.
fn queue_arguments(schema: &mut Value) {
    let rules: Vec<Value> = SETTINGS
        .iter()
        .filter(|s| s.applies != Applies::Exchanges)
        .filter_map(|s| Some((s.top_field()?, s.argument?)))
        .map(|(field, argument)| {
            json!({
                "if": { "required": [field] },
                "then": { "properties": { "arguments": { "properties": {
                    *argument: forbidden(&format!("`{field}` sets {argument} already: remove the raw argument (E007)"))
                } } } }
            })
        })
        .collect();
    push_all_of(&mut defs(schema)["QueueSpec"], rules);
    push_all_of(
        &mut defs(schema)["ExchangeSpec"],
        SETTINGS
            .iter()
            .filter(|s| s.applies == Applies::Exchanges)
            .filter_map(|s| Some((s.field?, s.argument?)))
            .map(|(field, argument)| json!({
                "if": { "required": [field] },
                "then": { "properties": { "arguments": { "properties": {
                    argument: forbidden(&format!("`{field}` sets {argument} already: remove the raw argument (E007)"))
                } } } }
            })),
    );
}

/// E602, E603: retry and a handler act on consumed messages.
fn services(schema: &mut Value) {
    defs(schema)["ServiceSpec"]["dependentRequired"] = json!({
        "retry": ["consumes"],
        "handler": ["consumes"]
    });
}

/// E001 and E010 in the editor's words: what a duration looks like, and a
/// stream's age in whole seconds.
fn durations(schema: &mut Value) {
    let defs = defs(schema);
    let duration = &mut defs["Duration"];
    duration["patternErrorMessage"] =
        json!("a duration is a whole number and a unit: 250ms, 5s, 1m, 2h or 7d");
    duration["examples"] = json!(["5s", "1m", "7d"]);
    let queue = &mut defs["QueueSpec"]["properties"];
    queue["max_age"] = json!({
        "type": "string",
        "pattern": "^(0*[1-9][0-9]*(s|m|h|d)|[0-9]*[1-9][0-9]*000ms)$",
        "patternErrorMessage": "a stream's age is whole seconds, at least 1s: for example 7d, 12h or 90s (E010)",
        "examples": ["7d", "12h"],
        "description": queue["max_age"]["description"].clone(),
    });
}

/// What RabbitMQ accepts for a setting, as a schema.
fn value_rule(key: &str, kind: ValueKind) -> Value {
    let whole = |min: i64, max: i64| {
        let mut rule = json!({ "type": "integer", "minimum": min });
        if max < i64::MAX {
            rule["maximum"] = json!(max);
        }
        rule["errorMessage"] = json!(format!(
            "{key}: {} (E010)",
            kind.problem(&Value::Null).unwrap_or_default()
        ));
        rule
    };
    match kind {
        ValueKind::Whole { min, max } => whole(min, max),
        ValueKind::Millis { min } => whole(min, i64::MAX),
        ValueKind::OneOf(words) => json!({
            "enum": words,
            "errorMessage": format!("{key} is one of {} (E010)", words.join(", "))
        }),
        ValueKind::Flag => json!({ "type": "boolean" }),
        ValueKind::Age => json!({
            "type": "string",
            "pattern": "^[0-9]+[YMDhms]$",
            "patternErrorMessage": format!("{key} is a whole number and a unit of Y, M, D, h, m or s, such as 7D (E010)")
        }),
        ValueKind::Text => json!({ "type": "string" }),
        ValueKind::Any => json!({}),
    }
}

fn push_all_of(target: &mut Value, rules: impl IntoIterator<Item = Value>) {
    let all_of = target
        .as_object_mut()
        .expect("an object schema")
        .entry("allOf")
        .or_insert_with(|| json!([]));
    all_of
        .as_array_mut()
        .expect("allOf is a list")
        .extend(rules);
}

/// E010: values RabbitMQ or `warren run` refuse (`compile/values.rs`).
fn values(schema: &mut Value) {
    let defs = defs(schema);
    defs["RetrySpec"]["properties"]["delays"]["minItems"] = json!(1);
    defs["RetrySpec"]["properties"]["delays"]["errorMessage"] =
        json!("list one delay per retry, e.g. [5s, 1m] (E010)");
    let mut keys = Map::new();
    for setting in SETTINGS {
        let Some(key) = setting.policy_key else {
            continue;
        };
        let mut rule = value_rule(key, setting.value);
        rule["description"] = json!(format!(
            "The `{key}` policy key, for {}.",
            setting.applies_text()
        ));
        keys.insert(key.to_string(), rule);
    }
    defs["PolicySpec"]["properties"]["definition"]["properties"] = Value::Object(keys);
    // An http handler is an http(s) URL without credentials.
    if let Some(Value::Array(forms)) = defs["Handler"].get_mut("oneOf") {
        for form in forms {
            if form["properties"].get("http").is_some() {
                form["properties"]["http"]["pattern"] = json!("^https?://(?![^/]*@)");
                form["properties"]["http"]["patternErrorMessage"] =
                    json!("an http(s) URL without user or password in it (E010)");
            }
        }
    }
    // Idempotency keys and stores (the timeout's bound is a comparison of
    // durations, which a pattern cannot make).
    let idempotency = &mut defs["IdempotencySpec"]["properties"];
    idempotency["key"]["pattern"] = json!("^(message_id|/.*)$");
    idempotency["key"]["patternErrorMessage"] =
        json!("message_id, or a JSON pointer into the body such as /order_id (E010)");
    idempotency["store"]["pattern"] = json!("^(memory|rediss?://.+)$");
    idempotency["store"]["patternErrorMessage"] =
        json!("memory, or a Redis URL such as redis://127.0.0.1:6379 (E010)");
    defs["UserSpec"]["required"] = json!(["password_env"]);
    defs["UserSpec"]["errorMessage"] = json!({
        "required": { "password_env": "a user needs password_env: the environment variable that holds its password (E010)" }
    });
    defs["UserSpec"]["properties"]["password_env"]["pattern"] = json!("^[A-Za-z_][A-Za-z0-9_]*$");
    defs["UserSpec"]["properties"]["password_env"]["patternErrorMessage"] = json!(
        "an environment variable name: letters, digits and _, not starting with a digit (E010)"
    );
}
