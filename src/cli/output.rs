use std::io::{self, IsTerminal, Write};

/// Where a command writes, and whether it may use colour.
pub struct Output {
    /// Where reports and results go.
    pub stdout: Box<dyn Write>,
    /// Where diagnostics, progress and errors go.
    pub stderr: Box<dyn Write>,
    /// Colour for diagnostics: stderr is a terminal and NO_COLOR is unset.
    pub color: bool,
    /// Colour for reports on stdout (plans): stdout is a terminal and
    /// NO_COLOR is unset.
    pub stdout_color: bool,
}

impl Output {
    /// The process's own stdout and stderr, coloured when each is a terminal
    /// and `NO_COLOR` is unset.
    pub fn terminal() -> Output {
        let no_color = std::env::var_os("NO_COLOR").is_some();
        Output {
            stdout: Box::new(io::stdout().lock()),
            stderr: Box::new(io::stderr()),
            color: io::stderr().is_terminal() && !no_color,
            stdout_color: io::stdout().is_terminal() && !no_color,
        }
    }
}
