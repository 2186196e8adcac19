//! The one place that decides exit codes.
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | success (for `plan --detailed-exitcode`: nothing to change) |
//! | 1    | findings (errors, or warnings with `--deny-warnings`), or warren could not do its job |
//! | 2    | `plan --detailed-exitcode`: there are changes to make; `status --fail-on-dlq`: a dead-letter queue holds messages |
//! | 64   | usage: an unknown flag, a missing argument, arguments that do not fit the topology |
//!
//! 2 means only "something to act on" (changes, dead letters), so a CI job
//! or a cron alert never reads a typo as a finding;
//! 64 is `EX_USAGE` from sysexits.h, as rabbitmqadmin v2 uses it.

use std::io::{ErrorKind, Write};

use super::{CliError, Output};

/// What a command found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report (exit 0).
    Success,
    /// The command ran and found problems (exit 1).
    Findings,
    /// `plan --detailed-exitcode` found changes to make (exit 2).
    Changes,
    /// `status --fail-on-dlq` found dead letters (exit 2).
    Attention,
}

/// Bad usage: an unknown flag, a missing argument, arguments that do not fit.
pub const USAGE: i32 = 64;

pub fn code(result: Result<Outcome, CliError>, out: &mut Output) -> i32 {
    match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Findings) => 1,
        Ok(Outcome::Changes | Outcome::Attention) => 2,
        // `warren expand | head` closes the pipe early: not an error.
        Err(CliError::Io(e)) if e.kind() == ErrorKind::BrokenPipe => 0,
        Err(error) => {
            let message = crate::printable::for_people(&error.to_string());
            let _ = writeln!(out.stderr, "error: {message}");
            match error {
                CliError::Usage(_) => USAGE,
                CliError::Load(_)
                | CliError::Broker(_)
                | CliError::Definitions(_)
                | CliError::Io(_)
                | CliError::WriteFile { .. }
                | CliError::Serialize(_)
                | CliError::Yaml(_)
                | CliError::ForBroker(_)
                | CliError::Apply(_)
                | CliError::Request(_)
                | CliError::Dlq(_)
                | CliError::Worker(_)
                | CliError::Metrics(_)
                | CliError::Serve { .. }
                | CliError::Failed(_) => 1,
            }
        }
    }
}
