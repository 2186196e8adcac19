//! The one place that decides exit codes.

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
}

pub fn code(result: Result<Outcome, CliError>, out: &mut Output) -> i32 {
    match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Findings) => 1,
        Ok(Outcome::Changes) => 2,
        // `warren expand | head` closes the pipe early: not an error.
        Err(CliError::Io(e)) if e.kind() == ErrorKind::BrokenPipe => 0,
        Err(error) => {
            let _ = writeln!(out.stderr, "error: {error}");
            match error {
                CliError::Load(_)
                | CliError::Broker(_)
                | CliError::Definitions(_)
                | CliError::Io(_)
                | CliError::Serialize(_)
                | CliError::Usage(_) => 1,
            }
        }
    }
}
