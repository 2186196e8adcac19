use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::connection::{ConnectionArgs, runtime};
use super::exit::Outcome;
use super::{CliError, Output};
use crate::apply::{self, DEFAULT_PARALLELISM, Event};
use crate::broker::http_client;
use crate::plan::{Options as PlanOptions, to_text};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Spec files or directories, or one plan saved by `warren plan --out`
    /// (applied only if the broker has not changed since).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Apply without asking. Needed when standard input is not a terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Also delete what the spec does not name (as `plan --prune`).
    #[arg(long)]
    pub prune: bool,
    /// Replace or delete queues that hold messages or have consumers,
    /// dropping what they hold.
    #[arg(long, conflicts_with = "migrate")]
    pub allow_data_loss: bool,
    /// Move a replaced queue's messages into its replacement, while
    /// publishers keep publishing (deleted queues still need
    /// --allow-data-loss). See docs/apply.md.
    #[arg(long)]
    pub migrate: bool,
    /// How many independent changes run at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PARALLELISM, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

/// Plans, asks, locks, applies and verifies, one vhost at a time.
pub fn run(args: &ApplyArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let settings = args.connection.settings()?;
    let http = Arc::new(http_client(&settings)?);
    let rt = runtime()?;
    let options = apply::Options {
        allow_data_loss: args.allow_data_loss,
        migrate: args.migrate,
        parallelism: args.parallelism,
    };
    if let Some(saved) = saved_plans(&args.paths)? {
        if args.prune || args.connection.vhost.is_some() {
            return Err(CliError::Usage(
                "a saved plan carries its own vhost and --prune: give neither with it".into(),
            ));
        }
        for s in saved {
            let prepared = rt.block_on(apply::prepare_saved(&settings, &http, s, options))?;
            vhost(args, &http, &rt, prepared, out)?;
        }
        return Ok(Outcome::Success);
    }
    let named = args.connection.vhost.as_ref();
    let Some(mut ready) = super::topologies_for_broker(&args.paths, named, &http, &rt, out)? else {
        return Ok(Outcome::Findings);
    };
    let plan_options = PlanOptions {
        prune: args.prune,
        ..PlanOptions::default()
    };
    for desired in &ready.topologies {
        let state = ready.prefetched.take();
        let prepared = rt.block_on(apply::prepare_with(
            &settings,
            &http,
            desired,
            state,
            &plan_options,
            options,
        ))?;
        vhost(args, &http, &rt, prepared, out)?;
    }
    Ok(Outcome::Success)
}

/// The saved plans at `paths`, when it is one file that holds them.
fn saved_plans(paths: &[PathBuf]) -> Result<Option<Vec<crate::plan::Saved>>, CliError> {
    let [path] = paths else { return Ok(None) };
    if path.extension().is_none_or(|e| e != "json") {
        return Ok(None);
    }
    let bytes = crate::spec::read_file(path)?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Failed(format!("{} is not a saved plan: {e}", path.display())))?;
    if !crate::plan::is_saved(&doc) {
        return Err(CliError::Failed(format!(
            "{} is not a plan saved by `warren plan --out`",
            path.display()
        )));
    }
    crate::plan::from_saved(&doc)
        .map(Some)
        .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))
}

/// Shows the prepared plan, asks, and applies it.
fn vhost(
    args: &ApplyArgs,
    http: &crate::broker::Http,
    rt: &tokio::runtime::Runtime,
    prepared: apply::Prepared,
    out: &mut Output,
) -> Result<(), CliError> {
    out.stdout.write_all(
        to_text(
            prepared.plan(),
            http.endpoint().trim_end_matches("api"),
            out.stdout_color,
        )
        .as_bytes(),
    )?;
    for queue in prepared.unfinished() {
        writeln!(
            out.stdout,
            "An earlier apply was interrupted while migrating queue {:?}: its holding queue {:?} gives back its bindings and messages.",
            crate::printable::for_people(queue),
            crate::printable::for_people(&apply::migrate::holding(queue))
        )?;
    }
    // Everything that can refuse does so before the broker is touched, as
    // the library's apply does (a plan with no changes included: objects
    // that do not get their settings are not "the broker matches").
    if let Some(refused) = prepared.refusal() {
        return Err(refused.into());
    }
    if prepared.is_empty() {
        return Ok(());
    }
    if !confirmed(args, prepared.vhost(), prepared.steps(), out)? {
        return Err(CliError::Failed("nothing applied".into()));
    }
    let vhost = prepared.vhost().to_string();
    let total = prepared.plan().changes.len();
    let mut progress = Progress::new(&mut out.stderr, total);
    let applied = rt.block_on(prepared.apply(|event| progress.show(&event)));
    progress.end();
    let applied = applied?;
    if applied.migrations_finished > 0 {
        let (n, moved) = (applied.migrations_finished, applied.moved_back);
        writeln!(
            out.stdout,
            "Finished {n} interrupted migration{}: {moved} message{} moved back.",
            if n == 1 { "" } else { "s" },
            if moved == 1 { "" } else { "s" },
        )?;
    }
    let done = applied.changes;
    writeln!(
        out.stdout,
        "Applied {done} change{} to vhost {:?}; the broker matches the spec.",
        if done == 1 { "" } else { "s" },
        crate::printable::for_people(&vhost)
    )?;
    Ok(())
}

/// How apply shows its steps: a progress bar on a terminal, one line per
/// change otherwise (logs and CI keep the whole story).
struct Progress<'o> {
    lines: &'o mut dyn Write,
    bar: Option<indicatif::ProgressBar>,
}

impl<'o> Progress<'o> {
    fn new(lines: &'o mut dyn Write, total: usize) -> Progress<'o> {
        let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "  {bar:30} {pos}/{len} {elapsed} {wide_msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress { lines, bar }
    }

    fn show(
        &mut self,
        Event::Done {
            change,
            done,
            total,
        }: &Event<'_>,
    ) {
        let what = format!(
            "{} {} {}",
            change.action.done(),
            change.kind.as_str(),
            crate::printable::for_people(&change.name)
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(*done as u64);
                bar.set_message(what);
            }
            None => {
                let _ = writeln!(self.lines, "  [{done}/{total}] {what}");
            }
        }
    }

    fn end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// `--yes`, or a "y" typed at the terminal. Without a terminal and without
/// `--yes`, apply refuses: a script must say what it wants.
fn confirmed(
    args: &ApplyArgs,
    vhost: &str,
    changes: usize,
    out: &mut Output,
) -> Result<bool, CliError> {
    if args.yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "apply asks before changing the broker, and standard input is not a terminal: pass --yes to apply without asking".into(),
        ));
    }
    write!(
        out.stderr,
        "Apply {changes} change{} to vhost {:?}? Type yes to go on: ",
        if changes == 1 { "" } else { "s" },
        crate::printable::for_people(vhost)
    )?;
    out.stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "yes"))
}
