//! `--format github`: workflow commands that annotate a pull request.

use std::io::Write;

use super::Output;
use super::json::to_json;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceMap;

/// GitHub Actions workflow commands: `::error file=F,line=L,col=C,title=T::message`.
pub fn github(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    out: &mut Output,
) -> std::io::Result<()> {
    for d in diagnostics {
        let j = to_json(d, sources);
        let level = match d.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = Vec::new();
        if let (Some(file), Some(line), Some(col)) = (&j.file, j.line, j.column) {
            props.push(format!("file={}", escape_property(file)));
            props.push(format!("line={line}"));
            props.push(format!("col={col}"));
        }
        props.push(format!(
            "title={}",
            escape_property(&format!("{} {}", d.code.id, d.code.name))
        ));
        let mut message = crate::printable::for_people(&d.message);
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(&crate::printable::for_people(help));
        }
        writeln!(
            out.stdout,
            "::{level} {}::{}",
            props.join(","),
            escape_data(&message)
        )?;
    }
    Ok(())
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_escaping() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
