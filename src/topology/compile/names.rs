//! Name uniqueness across the files of a topology.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, codes};
use crate::source::{FileId, Span};
use crate::spec::Spanned;

/// The kinds of object whose names must be unique.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Exchange,
    Queue,
    Policy,
    User,
    Service,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Exchange => "exchange",
            Kind::Queue => "queue",
            Kind::Policy => "policy",
            Kind::User => "user",
            Kind::Service => "service",
        }
    }
}

/// First declaration of each name, per kind.
#[derive(Default)]
pub(super) struct Seen {
    first: HashMap<(Kind, String), Option<Span>>,
}

impl Seen {
    /// Records a name declared in the spec; false (and a diagnostic) when
    /// the name is taken.
    pub fn declared(
        &mut self,
        kind: Kind,
        name: &Spanned<String>,
        file: FileId,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        self.record(
            kind,
            &name.value,
            Some(super::span(file, name.loc)),
            None,
            out,
        )
    }

    /// Records a name a service expansion wants; `service` says who wants it.
    pub fn generated(
        &mut self,
        kind: Kind,
        name: &str,
        span: Option<Span>,
        service: &str,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        self.record(kind, name, span, Some(service), out)
    }

    /// Records `name`; on a repeat reports it and returns false.
    fn record(
        &mut self,
        kind: Kind,
        name: &str,
        span: Option<Span>,
        generated_by: Option<&str>,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        let key = (kind, name.to_string());
        let Some(&previous) = self.first.get(&key) else {
            self.first.insert(key, span);
            return true;
        };
        let kind = kind.as_str();
        let (message, help) = match generated_by {
            None => (
                format!("{kind} {name:?} is declared twice"),
                format!(
                    "names are unique per kind across all files of a topology: rename or remove one {kind}"
                ),
            ),
            Some(service) => (
                format!("service {service:?} generates {kind} {name:?}, which already exists"),
                format!(
                    "rename the declared {kind}, or give the service another queue name with `queue:`"
                ),
            ),
        };
        out.push(
            Diagnostic::new(&codes::DUPLICATE_NAME, message)
                .label(span, "declared again here")
                .label(previous, "first declared here")
                .help(help),
        );
        false
    }
}
