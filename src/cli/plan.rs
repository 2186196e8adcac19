use std::path::PathBuf;

use clap::Args;

use super::connection::{ConnectionArgs, runtime};
use super::exit::Outcome;
use super::{CliError, Output};
use crate::broker::http_client;
use crate::plan::{Options, to_json, to_text};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Spec files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Also delete what the spec does not name (never amq.*, server-named,
    /// exclusive or `ignore:`d objects).
    #[arg(long)]
    pub prune: bool,
    /// Print the plan as JSON (format documented in docs/plan.md).
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there is nothing to do, 2 when there are changes, 1 on errors.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan (JSON, with the fingerprint of the live state and the
    /// topology it makes), for `warren apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &PlanArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let settings = args.connection.settings()?;
    let http = http_client(&settings)?;
    let rt = runtime()?;
    let Some(super::ForBroker {
        validation,
        topologies,
        mut prefetched,
    }) =
        super::topologies_for_broker(&args.paths, args.connection.vhost.as_ref(), &http, &rt, out)?
    else {
        return Ok(Outcome::Findings);
    };
    let options = Options {
        prune: args.prune,
        ..Options::default()
    };
    let plans = rt.block_on(async {
        let mut plans = Vec::new();
        for desired in &topologies {
            let state = prefetched.take();
            plans.push(crate::broker::plan_with(&http, desired, state, &options).await?);
        }
        Ok::<_, CliError>(plans)
    })?;
    let one_or_many = |documents: Vec<serde_json::Value>| match documents.as_slice() {
        [one] => one.clone(),
        many => serde_json::json!({ "plans": many }),
    };
    let document = one_or_many(
        plans
            .iter()
            .map(|p| to_json(p, Some(&validation.sources)))
            .collect(),
    );
    if let Some(path) = &args.out {
        // The saved plan also holds what `apply FILE` needs to carry it out.
        let saved = one_or_many(
            plans
                .iter()
                .zip(&topologies)
                .map(|(p, t)| crate::plan::to_saved(p, t, &options, Some(&validation.sources)))
                .collect(),
        );
        std::fs::write(
            path,
            serde_json::to_string_pretty(&saved).map_err(|e| CliError::Serialize(e.to_string()))?
                + "\n",
        )
        .map_err(CliError::write_file(path))?;
    }
    if args.json {
        serde_json::to_writer_pretty(&mut out.stdout, &document)
            .map_err(|e| CliError::Serialize(e.to_string()))?;
        writeln!(out.stdout)?;
    } else {
        for plan in &plans {
            out.stdout.write_all(
                to_text(
                    plan,
                    http.endpoint().trim_end_matches("api"),
                    out.stdout_color,
                )
                .as_bytes(),
            )?;
        }
    }
    // What the broker's own policies do to the spec's (W505, E507).
    let mut found: Vec<crate::diagnostic::Diagnostic> = plans
        .iter()
        .zip(&topologies)
        .flat_map(|(p, t)| crate::plan::live_conflicts(t, &p.effective_policies))
        .collect();
    crate::diagnostic::sort(&mut found);
    super::report::human(&found, &validation.sources, out)?;
    if crate::diagnostic::count(&found).0 > 0 {
        return Ok(Outcome::Findings);
    }
    let changed = plans.iter().any(|p| !p.is_empty());
    Ok(if args.detailed_exitcode && changed {
        Outcome::Changes
    } else {
        Outcome::Success
    })
}
