//! Findings about a topology: what is wrong, where, and how to fix it.
//!
//! Loading, compiling and checking all report [`Diagnostic`]s; they are values,
//! not errors, so one run reports every problem at once. Rendering (miette,
//! JSON, GitHub annotations) lives in `cli/`.

mod code;
pub mod codes;

pub use code::{Code, Severity};

use crate::source::Span;

/// One finding: a code, what is wrong, where, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Which check found it, and how serious it is.
    pub code: &'static Code,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The first label is the primary location.
    pub labels: Vec<Label>,
    /// How to fix it, when there is more to say than the message.
    pub help: Option<String>,
}

/// A place in a source file, with what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// The bytes the label points at.
    pub span: Span,
    /// What is wrong there.
    pub message: String,
}

impl Diagnostic {
    /// Messages, labels and help are clipped (`printable::clip`): a
    /// 200 MB name must not reach any output whole.
    pub fn new(code: &'static Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            message: clipped(message.into()),
            labels: Vec::new(),
            help: None,
        }
    }

    /// Adds a label; spans of generated objects (`None`) are skipped.
    pub fn label(mut self, span: impl Into<Option<Span>>, message: impl Into<String>) -> Self {
        if let Some(span) = span.into() {
            self.labels.push(Label {
                span,
                message: clipped(message.into()),
            });
        }
        self
    }

    /// Sets the help text (clipped like the message).
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(clipped(help.into()));
        self
    }

    /// The severity of the diagnostic's code.
    pub fn severity(&self) -> Severity {
        self.code.severity
    }

    /// Where the diagnostic points first: its first label's span; `None` when
    /// it has no label.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

fn clipped(text: String) -> String {
    match crate::printable::clip(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(short) => short,
    }
}

/// Sorts diagnostics by file and position so output is stable.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary_span(), a.code.id, &a.message).cmp(&(b.primary_span(), b.code.id, &b.message))
    });
}

/// Counts errors and warnings.
pub fn count(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .count();
    (errors, diagnostics.len() - errors)
}
