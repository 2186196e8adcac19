//! Reading a delivery: the message a handler is given, or why it cannot be
//! given one (bad input goes to the dead-letter queue, never crashes the
//! worker).

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable};
use serde_json::{Map, Value};

use super::Message;
use super::headers;
use super::settle::Reason;

/// The largest body a worker hands to a handler. A bigger one is a bad
/// input: a handler that reads it whole could exhaust the worker's memory.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// The attempt this delivery is (1 when the header is absent or
/// unreadable): from warren's own header, or, for a retry via the broker,
/// from the queue's count of failed deliveries (none on the first).
pub fn attempt(properties: &BasicProperties, retry: Option<&crate::topology::Retry>) -> u32 {
    if retry.is_some_and(|r| r.broker.is_some()) {
        return header(properties, headers::DELIVERY_COUNT)
            .and_then(as_u32)
            .unwrap_or(0)
            .saturating_add(1);
    }
    header(properties, headers::ATTEMPT)
        .and_then(as_u32)
        .unwrap_or(1)
        .max(1)
}

/// Where the message was first published: warren's headers when a retry
/// or a migration moved it, otherwise the delivery's own.
pub fn origin(exchange: &str, routing_key: &str, properties: &BasicProperties) -> (String, String) {
    let text = |name| header(properties, name).and_then(as_text);
    match (text(headers::EXCHANGE), text(headers::ROUTING_KEY)) {
        (Some(e), Some(k)) => (e, k),
        _ => (exchange.to_string(), routing_key.to_string()),
    }
}

/// The message for `service`'s handler, which is its attempt `attempt`, or
/// the reason it is bad input. Bodies are JSON: a content type other than
/// JSON (none counts as JSON), a body that does not parse, or one larger
/// than [`MAX_BODY`] is refused.
pub fn read(
    service: &str,
    exchange: &str,
    routing_key: &str,
    properties: &BasicProperties,
    data: &[u8],
    attempt: u32,
) -> Result<Message, (Reason, String)> {
    if let Some(kind) = properties.content_type() {
        let kind = kind.as_str();
        let essence = kind
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err((
                Reason::UnsupportedContentType,
                format!(
                    "content type {:?}: warren handlers take JSON bodies (application/json)",
                    headers::capped(kind, 100)
                ),
            ));
        }
    }
    if data.len() > MAX_BODY {
        return Err((
            Reason::OversizedBody,
            format!(
                "the body is {} bytes, more than the {MAX_BODY} a handler is given",
                data.len()
            ),
        ));
    }
    let body: Value = serde_json::from_slice(data)
        .map_err(|e| (Reason::MalformedBody, format!("the body is not JSON: {e}")))?;
    let (exchange, routing_key) = origin(exchange, routing_key, properties);
    Ok(Message {
        service: service.to_string(),
        exchange,
        routing_key,
        message_id: properties.message_id().as_ref().map(|m| m.to_string()),
        correlation_id: properties.correlation_id().as_ref().map(|c| c.to_string()),
        attempt,
        headers: user_headers(properties),
        body,
    })
}

/// The message's headers as JSON, warren's own left out.
pub fn user_headers(properties: &BasicProperties) -> Map<String, Value> {
    let Some(table) = properties.headers() else {
        return Map::new();
    };
    table
        .inner()
        .iter()
        .filter(|(name, _)| !headers::is_warren(name.as_str()))
        .map(|(name, value)| (name.to_string(), to_json(value)))
        .collect()
}

/// `table` with `name` set to `value`.
pub fn with_header(table: &FieldTable, name: &str, value: AMQPValue) -> FieldTable {
    let mut inner = table.inner().clone();
    inner.insert(name.into(), value);
    inner.into()
}

/// `table` without warren's headers: how a replayed dead letter starts
/// over.
pub fn without_warren_headers(table: &FieldTable) -> FieldTable {
    warren_headers(table, false)
}

/// `table`'s headers that are warren's own (`warren`), or the others.
pub fn warren_headers(table: &FieldTable, warren: bool) -> FieldTable {
    let mut inner = table.inner().clone();
    inner.retain(|name, _| headers::is_warren(name.as_str()) == warren);
    inner.into()
}

fn header<'p>(properties: &'p BasicProperties, name: &str) -> Option<&'p AMQPValue> {
    properties.headers().as_ref()?.inner().get(name)
}

/// A header read as text (for display and for `x-warren-*` values).
pub fn as_text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

fn as_u32(value: &AMQPValue) -> Option<u32> {
    match to_json(value) {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An AMQP field value as JSON. Byte arrays and invalid UTF-8 become
/// text with replacement characters; decimals become numbers.
pub fn to_json(value: &AMQPValue) -> Value {
    match value {
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::ShortShortInt(n) => (*n).into(),
        AMQPValue::ShortShortUInt(n) => (*n).into(),
        AMQPValue::ShortInt(n) => (*n).into(),
        AMQPValue::ShortUInt(n) => (*n).into(),
        AMQPValue::LongInt(n) => (*n).into(),
        AMQPValue::LongUInt(n) => (*n).into(),
        AMQPValue::LongLongInt(n) => (*n).into(),
        AMQPValue::Timestamp(n) => (*n).into(),
        AMQPValue::Float(f) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Value::Null, Value::Number)
        }
        AMQPValue::Double(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        AMQPValue::DecimalValue(d) => {
            let v = f64::from(d.value) / 10f64.powi(i32::from(d.scale));
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
        }
        AMQPValue::ShortString(s) => Value::String(s.to_string()),
        AMQPValue::LongString(s) => {
            Value::String(String::from_utf8_lossy(s.as_bytes()).into_owned())
        }
        AMQPValue::ByteArray(b) => {
            Value::String(String::from_utf8_lossy(b.as_slice()).into_owned())
        }
        AMQPValue::FieldArray(items) => {
            Value::Array(items.as_slice().iter().map(to_json).collect())
        }
        AMQPValue::FieldTable(t) => Value::Object(
            t.inner()
                .iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
        AMQPValue::Void => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{LongString, ShortString};

    fn props(headers: &[(&str, AMQPValue)]) -> BasicProperties {
        let mut table = FieldTable::default();
        for (k, v) in headers {
            table.insert(ShortString::from(*k), v.clone());
        }
        BasicProperties::default().with_headers(table)
    }

    #[test]
    fn the_attempt_comes_from_warrens_header_in_any_integer_or_text_form() {
        assert_eq!(attempt(&BasicProperties::default(), None), 1);
        assert_eq!(
            attempt(
                &props(&[(headers::ATTEMPT, AMQPValue::LongLongInt(3))]),
                None
            ),
            3
        );
        assert_eq!(
            attempt(
                &props(&[(headers::ATTEMPT, AMQPValue::ShortShortUInt(2))]),
                None
            ),
            2
        );
        let text = AMQPValue::LongString(LongString::from("4"));
        assert_eq!(attempt(&props(&[(headers::ATTEMPT, text)]), None), 4);
        // Nonsense counts as a first attempt rather than failing.
        assert_eq!(
            attempt(
                &props(&[(headers::ATTEMPT, AMQPValue::LongLongInt(-5))]),
                None
            ),
            1
        );
        assert_eq!(
            attempt(
                &props(&[(headers::ATTEMPT, AMQPValue::Boolean(true))]),
                None
            ),
            1
        );
    }

    #[test]
    fn a_broker_retry_counts_attempts_from_the_queues_delivery_count() {
        let retry = crate::topology::Retry {
            delays: Vec::new(),
            exchange: "svc.retry".into(),
            delay_queues: Vec::new(),
            dead_letter_queue: "svc.dlq".into(),
            held: false,
            broker: Some(crate::topology::BrokerRetry {
                min: crate::vocabulary::Duration::from_millis(1000),
                max: crate::vocabulary::Duration::from_millis(1000),
                attempts: 3,
            }),
            span: None,
        };
        // The first delivery has no count; warren's own header is not
        // what counts here.
        let first = props(&[(headers::ATTEMPT, AMQPValue::LongLongInt(7))]);
        assert_eq!(attempt(&first, Some(&retry)), 1);
        let third = props(&[(headers::DELIVERY_COUNT, AMQPValue::LongLongInt(2))]);
        assert_eq!(attempt(&third, Some(&retry)), 3);
    }

    #[test]
    fn bad_input_is_named() {
        let json =
            BasicProperties::default().with_content_type("application/json; charset=utf-8".into());
        assert!(read("s", "x", "k", &json, b"{\"a\":1}", 1).is_ok());
        assert!(read("s", "x", "k", &BasicProperties::default(), b"[1,2]", 1).is_ok());
        let text = BasicProperties::default().with_content_type("text/plain".into());
        assert_eq!(
            read("s", "x", "k", &text, b"{}", 1).unwrap_err().0,
            Reason::UnsupportedContentType
        );
        assert_eq!(
            read("s", "x", "k", &json, b"{nope", 1).unwrap_err().0,
            Reason::MalformedBody
        );
        let huge = vec![b' '; MAX_BODY + 1];
        assert_eq!(
            read("s", "x", "k", &json, &huge, 1).unwrap_err().0,
            Reason::OversizedBody
        );
    }

    #[test]
    fn a_retried_message_keeps_its_first_exchange_and_key_and_hides_warren_headers() {
        let p = props(&[
            (
                headers::EXCHANGE,
                AMQPValue::LongString(LongString::from("orders")),
            ),
            (
                headers::ROUTING_KEY,
                AMQPValue::LongString(LongString::from("order.created")),
            ),
            ("tenant", AMQPValue::LongString(LongString::from("acme"))),
        ]);
        let m = read("svc", "", "svc", &p, b"{}", 1).unwrap();
        assert_eq!(
            (m.exchange.as_str(), m.routing_key.as_str()),
            ("orders", "order.created")
        );
        assert_eq!(m.headers.len(), 1);
        assert_eq!(m.headers["tenant"], "acme");
    }
}
