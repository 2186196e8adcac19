//! Diagnostics for people (miette), for programs (JSON) and for GitHub
//! Actions (workflow commands).

use std::fmt;
use std::io::Write;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    NamedSource, SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use super::Output;
use crate::diagnostic::{self, Diagnostic, Severity};
use crate::source::{FileId, SourceFile, SourceMap, Span};
use crate::validate::Validation;

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
                NamedSource::new(f.path.display().to_string(), IndexedSource(f.clone()))
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
        writeln!(out.stderr, "{line}")?;
    }
    Ok(())
}

/// "2 errors, 1 warning" or "ok: ..." on stderr.
pub fn summary(validation: &Validation, out: &mut Output) -> std::io::Result<()> {
    let (errors, warnings) = diagnostic::count(&validation.diagnostics);
    if errors == 0 {
        for t in &validation.topologies {
            writeln!(
                out.stderr,
                "ok: vhost {:?}: {} exchanges, {} queues, {} bindings, {} services",
                t.vhost,
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

/// A loaded file as miette reads it: through the file's line index, so
/// that rendering a diagnostic reads the few lines around its span instead
/// of scanning the file from the start (10,000 warnings on a 50,000-line
/// file took 38 s that way, 0.4 s this way).
#[derive(Debug)]
struct IndexedSource(Arc<SourceFile>);

impl SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let file = &self.0;
        let start = span.offset().min(file.text.len());
        let end = (span.offset() + span.len()).min(file.text.len());
        // A window of whole lines with one line to spare on each side; miette's
        // own reader then picks the context lines within it.
        let first_line = file
            .line_index(start)
            .saturating_sub(context_lines_before + 1);
        let last_line = (file.line_index(end) + context_lines_after + 1).min(file.line_count() - 1);
        let window_start = file.line_start(first_line);
        let window_end = file.line_start(last_line + 1);
        let window = &file.text.as_bytes()[window_start..window_end];
        let local = SourceSpan::new((start - window_start).into(), end - start);
        let contents = window.read_span(&local, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new(
            contents.data(),
            SourceSpan::new(
                (contents.span().offset() + window_start).into(),
                contents.span().len(),
            ),
            contents.line() + first_line,
            contents.column(),
            contents.line_count() + first_line,
        )))
    }
}

/// A warren diagnostic as miette sees it: one source file (that of the
/// first label); labels in other files become related diagnostics.
#[derive(Debug)]
struct MietteDiagnostic {
    code: String,
    message: String,
    /// `None` for a related note (a label in another file).
    severity: Option<Severity>,
    help: Option<String>,
    source: Option<Arc<NamedSource<IndexedSource>>>,
    labels: Vec<LabeledSpan>,
    related: Vec<MietteDiagnostic>,
}

impl MietteDiagnostic {
    fn new(d: &Diagnostic, files: &[Arc<NamedSource<IndexedSource>>]) -> MietteDiagnostic {
        let primary = d.primary_span().map(|s| s.file);
        let in_file =
            |file: Option<FileId>| d.labels.iter().filter(move |l| Some(l.span.file) == file);
        let labels = in_file(primary)
            .map(|l| labeled(l.span, &l.message))
            .collect();
        let related = d
            .labels
            .iter()
            .filter(|l| Some(l.span.file) != primary)
            .map(|l| MietteDiagnostic {
                code: String::new(),
                message: l.message.clone(),
                severity: None,
                help: None,
                source: Some(files[l.span.file.0 as usize].clone()),
                labels: vec![labeled(l.span, &l.message)],
                related: Vec::new(),
            })
            .collect();
        MietteDiagnostic {
            code: format!("{}({})", d.code.id, d.code.name),
            message: d.message.clone(),
            severity: Some(d.severity()),
            help: d.help.clone(),
            source: primary.map(|f| files[f.0 as usize].clone()),
            labels,
            related,
        }
    }
}

fn labeled(span: Span, message: &str) -> LabeledSpan {
    LabeledSpan::new_with_span(
        Some(message.to_string()),
        SourceSpan::new((span.start as usize).into(), span.len as usize),
    )
}

impl fmt::Display for MietteDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MietteDiagnostic {}

impl miette::Diagnostic for MietteDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Some(Severity::Error) => miette::Severity::Error,
            Some(Severity::Warning) => miette::Severity::Warning,
            None => miette::Severity::Advice,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_deref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        (!self.labels.is_empty())
            .then(|| Box::new(self.labels.iter().cloned()) as Box<dyn Iterator<Item = LabeledSpan>>)
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        (!self.related.is_empty()).then(|| {
            Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic))
                as Box<dyn Iterator<Item = _>>
        })
    }
}

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
    let at = |span: Span| {
        let lc = sources.line_col(span);
        (
            sources.path(span.file).display().to_string(),
            lc.line,
            lc.column,
        )
    };
    let primary = d.primary_span().map(at);
    JsonDiagnostic {
        code: d.code.id,
        name: d.code.name,
        severity: d.severity(),
        message: &d.message,
        file: primary.as_ref().map(|p| p.0.clone()),
        line: primary.as_ref().map(|p| p.1),
        column: primary.as_ref().map(|p| p.2),
        help: d.help.as_deref(),
        labels: d
            .labels
            .iter()
            .map(|l| {
                let (file, line, column) = at(l.span);
                JsonLabel {
                    file,
                    line,
                    column,
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
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
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
    use proptest::prelude::*;

    proptest! {
        /// The indexed reader returns what miette's own reader returns.
        #[test]
        fn indexed_source_reads_like_miette(
            lines in prop::collection::vec("[a-z: ]{0,12}", 1..30),
            at in 0usize..400,
            len in 0usize..20,
            before in 0usize..3,
            after in 0usize..3,
        ) {
            let text = lines.join("\n");
            let start = at.min(text.len());
            let span = SourceSpan::new(start.into(), len.min(text.len() - start));
            let mut map = SourceMap::new();
            let id = map.add("t.yaml", text.clone());
            let indexed = IndexedSource(map.files().find(|(f, _)| *f == id).unwrap().1.clone());
            let expected = text.as_str().read_span(&span, before, after);
            let got = indexed.read_span(&span, before, after);
            match (expected, got) {
                (Ok(e), Ok(g)) => {
                    prop_assert_eq!(e.data(), g.data());
                    prop_assert_eq!(e.span(), g.span());
                    prop_assert_eq!(e.line(), g.line());
                    prop_assert_eq!(e.column(), g.column());
                }
                (Err(_), Err(_)) => {}
                (e, g) => prop_assert!(false, "miette: {:?}, indexed: {:?}", e.is_ok(), g.is_ok()),
            }
        }
    }

    #[test]
    fn github_escaping() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
