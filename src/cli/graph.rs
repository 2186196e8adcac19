use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use clap::{Args, ValueEnum};

use super::exit::Outcome;
use super::{CliError, Output};
use crate::graph::{build, to_dot, to_mermaid};

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Spec files or directories (one vhost).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
    /// Rendered by Graphviz's `dot`, which must be installed.
    Svg,
}

pub fn run(args: &GraphArgs, out: &mut Output) -> Result<Outcome, CliError> {
    let Some(validation) = super::valid_spec(&args.paths, out)? else {
        return Ok(Outcome::Findings);
    };
    let topology = super::single_topology(&validation.topologies)?;
    let graph = build(topology);
    // Names with control characters are escaped, as everywhere else.
    let dot = || crate::printable::printable(&to_dot(&graph)).into_owned();
    let text = match args.format {
        GraphFormat::Mermaid => crate::printable::printable(&to_mermaid(&graph)).into_owned(),
        GraphFormat::Dot => dot(),
        GraphFormat::Svg => svg(&dot())?,
    };
    out.stdout.write_all(text.as_bytes())?;
    Ok(Outcome::Success)
}

fn svg(dot: &str) -> Result<String, CliError> {
    let missing = || {
        CliError::Failed(
            "--format svg needs Graphviz's `dot` command: install it (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), or use --format dot or mermaid".into(),
        )
    };
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                missing()
            } else {
                CliError::Io(e)
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A dot that exits without reading closes the pipe: what it said
        // and its status tell more than the broken pipe.
        match stdin.write_all(dot.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(CliError::Io(e)),
            _ => {}
        }
    }
    let output = child.wait_with_output()?;
    let said =
        crate::printable::printable(String::from_utf8_lossy(&output.stderr).trim()).into_owned();
    if !output.status.success() {
        return Err(CliError::Failed(format!(
            "dot failed ({}): {said}",
            output.status
        )));
    }
    let svg = String::from_utf8_lossy(&output.stdout).into_owned();
    if !svg.contains("<svg") {
        return Err(CliError::Failed(format!(
            "dot exited without writing SVG{}",
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        )));
    }
    Ok(svg)
}
