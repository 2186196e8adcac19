//! Declarations as an application writes them, in the syntax of a client
//! library: what `warren explain --client` prints, so that a team that
//! keeps its own declare calls can copy ones RabbitMQ accepts.

use std::fmt::Write;

use serde_json::Value;

use crate::topology::{Declaration, Declared};

/// The client libraries warren writes declarations for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Client {
    /// Node.js amqplib (`ch.assertQueue`, `ch.assertExchange`).
    Amqplib,
    /// Python pika (`channel.queue_declare`, `channel.exchange_declare`).
    Pika,
    /// Rust lapin (`channel.queue_declare`, `channel.exchange_declare`).
    Lapin,
}

/// One line per declaration, in `client`'s syntax.
pub fn render(declarations: &[Declaration], client: Client) -> String {
    let mut out = String::new();
    for d in declarations {
        let line = match client {
            Client::Amqplib => amqplib(d),
            Client::Pika => pika(d),
            Client::Lapin => lapin(d),
        };
        let _ = writeln!(out, "{line}");
    }
    out
}

fn amqplib(d: &Declaration) -> String {
    let mut options = vec![format!("durable: {}", d.durable)];
    if d.auto_delete {
        options.push("autoDelete: true".into());
    }
    match &d.object {
        Declared::Exchange { internal: true, .. } => options.push("internal: true".into()),
        Declared::Queue { exclusive: true } => options.push("exclusive: true".into()),
        _ => {}
    }
    if !d.arguments.is_empty() {
        let arguments: Vec<String> = d
            .arguments
            .iter()
            .map(|(k, v)| format!("{}: {}", js_string(k), js_value(v)))
            .collect();
        options.push(format!("arguments: {{ {} }}", arguments.join(", ")));
    }
    let options = options.join(", ");
    match &d.object {
        Declared::Exchange { kind, .. } => format!(
            "await ch.assertExchange({}, {}, {{ {options} }});",
            js_string(&d.name),
            js_string(kind.as_str())
        ),
        Declared::Queue { .. } => {
            format!(
                "await ch.assertQueue({}, {{ {options} }});",
                js_string(&d.name)
            )
        }
    }
}

fn pika(d: &Declaration) -> String {
    let py_bool = |b: bool| if b { "True" } else { "False" };
    let mut args = Vec::new();
    match &d.object {
        Declared::Exchange { kind, internal } => {
            args.push(format!("exchange={}", py_string(&d.name)));
            args.push(format!("exchange_type={}", py_string(kind.as_str())));
            args.push(format!("durable={}", py_bool(d.durable)));
            if *internal {
                args.push("internal=True".into());
            }
        }
        Declared::Queue { exclusive } => {
            args.push(format!("queue={}", py_string(&d.name)));
            args.push(format!("durable={}", py_bool(d.durable)));
            if *exclusive {
                args.push("exclusive=True".into());
            }
        }
    }
    if d.auto_delete {
        args.push("auto_delete=True".into());
    }
    if !d.arguments.is_empty() {
        let arguments: Vec<String> = d
            .arguments
            .iter()
            .map(|(k, v)| format!("{}: {}", py_string(k), py_value(v)))
            .collect();
        args.push(format!("arguments={{{}}}", arguments.join(", ")));
    }
    let call = match d.object {
        Declared::Exchange { .. } => "exchange_declare",
        Declared::Queue { .. } => "queue_declare",
    };
    let floats: Vec<&str> = d
        .arguments
        .iter()
        .filter(|(_, v)| has_float(v))
        .map(|(k, _)| k.as_str())
        .collect();
    let mut line = format!("channel.{call}({})", args.join(", "));
    if !floats.is_empty() {
        // pika's table encoder has no float type.
        line.push_str(&format!(
            "  # pika cannot send the decimal value of {}: declare this one with another client",
            floats.join(", ")
        ));
    }
    line
}

fn lapin(d: &Declaration) -> String {
    let mut options = vec![format!("durable: {}", d.durable)];
    if d.auto_delete {
        options.push("auto_delete: true".into());
    }
    match &d.object {
        Declared::Exchange { internal: true, .. } => options.push("internal: true".into()),
        Declared::Queue { exclusive: true } => options.push("exclusive: true".into()),
        _ => {}
    }
    let arguments = if d.arguments.is_empty() {
        "FieldTable::default()".to_string()
    } else {
        let entries: Vec<String> = d
            .arguments
            .iter()
            .map(|(k, v)| format!("({}.into(), {})", rust_string(k), amqp_value(v)))
            .collect();
        format!(
            "FieldTable::from(std::collections::BTreeMap::from([{}]))",
            entries.join(", ")
        )
    };
    match &d.object {
        Declared::Exchange { kind, .. } => format!(
            "channel.exchange_declare({}.into(), ExchangeKind::{}, ExchangeDeclareOptions {{ {}, ..Default::default() }}, {arguments}).await?;",
            rust_string(&d.name),
            exchange_kind(kind.as_str()),
            options.join(", ")
        ),
        Declared::Queue { .. } => format!(
            "channel.queue_declare({}.into(), QueueDeclareOptions {{ {}, ..Default::default() }}, {arguments}).await?;",
            rust_string(&d.name),
            options.join(", ")
        ),
    }
}

/// lapin's `ExchangeKind` variant for a type.
fn exchange_kind(kind: &str) -> String {
    match kind {
        "direct" => "Direct".into(),
        "fanout" => "Fanout".into(),
        "topic" => "Topic".into(),
        "headers" => "Headers".into(),
        other => format!("Custom({}.into())", rust_string(other)),
    }
}

/// JSON string literals are valid JavaScript and Python string literals;
/// Rust's differ only in `\u{..}` escapes, which `escape_default` writes.
fn js_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

fn py_string(text: &str) -> String {
    js_string(text)
}

fn rust_string(text: &str) -> String {
    format!("\"{}\"", text.escape_default())
}

fn js_value(v: &Value) -> String {
    v.to_string()
}

fn py_value(v: &Value) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

/// Whether `v` holds a number that is not whole.
fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

/// A JSON value as the lapin `AMQPValue` expression that sends it: lists
/// as field arrays, maps as field tables, null as void.
fn amqp_value(v: &Value) -> String {
    match v {
        Value::Null => "AMQPValue::Void".into(),
        Value::Bool(b) => format!("AMQPValue::Boolean({b})"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("AMQPValue::LongLongInt({n})"),
        Value::Number(n) => format!("AMQPValue::Double({n})"),
        Value::String(s) => format!("AMQPValue::LongString({}.into())", rust_string(s)),
        Value::Array(items) => format!(
            "AMQPValue::FieldArray(vec![{}].into())",
            items.iter().map(amqp_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "AMQPValue::FieldTable(FieldTable::from(std::collections::BTreeMap::from([{}])))",
            map.iter()
                .map(|(k, v)| format!("({}.into(), {})", rust_string(k), amqp_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Arguments, ExchangeType};
    use serde_json::json;

    fn queue() -> Declaration {
        Declaration {
            arguments: Arguments::from([("x-queue-type".into(), json!("quorum"))]),
            ..Declaration::queue("inventory")
        }
    }

    #[test]
    fn each_client_writes_the_declaration_in_its_own_syntax() {
        let exchange = Declaration::exchange("order_events", ExchangeType::Topic);
        let both = [exchange, queue()];
        assert_eq!(
            render(&both, Client::Amqplib),
            "await ch.assertExchange(\"order_events\", \"topic\", { durable: true });\n\
             await ch.assertQueue(\"inventory\", { durable: true, arguments: { \"x-queue-type\": \"quorum\" } });\n"
        );
        assert_eq!(
            render(&both, Client::Pika),
            "channel.exchange_declare(exchange=\"order_events\", exchange_type=\"topic\", durable=True)\n\
             channel.queue_declare(queue=\"inventory\", durable=True, arguments={\"x-queue-type\": \"quorum\"})\n"
        );
        let lapin = render(&both, Client::Lapin);
        assert!(lapin.contains("ExchangeKind::Topic"), "{lapin}");
        assert!(
            lapin.contains("(\"x-queue-type\".into(), AMQPValue::LongString(\"quorum\".into()))"),
            "{lapin}"
        );
    }

    #[test]
    fn lists_maps_null_and_decimals_keep_their_shape() {
        let d = Declaration {
            arguments: Arguments::from([
                ("x-list".into(), json!([1, "two"])),
                ("x-map".into(), json!({ "k": "v" })),
                ("x-null".into(), json!(null)),
                ("x-float".into(), json!(1.5)),
            ]),
            ..Declaration::queue("q")
        };
        let rust = render(std::slice::from_ref(&d), Client::Lapin);
        assert!(
            rust.contains("AMQPValue::FieldArray(vec![AMQPValue::LongLongInt(1), AMQPValue::LongString(\"two\".into())].into())"),
            "{rust}"
        );
        assert!(
            rust.contains("AMQPValue::FieldTable(FieldTable::from("),
            "{rust}"
        );
        assert!(rust.contains("AMQPValue::Void"), "{rust}");
        let python = render(&[d], Client::Pika);
        assert!(
            python.contains("# pika cannot send the decimal value of x-float"),
            "{python}"
        );
    }

    #[test]
    fn a_name_with_quotes_stays_one_string() {
        let mut d = queue();
        d.name = "it's \"odd\"\n".into();
        let js = render(&[d.clone()], Client::Amqplib);
        assert!(js.contains(r#""it's \"odd\"\n""#), "{js}");
        let rust = render(&[d], Client::Lapin);
        assert!(rust.contains(r#""it\'s \"odd\"\n""#), "{rust}");
    }
}
