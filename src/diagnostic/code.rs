use std::fmt;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Likely a mistake or a risk; fails validation only with
    /// `--deny-warnings`.
    Warning,
    /// Wrong: fails validation.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A stable diagnostic code. `id` never changes meaning once released;
/// `name` is the readable alias used in docs/checks.md.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    /// The stable id (`E001`, `W304`); the letter is the severity's.
    pub id: &'static str,
    /// The readable alias (`spec-invalid`).
    pub name: &'static str,
    /// Whether it fails validation.
    pub severity: Severity,
    /// One line for the catalogue printed by `warren checks`.
    pub summary: &'static str,
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.id, self.name)
    }
}
