//! Diagnostics for people (miette), for programs (JSON) and for GitHub
//! Actions (workflow commands), and the summary lines around them.

mod diagnostic;
mod github;
mod json;
mod source;

use std::io::Write;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};

pub use github::github;
pub use json::json;

use super::Output;
use crate::diagnostic::{self as findings, Diagnostic};
use crate::source::SourceMap;
use crate::validate::Validation;
use diagnostic::MietteDiagnostic;
use source::IndexedSource;

/// Renders each diagnostic with the YAML it points at, to stderr.
pub fn human(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    out: &mut Output,
) -> std::io::Result<()> {
    let text = render_human(diagnostics, sources, out.color);
    out.stderr.write_all(text.as_bytes())
}

/// The human rendering as a string, without colour unless asked (tests
/// snapshot this).
pub fn render_human(diagnostics: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let files: Vec<Arc<NamedSource<IndexedSource>>> = sources
        .files()
        .map(|(_, f)| {
            Arc::new(
                NamedSource::new(f.path.display().to_string(), IndexedSource::new(f.clone()))
                    .with_language("yaml"),
            )
        })
        .collect();
    let mut text = String::new();
    for d in diagnostics {
        let report = MietteDiagnostic::new(d, &files);
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut text, &report);
    }
    text
}

/// The policy RabbitMQ applies to each queue (from `validate --http-url`).
pub fn effective_policies(
    vhost: &str,
    policies: &[crate::plan::EffectivePolicy],
    out: &mut Output,
) -> std::io::Result<()> {
    let vhost = crate::printable::clip(vhost);
    if policies.is_empty() {
        return writeln!(
            out.stderr,
            "effective policies in vhost {vhost:?}: no policy matches a queue of the spec"
        );
    }
    writeln!(out.stderr, "effective policies in vhost {vhost:?}:")?;
    for e in policies {
        let mut line = format!("  {}: ", e.queue);
        line.push_str(&match (&e.policy, e.source) {
            (Some(p), Some(source)) => format!("{p} ({source})"),
            _ => "no policy".into(),
        });
        if let Some(op) = &e.operator_policy {
            line.push_str(&format!(", operator policy {op}"));
        }
        if !e.overridden_by_queue.is_empty() {
            line.push_str(&format!(
                "; queue arguments also set {}",
                e.overridden_by_queue.join(", ")
            ));
        }
        writeln!(out.stderr, "{}", crate::printable::for_people(&line))?;
    }
    Ok(())
}

/// What loading skipped, one `note:` line each on stderr (every format:
/// JSON and GitHub output go to stdout).
pub fn notes(notes: &[String], out: &mut Output) -> std::io::Result<()> {
    for note in notes {
        writeln!(out.stderr, "note: {}", crate::printable::for_people(note))?;
    }
    Ok(())
}

/// "2 errors, 1 warning" or "ok: ..." on stderr.
pub fn summary(validation: &Validation, out: &mut Output) -> std::io::Result<()> {
    let (errors, warnings) = findings::count(&validation.diagnostics);
    if errors == 0 {
        for t in &validation.topologies {
            writeln!(
                out.stderr,
                "ok: vhost {:?}: {} exchanges, {} queues, {} bindings, {} services",
                crate::printable::clip(&t.vhost),
                t.exchanges.len(),
                t.queues.len(),
                t.bindings.len(),
                t.services.len(),
            )?;
        }
        if warnings > 0 {
            writeln!(out.stderr, "{}", plural(warnings, "warning"))?;
        }
        Ok(())
    } else {
        writeln!(
            out.stderr,
            "failed: {}, {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
