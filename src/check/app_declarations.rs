//! E610 app-declaration-refused: what a service's own code declares
//! (`asserts:`) against the objects warren manages, as RabbitMQ compares
//! them (`topology::Declaration::refusal`).

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::{Declaration, Declared};
use crate::vocabulary::SettingsVia;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let t = cx.topology;
    let plain = t.settings.plain_queue_type(&cx.targets);
    for s in t.services.values() {
        for app in &s.asserts {
            let (held, via) = match app.object {
                Declared::Exchange { .. } => match t.exchanges.get(&app.name) {
                    Some(x) => (Declaration::of_exchange(x), x.settings_via),
                    None => continue,
                },
                Declared::Queue { .. } => match t.queues.get(&app.name) {
                    Some(q) => (Declaration::of_queue(q, plain), q.settings_via),
                    None => continue,
                },
            };
            let refusal = app.refusal(&held, plain);
            if refusal.is_empty() {
                continue;
            }
            let help = if via == SettingsVia::Arguments && !held.arguments.is_empty() {
                format!(
                    "give the {} `settings: policy` (or `defaults: {{ settings: policy }}`) so that its settings stay out of its declaration, or declare it as `warren explain {} --client amqplib` shows",
                    app.kind(),
                    s.name
                )
            } else {
                format!(
                    "declare it as `warren explain {} --client amqplib` shows, or change the spec to match the application",
                    s.name
                )
            };
            out.push(
                Diagnostic::new(
                    &codes::APP_DECLARATION_REFUSED,
                    format!(
                        "service {:?} declares {} {:?} in a way RabbitMQ refuses with PRECONDITION_FAILED: {}",
                        s.name,
                        app.kind(),
                        app.name,
                        refusal.join("; ")
                    ),
                )
                .label(app.span, "declared by the application")
                .help(help),
            );
        }
    }
}
