use super::exit::Outcome;
use super::{CliError, Output};
use crate::diagnostic::codes;

pub fn run(out: &mut Output) -> Result<Outcome, CliError> {
    for code in codes::ALL {
        writeln!(
            out.stdout,
            "{:<5} {:<8} {:<38} {}",
            code.id, code.severity, code.name, code.summary
        )?;
    }
    Ok(Outcome::Success)
}
