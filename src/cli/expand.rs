use std::path::PathBuf;

use clap::Args;

use super::exit::Outcome;
use super::{CliError, Output};

#[derive(Debug, Args)]
pub struct ExpandArgs {
    /// Spec files or directories, read as one topology.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Prints the compiled topology as YAML. Refuses when the spec has errors:
/// a half-compiled topology would mislead.
pub fn run(args: &ExpandArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let Some(validation) = super::valid_spec(&args.paths, out)? else {
        return Ok(Outcome::Findings);
    };
    // One YAML document per vhost.
    for (i, topology) in validation.topologies.iter().enumerate() {
        if i > 0 {
            writeln!(out.stdout, "---")?;
        }
        let yaml = crate::spec::to_yaml(topology)?;
        out.stdout.write_all(yaml.as_bytes())?;
    }
    Ok(Outcome::Success)
}
