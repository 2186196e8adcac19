//! AMQP arguments (`x-` queue arguments, binding arguments, policy
//! definitions) in one canonical form, so that values from YAML, a
//! definitions export and the management API compare equal when the broker
//! would treat them as equal.

use std::collections::BTreeMap;

use serde_json::Value;

/// AMQP arguments by name (`x-message-ttl`, ...), in canonical form, sorted by
/// name.
pub type Arguments = BTreeMap<String, Value>;

/// Integral floats become integers (`5000.0` is `5000`): the management API
/// and hand-written JSON disagree on this, the broker does not.
pub fn canonical(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, canonical(v))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integral_floats_are_integers() {
        assert_eq!(canonical(json!(5000.0)), json!(5000));
        assert_eq!(canonical(json!(0.5)), json!(0.5));
        assert_eq!(canonical(json!({"a": [1.0]})), json!({"a": [1]}));
    }
}
