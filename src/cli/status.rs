use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::connection::{ConnectionArgs, runtime};
use super::exit::Outcome;
use super::{CliError, Output};
use crate::broker::http_client;
use crate::broker::status::{VhostStatus, statuses};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Spec files or directories: one table per vhost.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Refresh until interrupted (in place on a terminal).
    #[arg(long)]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit 2 when any dead-letter queue holds messages, or a queue of a
    /// retry chain is missing (for alerting; not with --watch, which runs
    /// until interrupted).
    #[arg(long, conflicts_with = "watch")]
    pub fail_on_dlq: bool,
}

pub fn run(args: &StatusArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let settings = args.connection.settings()?;
    let http = http_client(&settings)?;
    let rt = runtime()?;
    let named = args.connection.vhost.as_ref();
    let Some(ready) = super::topologies_for_broker(&args.paths, named, &http, &rt, out)? else {
        return Ok(Outcome::Findings);
    };
    let interval = Duration::from_secs(args.interval);
    loop {
        let statuses = match rt.block_on(statuses(&http, &ready.topologies)) {
            Ok(statuses) => statuses,
            // A watch outlives a broker that does not answer for a while
            // (the client moves on to the next node by itself).
            Err(e) if args.watch => {
                writeln!(
                    out.stderr,
                    "warren: status: {e}; trying again in {}s",
                    args.interval
                )?;
                std::thread::sleep(interval);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if args.json {
            let document = match statuses.as_slice() {
                [one] => serde_json::to_value(one),
                many => serde_json::to_value(many).map(|v| serde_json::json!({ "vhosts": v })),
            }
            .map_err(|e| CliError::Serialize(e.to_string()))?;
            serde_json::to_writer_pretty(&mut out.stdout, &document)
                .map_err(|e| CliError::Serialize(e.to_string()))?;
            writeln!(out.stdout)?;
        } else {
            if args.watch && out.stdout_color {
                // Home and clear: the table redrawn in place.
                write!(out.stdout, "\x1b[H\x1b[2J")?;
            }
            for (i, s) in statuses.iter().enumerate() {
                if i > 0 {
                    writeln!(out.stdout)?;
                }
                out.stdout.write_all(table(s).as_bytes())?;
            }
        }
        out.stdout.flush()?;
        if !args.watch {
            let attention = statuses.iter().any(VhostStatus::needs_attention);
            return Ok(if args.fail_on_dlq && attention {
                Outcome::Attention
            } else {
                Outcome::Success
            });
        }
        std::thread::sleep(interval);
        if !out.stdout_color && !args.json {
            writeln!(out.stdout)?;
        }
    }
}

/// One vhost as a table, a row per consuming service; on a cluster, with
/// each quorum queue's online members, members and leader.
pub fn table(status: &VhostStatus) -> String {
    let clustered = status.services.iter().any(|s| s.queue.members.len() > 1);
    let mut header = vec![
        "service",
        "queue",
        "ready",
        "unacked",
        "consumers",
        "publish/s",
        "deliver/s",
        "retrying",
        "dlq",
    ];
    if clustered {
        header.push("online/members leader");
    }
    header.push("flags");
    let last = header.len() - 1;
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for s in &status.services {
        let q = &s.queue;
        let dlq = s
            .dead_letter_queue
            .as_ref()
            .map_or("-".to_string(), |d| d.depth().to_string());
        let flags: Vec<&str> = s.flags.iter().map(|f| f.as_str()).collect();
        let mut row = vec![
            s.service.clone(),
            q.name.clone(),
            q.ready.to_string(),
            q.unacked.to_string(),
            q.consumers.to_string(),
            format!("{:.1}", q.publish_rate),
            format!("{:.1}", q.deliver_rate),
            if !s.retries() {
                "-".into()
            } else {
                s.retrying().to_string()
            },
            dlq,
        ];
        if clustered {
            row.push(match &q.leader {
                _ if q.members.is_empty() => "-".into(),
                Some(leader) => format!(
                    "{}/{} {}",
                    q.online.len(),
                    q.members.len(),
                    leader.split('@').next().unwrap_or(leader)
                ),
                None => format!("{}/{} none", q.online.len(), q.members.len()),
            });
        }
        row.push(if flags.is_empty() {
            String::new()
        } else {
            format!("! {}", flags.join(", "))
        });
        rows.push(row);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = format!("vhost {}\n", status.vhost);
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            // Names left, numbers right, flags last and unpadded.
            let cell = match c {
                0 | 1 => format!("{cell:<w$}", w = widths[c]),
                c if c == last => cell.clone(),
                _ => format!("{cell:>w$}", w = widths[c]),
            };
            line.push_str(&cell);
            line.push_str("  ");
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    if status.services.is_empty() {
        text.push_str("(no service consumes in this vhost)\n");
    }
    crate::printable::printable(&text).into_owned()
}
