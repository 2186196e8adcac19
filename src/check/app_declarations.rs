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
    // Said when the vhost's default queue type does not count because an
    // older release may run the topology.
    let assumed = match t.settings.default_queue_type {
        Some(d) if d != plain => format!(
            " (a queue declared without x-queue-type is {}: RabbitMQ 3.10 keeps no default queue type; state `broker: {{ version }}` if the topology runs on a later release only)",
            plain.as_str()
        ),
        _ => String::new(),
    };
    for s in t.services.values() {
        for app in &s.asserts {
            let held = match app.object {
                Declared::Exchange { .. } => t
                    .exchange(&app.name)
                    .map(|x| (Declaration::of_exchange(x), x.settings_via)),
                Declared::Queue { .. } => t
                    .queues
                    .get(&app.name)
                    .filter(|q| !q.per_instance)
                    .map(|q| (Declaration::of_queue(q, plain), q.settings_via)),
            };
            let Some((held, via)) = held else {
                out.push(unmanaged(&s.name, app));
                continue;
            };
            let refusal = app.refusal(&held, plain);
            if refusal.is_empty() {
                continue;
            }
            let assumed = if refusal.iter().any(|r| r.contains("'x-queue-type'")) {
                assumed.as_str()
            } else {
                ""
            };
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
                        "service {:?} declares {} {:?} in a way RabbitMQ refuses: {}{assumed}",
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

/// W611 for a declaration of an object the spec does not manage.
fn unmanaged(service: &str, app: &Declaration) -> Diagnostic {
    Diagnostic::new(
        &codes::APP_DECLARES_UNMANAGED,
        format!(
            "service {service:?} declares {} {:?}, which the spec does not declare: the application creates it, and warren leaves it alone",
            app.kind(),
            app.name
        ),
    )
    .label(app.span, "not in the spec")
    .help("declare it in the spec so that warren manages it (`warren plan --prune` would delete it otherwise), or check the name")
}
