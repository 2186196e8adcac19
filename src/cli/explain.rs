use std::path::PathBuf;

use clap::Args;

use super::exit::Outcome;
use super::{CliError, Output};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Spec file or directory (one vhost).
    pub path: PathBuf,
    /// The service to explain (every exchange and queue with --client).
    #[arg(required_unless_present = "client")]
    pub service: Option<String>,
    /// Also print, in this client library's syntax, the declarations
    /// RabbitMQ accepts against the managed objects: for copying into an
    /// application that declares what it uses.
    #[arg(long, value_enum)]
    pub client: Option<crate::client_code::Client>,
}

pub fn run(args: &ExplainArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let mut validation = crate::validate::validate(std::slice::from_ref(&args.path))?;
    // What an application declares wrongly (E610) is what --client is for:
    // it shows the declarations to use instead, so those do not stop it.
    let refused = crate::diagnostic::codes::APP_DECLARATION_REFUSED.id;
    let (declared, other): (Vec<_>, Vec<_>) = std::mem::take(&mut validation.diagnostics)
        .into_iter()
        .partition(|d| args.client.is_some() && d.code.id == refused);
    validation.diagnostics = other;
    let Some(validation) = super::shown_if_invalid(validation, out)? else {
        return Ok(Outcome::Findings);
    };
    super::report::human(&declared, &validation.sources, out)?;
    let topology = super::single_topology(&validation.topologies)?;
    let mut text = String::new();
    if let Some(service) = &args.service {
        let explanation = crate::explain::explain(topology, service)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        text.push_str(&crate::explain::render_text(&explanation));
    }
    if let Some(client) = args.client {
        let plain = topology.plain_queue_type();
        let declarations = crate::explain::declarations(topology, args.service.as_deref(), plain)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        if args.service.is_some() {
            text.push('\n');
        }
        text.push_str(&format!(
            "Declarations RabbitMQ accepts against what warren manages (a queue declared without x-queue-type is {}",
            plain.as_str()
        ));
        if topology
            .settings
            .default_queue_type
            .is_some_and(|d| d != plain)
        {
            text.push_str(", not the vhost's default, on RabbitMQ 3.10; `broker: { version: \"4.0\" }` says which releases the topology runs on");
        }
        text.push_str("):\n");
        text.push_str(&crate::client_code::render(&declarations, client));
    }
    out.stdout
        .write_all(crate::printable::printable(&text).as_bytes())?;
    Ok(Outcome::Success)
}
