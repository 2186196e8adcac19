use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::connection::{ConnectionArgs, runtime};
use super::exit::Outcome;
use super::{CliError, Output};
use crate::apply::{self, ApplyError, DEFAULT_PARALLELISM, Event};
use crate::broker::http_client;
use crate::plan::{Action, ObjectKind, Options, to_text};

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
    let cx = Context {
        args,
        settings: &settings,
        http: &http,
        rt: &rt,
    };
    if let Some(saved) = saved_plans(&args.paths)? {
        if args.prune || args.connection.vhost.is_some() {
            return Err(CliError::Usage(
                "a saved plan carries its own vhost and --prune: give neither with it".into(),
            ));
        }
        for s in saved {
            let plan = rt.block_on(crate::broker::plan(&http, &s.desired, &s.options))?;
            if plan.fingerprint != s.fingerprint {
                return Err(CliError::Failed(format!(
                    "the broker changed since the plan was made (vhost {:?}): nothing was applied; make the plan again",
                    crate::printable::for_people(&s.desired.vhost)
                )));
            }
            let unset = s.unset_passwords(&plan, |v| std::env::var(v).ok());
            if !unset.is_empty() {
                return Err(failed(ApplyError::MissingPasswords(unset)));
            }
            let (unreviewed, gone) = s.differences(&plan);
            if !unreviewed.is_empty() || !gone.is_empty() {
                let list = |what: &str, items: &[String]| {
                    if items.is_empty() {
                        String::new()
                    } else {
                        format!("\n  {what}: {}", items.join("; "))
                    }
                };
                return Err(CliError::Failed(format!(
                    "the plan's changes are not what applying it would do (vhost {:?}): nothing was applied; make the plan again and review it{}{}",
                    crate::printable::for_people(&s.desired.vhost),
                    list("would also", &unreviewed),
                    list("would not", &gone)
                )));
            }
            cx.vhost(&s.desired, plan, &s.options, out)?;
        }
        return Ok(Outcome::Success);
    }
    let Some(super::ForBroker {
        topologies,
        mut prefetched,
        ..
    }) =
        super::topologies_for_broker(&args.paths, args.connection.vhost.as_ref(), &http, &rt, out)?
    else {
        return Ok(Outcome::Findings);
    };
    let options = Options {
        prune: args.prune,
        ..Options::default()
    };
    for desired in &topologies {
        let state = prefetched.take();
        let plan = rt.block_on(crate::broker::plan_with(&http, desired, state, &options))?;
        cx.vhost(desired, plan, &options, out)?;
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

struct Context<'a> {
    args: &'a ApplyArgs,
    settings: &'a crate::broker::Settings,
    http: &'a Arc<crate::broker::Http>,
    rt: &'a tokio::runtime::Runtime,
}

impl Context<'_> {
    /// Shows `plan` and carries it out on `desired.vhost`.
    fn vhost(
        &self,
        desired: &crate::topology::Topology,
        plan: crate::plan::Plan,
        options: &Options,
        out: &mut Output,
    ) -> Result<(), CliError> {
        let Context {
            args,
            settings,
            http,
            rt,
        } = self;
        let mut plan = plan;
        let unfinished = rt.block_on(apply::unfinished(http, desired, &mut plan, args.migrate))?;
        out.stdout.write_all(
            to_text(
                &plan,
                http.endpoint().trim_end_matches("api"),
                out.stdout_color,
            )
            .as_bytes(),
        )?;
        for queue in unfinished.keys() {
            writeln!(
                out.stdout,
                "An earlier apply was interrupted while migrating queue {:?}: its holding queue {:?} gives back its bindings and messages.",
                crate::printable::for_people(queue),
                crate::printable::for_people(&apply::migrate::holding(queue))
            )?;
        }
        if plan.is_empty() && unfinished.is_empty() {
            return Ok(());
        }
        // Everything that can refuse does so before the broker is touched.
        let passwords =
            Arc::new(apply::passwords(&plan, |v| std::env::var(v).ok()).map_err(failed)?);
        let mut at_stake = rt.block_on(apply::at_stake(settings, http, &plan))?;
        if args.migrate {
            at_stake.retain(|q| q.action == Action::Delete);
        }
        if !at_stake.is_empty() && !args.allow_data_loss {
            return Err(failed(ApplyError::DataAtStake(at_stake)));
        }
        if !confirmed(
            args,
            &plan.vhost,
            plan.changes.len() + unfinished.len(),
            out,
        )? {
            return Err(CliError::Failed("nothing applied".into()));
        }
        let mut progress = Progress::new(&mut out.stderr, plan.changes.len());
        let applied = rt.block_on(async {
            apply::can_change(http).await?;
            // The lock lives in the vhost, so a new vhost comes first.
            let mut plan = plan;
            if plan
                .changes
                .first()
                .is_some_and(|c| c.kind == ObjectKind::Vhost && c.action == Action::Create)
            {
                let create_vhost = crate::plan::Plan {
                    changes: vec![plan.changes.remove(0)],
                    ..plan.clone()
                };
                apply::execute(
                    Arc::clone(http),
                    None,
                    &create_vhost,
                    passwords.clone(),
                    1,
                    false,
                    |_| {},
                )
                .await?;
            }
            let lock = apply::acquire(settings, http, &plan.vhost).await?;
            let result = async {
                let mut current = crate::broker::plan(http, desired, options).await?;
                apply::keep_holding_queues(&mut current, desired);
                if current.fingerprint != plan.fingerprint {
                    return Err(ApplyError::Moved);
                }
                let workers = usize::from(args.parallelism);
                let amqp = apply::Amqp::open(settings, &plan.vhost, workers).await?;
                let done = apply::execute(
                    Arc::clone(http),
                    Some(&amqp),
                    &current,
                    passwords.clone(),
                    usize::from(args.parallelism),
                    args.migrate,
                    |event| progress.show(&event),
                )
                .await;
                let finished =
                    match &done {
                        Ok(n) => apply::finish(&amqp, &unfinished).await.map_err(|source| {
                            ApplyError::Step {
                                done: *n,
                                total: current.changes.len(),
                                source,
                            }
                        }),
                        Err(_) => Ok(0),
                    };
                amqp.close().await;
                progress.end();
                let done = done?;
                let moved = finished?;
                apply::verify(http, desired, options).await?;
                Ok((done, moved))
            }
            .await;
            lock.release().await;
            match result {
                Err(e) => Err(apply::in_context(http, &plan.vhost, e).await),
                ok => ok,
            }
        });
        let (done, moved) = applied.map_err(failed)?;
        if !unfinished.is_empty() {
            writeln!(
                out.stdout,
                "Finished {} interrupted migration{}: {moved} message{} moved back.",
                unfinished.len(),
                if unfinished.len() == 1 { "" } else { "s" },
                if moved == 1 { "" } else { "s" },
            )?;
        }
        writeln!(
            out.stdout,
            "Applied {done} change{} to vhost {:?}; the broker matches the spec.",
            if done == 1 { "" } else { "s" },
            crate::printable::for_people(&desired.vhost)
        )?;
        Ok(())
    }
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
            verb(change.action),
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

fn failed(e: ApplyError) -> CliError {
    match e {
        ApplyError::Broker(b) => CliError::Broker(b),
        other => CliError::Failed(other.to_string()),
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "deleted",
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
