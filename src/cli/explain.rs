use std::path::PathBuf;

use clap::Args;

use super::exit::Outcome;
use super::{CliError, Output};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Spec file or directory (one vhost).
    pub path: PathBuf,
    /// The service to explain.
    pub service: String,
}

pub fn run(args: &ExplainArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let Some(validation) = super::valid_spec(std::slice::from_ref(&args.path), out)? else {
        return Ok(Outcome::Findings);
    };
    let topology = super::single_topology(&validation.topologies)?;
    let explanation = crate::explain::explain(topology, &args.service)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let text = crate::explain::render_text(&explanation);
    out.stdout
        .write_all(crate::printable::printable(&text).as_bytes())?;
    Ok(Outcome::Success)
}
