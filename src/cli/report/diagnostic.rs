//! A warren diagnostic in the shape miette renders.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceSpan};

use super::source::{IndexedSource, LONG_LINE};
use crate::diagnostic::{Diagnostic, Severity};
use crate::printable::for_people;
use crate::source::Span;

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
        let primary = d.primary_span();
        let primary_file = primary.map(|s| s.file);
        // A label goes in the primary snippet when it is in the same file
        // and close enough to be drawn with it; others become notes.
        let together = |l: &&crate::diagnostic::Label| match primary {
            Some(p) => {
                l.span.file == p.file
                    && files[p.file.0 as usize]
                        .inner()
                        .shown_together(p.start as usize, l.span.start as usize)
            }
            None => false,
        };
        let labels = d
            .labels
            .iter()
            .filter(together)
            .map(|l| labeled(l.span, &l.message))
            .collect();
        let related = d
            .labels
            .iter()
            .filter(|l| !together(l))
            .map(|l| MietteDiagnostic {
                code: String::new(),
                message: for_people(&l.message),
                severity: None,
                help: None,
                source: Some(files[l.span.file.0 as usize].clone()),
                labels: vec![labeled(l.span, &l.message)],
                related: Vec::new(),
            })
            .collect();
        MietteDiagnostic {
            code: format!("{}({})", d.code.id, d.code.name),
            message: for_people(&d.message),
            severity: Some(d.severity()),
            help: d.help.as_deref().map(for_people),
            source: primary_file.map(|f| files[f.0 as usize].clone()),
            labels,
            related,
        }
    }
}

/// A label as miette draws it: its text made safe, its length capped (a
/// span over a 200 MB value is drawn over its start).
fn labeled(span: Span, message: &str) -> LabeledSpan {
    LabeledSpan::new_with_span(
        Some(for_people(message)),
        SourceSpan::new(
            (span.start as usize).into(),
            (span.len as usize).min(LONG_LINE),
        ),
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
