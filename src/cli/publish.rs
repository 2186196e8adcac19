use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::connection::{ConnectionArgs, runtime};
use super::exit::Outcome;
use super::{CliError, Output};
use crate::worker::publish::{Request, send};

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Spec files or directories (one vhost).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Exchange to publish to (may be left out with --service).
    #[arg(long)]
    pub exchange: Option<String>,
    /// Routing key.
    #[arg(long)]
    pub key: String,
    /// The JSON body, or @FILE to read it from a file (@- for stdin).
    #[arg(long, value_name = "JSON|@FILE")]
    pub body: String,
    /// A header NAME=VALUE (as in `warren route`).
    #[arg(long = "header", value_name = "NAME=VALUE", value_parser = super::route::parse_header)]
    pub headers: Vec<(String, Value)>,
    #[arg(long)]
    pub message_id: Option<String>,
    #[arg(long)]
    pub correlation_id: Option<String>,
    /// Publish as this service: the key must be one it emits, and the
    /// message goes out as its user.
    #[arg(long)]
    pub service: Option<String>,
    /// Deliver after this long (`5s`, `1m`), through the delay queue the
    /// spec has for it: an emit to the exchange with this `delay:`.
    #[arg(long, value_parser = crate::vocabulary::Duration::parse)]
    pub delay: Option<crate::vocabulary::Duration>,
}

pub fn run(args: &PublishArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let Some(topology) = super::one_topology(&args.paths, args.connection.vhost.as_ref(), out)?
    else {
        return Ok(Outcome::Findings);
    };
    let body = read_body(&args.body)?;
    let request = Request {
        exchange: args.exchange.clone(),
        key: args.key.clone(),
        body,
        headers: args.headers.iter().cloned().collect(),
        message_id: args.message_id.clone(),
        correlation_id: args.correlation_id.clone(),
        service: args.service.clone(),
        delay: args.delay,
    };
    // Refuse before connecting: no broker is needed to know it is wrong.
    crate::worker::publish::check(&topology, &request)?;
    let settings = args.connection.settings()?;
    let published = runtime()?.block_on(send(&settings, &topology, &request))?;
    let target = &published.target;
    let queues: Vec<&str> = target.queues.iter().map(String::as_str).collect();
    writeln!(
        out.stdout,
        "Published to exchange {:?} with key {:?} (message id {:?}); the broker confirmed it. The spec routes it to: {}.",
        crate::printable::for_people(&target.publish_to),
        crate::printable::for_people(&args.key),
        crate::printable::for_people(&published.message_id),
        crate::printable::for_people(&queues.join(", "))
    )?;
    if let Some(delay) = target.delay {
        writeln!(
            out.stdout,
            "It waits {delay} in the delay queue {:?}, then goes to exchange {:?}.",
            crate::printable::for_people(&target.publish_to),
            crate::printable::for_people(&target.exchange),
        )?;
    }
    Ok(Outcome::Success)
}

/// The body: JSON text, or the JSON in a file (`@PATH`, `@-` for stdin).
fn read_body(arg: &str) -> Result<Value, CliError> {
    let (text, from) = match arg.strip_prefix('@') {
        Some("-") => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
            (text, "standard input".to_string())
        }
        Some(path) => {
            let bytes = crate::spec::read_file(std::path::Path::new(path))?;
            (
                String::from_utf8_lossy(&bytes).into_owned(),
                path.to_string(),
            )
        }
        None => (arg.to_string(), "--body".to_string()),
    };
    serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "the body from {from} is not JSON ({e}); warren publishes JSON bodies"
        ))
    })
}
