use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::connection::{ConnectionArgs, runtime};
use super::exit::Outcome;
use super::{CliError, Output};
use crate::worker::dlq;

#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    pub action: DlqAction,
}

#[derive(Debug, Subcommand)]
pub enum DlqAction {
    /// Show a service's dead letters with their reasons (oldest first).
    List(Target),
    /// Move a service's dead letters back to its queue, attempts reset.
    Replay(Target),
}

#[derive(Debug, Args)]
pub struct Target {
    /// Spec file or directory.
    pub path: PathBuf,
    /// The service whose dead-letter queue to read.
    pub service: String,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// At most this many messages (1 or more).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    /// Print JSON (list only).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &DlqArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let (DlqAction::List(target) | DlqAction::Replay(target)) = &args.action;
    let paths = [target.path.clone()];
    let Some(topology) = super::one_topology(&paths, target.connection.vhost.as_ref(), out)? else {
        return Ok(Outcome::Findings);
    };
    let settings = target.connection.settings()?;
    let rt = runtime()?;
    let (service, limit) = (&target.service, target.limit as usize);
    match &args.action {
        DlqAction::List(t) => {
            let found = rt.block_on(dlq::list(&settings, &topology, service, limit))?;
            if t.json {
                serde_json::to_writer_pretty(&mut out.stdout, &found)
                    .map_err(|e| CliError::Serialize(e.to_string()))?;
                writeln!(out.stdout)?;
                return Ok(Outcome::Success);
            }
            if found.is_empty() {
                writeln!(out.stdout, "No dead letters for service {service:?}.")?;
            }
            // Each field on its line: a line break or escape written into a
            // message id or an error must not forge a line of its own.
            let line = |text: &str| text.escape_debug().to_string();
            for d in &found {
                let text = format!(
                    "{} {} after attempt {} (from {:?} key {:?}){}\n  body: {}\n",
                    d.message_id
                        .as_deref()
                        .map_or("(no message id)".into(), line),
                    d.reason.as_deref().map_or("(no reason)".into(), line),
                    d.attempt,
                    d.exchange,
                    d.routing_key,
                    d.error
                        .as_ref()
                        .map(|e| format!("\n  error: {}", line(e)))
                        .unwrap_or_default(),
                    line(&crate::worker::headers::capped(&d.body, 200))
                );
                out.stdout
                    .write_all(crate::printable::printable(&text).as_bytes())?;
            }
        }
        DlqAction::Replay(_) => {
            let moved = rt.block_on(dlq::replay(&settings, &topology, service, limit))?;
            writeln!(
                out.stdout,
                "Replayed {moved} dead letter{} to service {service:?}, attempts reset.",
                if moved == 1 { "" } else { "s" },
            )?;
        }
    }
    Ok(Outcome::Success)
}
