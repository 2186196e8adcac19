use std::path::PathBuf;

use clap::Args;

use super::connection::{ConnectionArgs, runtime};
use super::exit::Outcome;
use super::{CliError, Output};
use crate::broker::{http_client, observe};
use crate::spec::to_spec_yaml;

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Writes a live vhost as spec YAML.
pub fn run(args: &ExportArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let vhost = args
        .connection
        .vhost
        .clone()
        .ok_or_else(|| CliError::Usage("export needs --vhost NAME".into()))?;
    let settings = args.connection.settings()?;
    let http = http_client(&settings)?;
    let observed = runtime()?.block_on(observe(&http, &vhost, &[]))?;
    if !observed.vhost_exists {
        return Err(CliError::Failed(format!(
            "vhost {vhost:?} does not exist on {}",
            settings.http_url
        )));
    }
    let yaml = to_spec_yaml(&observed.topology)?;
    for line in &observed.unsupported {
        writeln!(
            out.stderr,
            "warning: not exported: {}",
            crate::printable::for_people(line)
        )?;
    }
    match &args.out {
        Some(path) => std::fs::write(path, yaml).map_err(CliError::write_file(path))?,
        None => out.stdout.write_all(yaml.as_bytes())?,
    }
    Ok(Outcome::Success)
}
