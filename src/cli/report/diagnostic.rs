//! A warren diagnostic in the shape miette renders.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceSpan};

use super::source::IndexedSource;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{FileId, Span};

/// A warren diagnostic as miette sees it: one source file (that of the
/// first label); labels in other files become related diagnostics.
#[derive(Debug)]
pub(super) struct MietteDiagnostic {
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
    pub(super) fn new(
        d: &Diagnostic,
        files: &[Arc<NamedSource<IndexedSource>>],
    ) -> MietteDiagnostic {
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
