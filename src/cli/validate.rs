use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::connection::{ConnectionArgs, runtime};
use super::exit::Outcome;
use super::{CliError, Output, report};
use crate::diagnostic::{self, Severity};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Spec files or directories (every *.yaml/*.yml below), read as one topology.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// With --http-url: also report, for every queue, which policy the
    /// broker applies (spec, live or operator policy).
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Annotated snippets of the YAML (stderr).
    Human,
    /// A JSON array of diagnostics (stdout).
    Json,
    /// GitHub Actions workflow commands (stdout).
    Github,
}

pub fn run(args: &ValidateArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let live = !args.connection.http_url.is_empty();
    let mut validation = match live {
        true => {
            let http = crate::broker::http_client(&args.connection.settings()?)?;
            let (validation, live) =
                runtime()?.block_on(crate::validate::beside_broker(&args.paths, &http))?;
            // A spec with errors is reported even when the broker is down.
            if !validation.has_errors() {
                live?;
            }
            validation
        }
        false => crate::validate::validate(&args.paths)?,
    };
    let mut effective = Vec::new();
    if live && !validation.has_errors() {
        effective = live_policies(args, &validation.topologies)?;
        for (topology, policies) in validation.topologies.iter().zip(&effective) {
            validation
                .diagnostics
                .extend(crate::plan::live_conflicts(topology, policies));
        }
        crate::diagnostic::sort(&mut validation.diagnostics);
    }
    let diagnostics = &validation.diagnostics;
    report::notes(&validation.notes, out)?;
    match args.format {
        Format::Human => {
            report::human(diagnostics, &validation.sources, out)?;
            for (topology, policies) in validation.topologies.iter().zip(&effective) {
                report::effective_policies(&topology.vhost, policies, out)?;
            }
            report::summary(&validation, out)?;
        }
        Format::Json => report::json(diagnostics, &validation.sources, out)?,
        Format::Github => report::github(diagnostics, &validation.sources, out)?,
    }
    let (errors, warnings) = diagnostic::count(diagnostics);
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);
    debug_assert!(errors == 0 || diagnostics.iter().any(|d| d.severity() == Severity::Error));
    Ok(if failed {
        Outcome::Findings
    } else {
        Outcome::Success
    })
}

/// Effective policies per topology, from the live vhost (spec vhost or
/// --vhost).
fn live_policies(
    args: &ValidateArgs,
    topologies: &[crate::topology::Topology],
) -> Result<Vec<Vec<crate::plan::EffectivePolicy>>, CliError> {
    let settings = args.connection.settings()?;
    let http = crate::broker::http_client(&settings)?;
    runtime()?.block_on(async {
        let mut all = Vec::new();
        for desired in topologies {
            let vhost = args
                .connection
                .vhost
                .clone()
                .unwrap_or_else(|| desired.vhost.clone());
            all.push(crate::broker::live_policies(&http, desired, &vhost).await?);
        }
        Ok(all)
    })
}
