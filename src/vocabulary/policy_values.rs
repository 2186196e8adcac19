//! The policy keys whose values RabbitMQ checks, and what it accepts: the
//! checks refuse the rest (E010), the JSON Schema says the same.

use serde_json::Value;

/// What a policy key's value must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// A whole number of at least this much.
    WholeAtLeast(i64),
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// Any text.
    Text,
}

pub const POLICY_VALUES: &[(&str, ValueKind)] = {
    use ValueKind::*;
    &[
        ("max-length", WholeAtLeast(0)),
        ("max-length-bytes", WholeAtLeast(0)),
        ("message-ttl", WholeAtLeast(0)),
        ("delivery-limit", WholeAtLeast(0)),
        ("expires", WholeAtLeast(1)),
        (
            "overflow",
            OneOf(&["drop-head", "reject-publish", "reject-publish-dlx"]),
        ),
        (
            "dead-letter-strategy",
            OneOf(&["at-most-once", "at-least-once"]),
        ),
        ("dead-letter-exchange", Text),
        ("dead-letter-routing-key", Text),
        ("queue-mode", OneOf(&["default", "lazy"])),
        ("max-age", Text),
    ]
};

/// Why RabbitMQ would refuse `value` for policy `key`.
pub fn policy_value_problem(key: &str, value: &Value) -> Option<String> {
    let (_, kind) = POLICY_VALUES.iter().find(|(k, _)| *k == key)?;
    match *kind {
        ValueKind::WholeAtLeast(min) => match value.as_i64() {
            Some(n) if n >= min => None,
            Some(_) => Some(format!("it must be at least {min}")),
            None => Some(format!("it must be a whole number of at least {min}")),
        },
        ValueKind::OneOf(words) => match value.as_str() {
            Some(w) if words.contains(&w) => None,
            _ => Some(format!("it must be one of {}", words.join(", "))),
        },
        ValueKind::Text => (!value.is_string()).then(|| "it must be text".into()),
    }
}
