use std::io::{self, IsTerminal, Write};

/// Where a command writes, and whether it may use colour.
pub struct Output {
    pub stdout: Box<dyn Write>,
    pub stderr: Box<dyn Write>,
    /// Colour for diagnostics: stderr is a terminal and NO_COLOR is unset.
    pub color: bool,
    /// Colour for reports on stdout (plans): stdout is a terminal and
    /// NO_COLOR is unset.
    pub stdout_color: bool,
}

impl Output {
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
