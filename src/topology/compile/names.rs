//! Name uniqueness across the files of a topology.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, codes};
use crate::source::{FileId, Span};
use crate::spec::Spanned;

/// First declaration of each name, per kind.
#[derive(Default)]
pub(super) struct Seen {
    exchanges: HashMap<String, Option<Span>>,
    queues: HashMap<String, Option<Span>>,
    policies: HashMap<String, Option<Span>>,
    users: HashMap<String, Option<Span>>,
    services: HashMap<String, Option<Span>>,
}

impl Seen {
    pub fn exchange(
        &mut self,
        name: &Spanned<String>,
        file: FileId,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        first(
            &mut self.exchanges,
            "exchange",
            &name.value,
            Some(super::span(file, name.loc)),
            None,
            out,
        )
    }
    pub fn queue(
        &mut self,
        name: &Spanned<String>,
        file: FileId,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        first(
            &mut self.queues,
            "queue",
            &name.value,
            Some(super::span(file, name.loc)),
            None,
            out,
        )
    }
    pub fn policy(
        &mut self,
        name: &Spanned<String>,
        file: FileId,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        first(
            &mut self.policies,
            "policy",
            &name.value,
            Some(super::span(file, name.loc)),
            None,
            out,
        )
    }
    pub fn user(
        &mut self,
        name: &Spanned<String>,
        file: FileId,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        first(
            &mut self.users,
            "user",
            &name.value,
            Some(super::span(file, name.loc)),
            None,
            out,
        )
    }
    pub fn service(
        &mut self,
        name: &Spanned<String>,
        file: FileId,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        first(
            &mut self.services,
            "service",
            &name.value,
            Some(super::span(file, name.loc)),
            None,
            out,
        )
    }
    /// A name a service expansion wants; `service` says who wants it.
    pub fn generated_exchange(
        &mut self,
        name: &str,
        span: Option<Span>,
        service: &str,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        first(
            &mut self.exchanges,
            "exchange",
            name,
            span,
            Some(service),
            out,
        )
    }
    pub fn generated_queue(
        &mut self,
        name: &str,
        span: Option<Span>,
        service: &str,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        first(&mut self.queues, "queue", name, span, Some(service), out)
    }
}

/// Records `name`; on a repeat reports it and returns false.
fn first(
    seen: &mut HashMap<String, Option<Span>>,
    kind: &str,
    name: &str,
    span: Option<Span>,
    generated_by: Option<&str>,
    out: &mut Vec<Diagnostic>,
) -> bool {
    let Some(&previous) = seen.get(name) else {
        seen.insert(name.to_string(), span);
        return true;
    };
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
