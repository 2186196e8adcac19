use super::exit::Outcome;
use super::{CliError, Output};

pub fn run(out: &mut Output) -> Result<Outcome, CliError> {
    out.stdout
        .write_all(crate::spec::schema::json().as_bytes())?;
    Ok(Outcome::Success)
}
