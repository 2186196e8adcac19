use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::exit::Outcome;
use super::{CliError, Output};
use crate::routing::{Headers, Hop, Route, Router};

#[derive(Debug, Args)]
pub struct RouteArgs {
    /// Spec files or directories (the topology must have one vhost).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Exchange the message is published to ("" for the default exchange).
    #[arg(long, required_unless_present = "service")]
    pub exchange: Option<String>,
    /// Routing key.
    #[arg(long, default_value = "", conflicts_with = "emit")]
    pub key: String,
    /// A message header NAME=VALUE; VALUE is an integer (42), a boolean
    /// (true, false) or a string; quote it ("42") to force a string.
    #[arg(long = "header", value_name = "NAME=VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, Value)>,
    /// Route an event this service emits (with --emit KEY).
    #[arg(long, requires = "emit", conflicts_with = "exchange")]
    pub service: Option<String>,
    /// The emitted routing key, with --service.
    #[arg(long, requires = "service")]
    pub emit: Option<String>,
    /// Print {"queues": [...], "hops": [...], "dropped": bool}.
    #[arg(long)]
    pub json: bool,
}

/// Header values typed as a publisher would send them.
pub(super) fn parse_header(text: &str) -> Result<(String, Value), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
    if name.trim().is_empty() {
        return Err(format!("{text:?} names no header: write NAME=VALUE"));
    }
    let value = if let Some(quoted) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Value::from(quoted)
    } else if let Ok(n) = value.parse::<i64>() {
        Value::from(n)
    } else if value == "true" || value == "false" {
        Value::from(value == "true")
    } else {
        Value::from(value)
    };
    Ok((name.to_string(), value))
}

pub fn run(args: &RouteArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let Some(validation) = super::valid_spec(&args.paths, out)? else {
        return Ok(Outcome::Findings);
    };
    let topology = super::single_topology(&validation.topologies)?;
    let mut delayed = None;
    let (exchange, key) = match (&args.service, &args.emit) {
        (Some(service), Some(emit)) => {
            let s = topology
                .service(service)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let e = s.emits.iter().find(|e| &e.key == emit).ok_or_else(|| {
                CliError::Usage(format!("service {service:?} does not emit {emit:?}"))
            })?;
            delayed = e.delay.map(|d| (d, e.publish_exchange()));
            (e.exchange.clone(), e.key.clone())
        }
        _ => (args.exchange.clone().unwrap_or_default(), args.key.clone()),
    };
    let headers: Headers = args.headers.iter().cloned().collect();
    let route = Router::new(topology)
        .route(&exchange, &key, &headers)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if args.json {
        let doc = serde_json::json!({
            "queues": route.queues,
            "hops": route.hops,
            "dropped": route.dropped(),
            "delay": delayed.as_ref().map(|(d, via)| serde_json::json!({"after": d.to_string(), "through": via})),
        });
        serde_json::to_writer_pretty(&mut out.stdout, &doc)
            .map_err(|e| CliError::Serialize(e.to_string()))?;
        writeln!(out.stdout)?;
    } else {
        let mut text = String::new();
        if let Some((delay, via)) = &delayed {
            text.push_str(&format!(
                "delayed {delay}: published to {via:?}, held in queue {via}, then dead-lettered to {exchange:?} with its own key\n"
            ));
        }
        text.push_str(&render_text(topology, &exchange, &key, &route));
        out.stdout
            .write_all(crate::printable::printable(&text).as_bytes())?;
    }
    Ok(Outcome::Success)
}

/// The path a message takes, one hop per line, then where it ends; for a
/// dropped message, why each exchange it reached let it go.
pub fn render_text(
    topology: &crate::topology::Topology,
    exchange: &str,
    key: &str,
    route: &Route,
) -> String {
    let mut text = format!("publish to {exchange:?} with key {key:?}\n");
    for hop in &route.hops {
        let line = match hop {
            Hop::Binding {
                source,
                destination,
                destination_type,
                routing_key,
            } => format!(
                "  {source} --[{routing_key}]--> {} {destination}",
                match destination_type {
                    crate::topology::DestinationType::Queue => "queue",
                    crate::topology::DestinationType::Exchange => "exchange",
                }
            ),
            Hop::AlternateExchange { from, to } => {
                format!("  {from} matched nothing: alternate exchange {to}")
            }
            Hop::DefaultExchange { queue } => format!("  default exchange --> queue {queue}"),
        };
        text.push_str(&line);
        text.push('\n');
    }
    if !route.unknown.is_empty() {
        text.push_str(&format!(
            "unknown: plugin exchanges {} route by rules warren cannot predict\n",
            route.unknown.join(", ")
        ));
    }
    if route.dropped() {
        text.push_str(
            "dropped: the broker discards the message (or returns it to a mandatory publisher)\n",
        );
        let mut reached = vec![exchange.to_string()];
        reached.extend(route.hops.iter().filter_map(|h| match h {
            Hop::Binding {
                destination,
                destination_type: crate::topology::DestinationType::Exchange,
                ..
            } => Some(destination.clone()),
            Hop::AlternateExchange { to, .. } => Some(to.clone()),
            _ => None,
        }));
        for name in reached {
            let reason = match topology.exchange(&name) {
                None if name.is_empty() => format!("no queue is named {key:?}"),
                None => "it does not exist".to_string(),
                Some(x) => {
                    let bindings = topology
                        .bindings
                        .iter()
                        .filter(|b| b.source == name)
                        .count();
                    let ae = match &x.alternate_exchange {
                        Some(ae) => format!("; its alternate exchange is {ae}"),
                        None => "; it has no alternate exchange".to_string(),
                    };
                    match bindings {
                        0 => format!("{} exchange with no bindings{ae}", x.kind),
                        n => format!("{} exchange whose {n} binding(s) do not match{ae}", x.kind),
                    }
                }
            };
            text.push_str(&format!(
                "  {}: {reason}\n",
                if name.is_empty() {
                    "default exchange"
                } else {
                    &name
                }
            ));
        }
    } else {
        let queues: Vec<&str> = route.queues.iter().map(String::as_str).collect();
        text.push_str(&format!("queues: {}\n", queues.join(", ")));
        // What a failure does next, for the services reading them.
        for s in topology.services.values() {
            if let (Some(q), Some(retry)) = (&s.queue, &s.retry)
                && route.queues.contains(q)
            {
                text.push_str(&format!(
                    "  {q}: read by {}, a failure {}\n",
                    s.name,
                    retry.summary()
                ));
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_values_are_typed() {
        assert_eq!(parse_header("n=42").unwrap(), ("n".into(), json!(42)));
        assert_eq!(parse_header("b=true").unwrap(), ("b".into(), json!(true)));
        assert_eq!(parse_header("s=pdf").unwrap(), ("s".into(), json!("pdf")));
        assert_eq!(parse_header("s=\"42\"").unwrap(), ("s".into(), json!("42")));
        assert_eq!(parse_header("e=").unwrap(), ("e".into(), json!("")));
        assert!(parse_header("novalue").is_err());
    }
}
