//! The `warren` command line: argument parsing, one file per subcommand,
//! and all printing. The library below never writes to the terminal.

mod apply;
mod checks;
mod connection;
mod dlq;
mod error;
mod exit;
mod expand;
mod explain;
mod export;
mod graph;
mod import;
mod output;
mod plan;
mod publish;
mod report;
mod route;
mod run;
mod schema;
mod status;
mod validate;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

pub use error::CliError;
pub use output::Output;
pub use report::render_human;

use crate::validate::ForBroker;

/// The `warren` command line as clap parses it.
#[derive(Debug, Parser)]
#[command(
    name = "warren",
    version,
    about = "Keep a RabbitMQ topology as code: check it, see where messages go, plan changes against a live broker."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a topology (files or directories) without a broker.
    Validate(validate::ValidateArgs),
    /// Print the compiled topology: what services and retry expand to.
    Expand(expand::ExpandArgs),
    /// Show what would change on the broker to make it match the spec.
    Plan(plan::PlanArgs),
    /// Make the broker match the spec: plan, confirm, lock, apply, verify.
    Apply(apply::ApplyArgs),
    /// Write a live vhost as spec YAML (--vhost NAME).
    Export(export::ExportArgs),
    /// Turn a RabbitMQ definitions export into spec YAML.
    Import(import::ImportArgs),
    /// Draw the topology (Mermaid, DOT or SVG).
    Graph(graph::GraphArgs),
    /// Explain one service: inputs, outputs, retries, dead letters, permissions.
    Explain(explain::ExplainArgs),
    /// Show which queues a message reaches, and by which path.
    Route(route::RouteArgs),
    /// Run the workers of services that have handlers (until SIGTERM or SIGINT).
    Run(run::RunArgs),
    /// Publish one message, checked against the spec and confirmed by the broker.
    Publish(publish::PublishArgs),
    /// List or replay a service's dead letters.
    Dlq(dlq::DlqArgs),
    /// Each service's queue, retries and dead letters on the live broker.
    Status(status::StatusArgs),
    /// Print the JSON Schema of the spec format.
    Schema,
    /// List every diagnostic code.
    Checks,
}

/// Runs warren with `args` (the first is the program name) and returns the
/// exit code. Callable more than once, for tests.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout (exit 0) and usage
            // errors to stderr; those take warren's usage code, not clap's
            // 2, which `plan --detailed-exitcode` uses for "changes".
            if !error.use_stderr() {
                let _ = error.print();
                return 0;
            }
            // A usage error may quote what was typed: keep a huge or hostile
            // argument off the terminal.
            let text = crate::printable::for_people(&error.render().to_string());
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("{}\n", text.trim_end()).as_bytes(),
            );
            return exit::USAGE;
        }
    };
    let mut out = Output::terminal();
    match crate::limits::Limits::from_env(|name| std::env::var(name).ok()) {
        Ok(limits) => crate::limits::set(limits),
        Err(e) => return exit::code(Err(CliError::Usage(e.to_string())), &mut out),
    }
    let result = match &cli.command {
        Command::Validate(args) => validate::run(args, &mut out),
        Command::Expand(args) => expand::run(args, &mut out),
        Command::Route(args) => route::run(args, &mut out),
        Command::Graph(args) => graph::run(args, &mut out),
        Command::Plan(args) => plan::run(args, &mut out),
        Command::Apply(args) => apply::run(args, &mut out),
        Command::Export(args) => export::run(args, &mut out),
        Command::Import(args) => import::run(args, &mut out),
        Command::Explain(args) => explain::run(args, &mut out),
        Command::Run(args) => run::run(args, &mut out),
        Command::Publish(args) => publish::run(args, &mut out),
        Command::Dlq(args) => dlq::run(args, &mut out),
        Command::Status(args) => status::run(args, &mut out),
        Command::Schema => schema::run(&mut out),
        Command::Checks => checks::run(&mut out),
    };
    exit::code(result, &mut out)
}

/// Loads and checks the spec; on errors reports them and returns `None`, so
/// that no command works from a spec that `validate` rejects.
fn valid_spec(
    paths: &[std::path::PathBuf],
    out: &mut Output,
) -> Result<Option<crate::validate::Validation>, CliError> {
    shown_if_invalid(crate::validate::validate(paths)?, out)
}

/// The spec's topologies for a broker command (`validate::for_broker`).
/// `None` when the spec has errors (they have been reported).
fn topologies_for_broker(
    paths: &[std::path::PathBuf],
    vhost: Option<&String>,
    http: &crate::broker::Http,
    rt: &tokio::runtime::Runtime,
    out: &mut Output,
) -> Result<Option<ForBroker>, CliError> {
    let checked = rt
        .block_on(crate::validate::for_broker(
            paths,
            vhost.map(String::as_str),
            http,
        ))
        .map_err(|e| match e {
            crate::validate::ForBrokerError::VhostForSeveral(n) => CliError::Usage(format!(
                "--vhost needs the files of one vhost; these name {n}"
            )),
            other => other.into(),
        })?;
    match checked {
        crate::validate::Checked::Valid(ready) => {
            report::notes(&ready.validation.notes, out)?;
            Ok(Some(*ready))
        }
        crate::validate::Checked::Invalid(validation) => {
            shown_if_invalid(validation, out)?;
            Ok(None)
        }
    }
}

/// The one topology a worker command (`run`, `publish`, `dlq`) works on,
/// checked offline, `--vhost` applied. `None` when the spec has errors
/// (they have been reported).
fn one_topology(
    paths: &[std::path::PathBuf],
    vhost: Option<&String>,
    out: &mut Output,
) -> Result<Option<crate::topology::Topology>, CliError> {
    let Some(validation) = valid_spec(paths, out)? else {
        return Ok(None);
    };
    let mut topologies = validation.topologies;
    if topologies.len() != 1 {
        return Err(CliError::Usage(format!(
            "the files name {} vhosts: give the files of one vhost",
            topologies.len()
        )));
    }
    let mut topology = topologies.remove(0);
    if let Some(vhost) = vhost {
        topology.vhost = vhost.clone();
    }
    Ok(Some(topology))
}

fn shown_if_invalid(
    validation: crate::validate::Validation,
    out: &mut Output,
) -> Result<Option<crate::validate::Validation>, CliError> {
    report::notes(&validation.notes, out)?;
    if validation.has_errors() {
        report::human(&validation.diagnostics, &validation.sources, out)?;
        report::summary(&validation, out)?;
        return Ok(None);
    }
    Ok(Some(validation))
}

/// The one topology a command about a single vhost works on.
fn single_topology(
    topologies: &[crate::topology::Topology],
) -> Result<&crate::topology::Topology, CliError> {
    match topologies {
        [one] => Ok(one),
        _ => Err(CliError::Usage(
            "these paths hold several vhosts; pass the files of one vhost".into(),
        )),
    }
}
