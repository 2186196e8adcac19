use std::io::{self, IsTerminal, Write};

/// Where a command writes, and whether it may use colour.
pub struct Output {
    pub stdout: Box<dyn Write>,
    pub stderr: Box<dyn Write>,
    /// Colour only when stderr is a terminal and NO_COLOR is unset.
    pub color: bool,
}

impl Output {
    pub fn terminal() -> Output {
        let color = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Output {
            stdout: Box::new(io::stdout().lock()),
            stderr: Box::new(io::stderr()),
            color,
        }
    }
}
