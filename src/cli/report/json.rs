//! `--format json`.

use std::io::Write;

use serde::Serialize;

use super::Output;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceMap;

/// One diagnostic in `--format json`. Field names are part of warren's
/// interface: add fields, never rename them.
#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub severity: Severity,
    pub message: &'a str,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub help: Option<&'a str>,
    pub labels: Vec<JsonLabel<'a>>,
}

#[derive(Serialize)]
pub struct JsonLabel<'a> {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: &'a str,
}

pub fn to_json<'a>(d: &'a Diagnostic, sources: &SourceMap) -> JsonDiagnostic<'a> {
    let primary = d.primary_span().map(|span| sources.locate(span));
    JsonDiagnostic {
        code: d.code.id,
        name: d.code.name,
        severity: d.severity(),
        message: &d.message,
        file: primary.as_ref().map(|p| p.file.clone()),
        line: primary.as_ref().map(|p| p.line),
        column: primary.as_ref().map(|p| p.column),
        help: d.help.as_deref(),
        labels: d
            .labels
            .iter()
            .map(|l| {
                let at = sources.locate(l.span);
                JsonLabel {
                    file: at.file,
                    line: at.line,
                    column: at.column,
                    message: &l.message,
                }
            })
            .collect(),
    }
}

pub fn json(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    out: &mut Output,
) -> std::io::Result<()> {
    let items: Vec<JsonDiagnostic> = diagnostics.iter().map(|d| to_json(d, sources)).collect();
    serde_json::to_writer_pretty(&mut out.stdout, &items)?;
    writeln!(out.stdout)
}
