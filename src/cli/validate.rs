use std::path::PathBuf;

use clap::{Args, ValueEnum};

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
    let validation = crate::validate::validate(&args.paths)?;
    let diagnostics = &validation.diagnostics;
    match args.format {
        Format::Human => {
            report::human(diagnostics, &validation.sources, out)?;
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
