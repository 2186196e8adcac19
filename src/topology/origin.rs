//! Where an object of the model came from.

use serde::Serialize;

use crate::source::Span;

/// The YAML that caused an object, so diagnostics and plan lines can point
/// at it. Objects generated from a service keep the service's name and the
/// span of the setting that generated them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The object's own span (its name, or the setting that generated it).
    #[serde(skip)]
    pub span: Option<Span>,
    /// Set when a service expansion created the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_by: Option<String>,
    /// Spans of individual attributes, keyed by attribute name (`durable`,
    /// `x-message-ttl`, `key`, ...).
    #[serde(skip)]
    pub attrs: Vec<(String, Span)>,
}

impl Origin {
    /// An object declared in the spec at `span`.
    pub fn at(span: Option<Span>) -> Origin {
        Origin {
            span,
            ..Origin::default()
        }
    }

    /// An object `service`'s expansion generated, from the setting at `span`.
    pub fn generated(service: &str, span: Option<Span>) -> Origin {
        Origin {
            span,
            generated_by: Some(service.to_string()),
            attrs: Vec::new(),
        }
    }

    /// Records where attribute `name` was written; a `None` span is not
    /// recorded.
    pub fn with_attr(&mut self, name: impl Into<String>, span: Option<Span>) {
        if let Some(span) = span {
            self.attrs.push((name.into(), span));
        }
    }

    /// The span of an attribute, or of the object when the attribute has none.
    pub fn attr(&self, name: &str) -> Option<Span> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
            .or(self.span)
    }
}
