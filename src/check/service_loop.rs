//! W323 service-event-loop: services that trigger each other in a cycle.

use super::cycles::Cycles;
use super::{Context, list};
use crate::diagnostic::{Diagnostic, codes};
use crate::routing::Headers;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let t = cx.topology;
    let mut graph = Cycles::new(t.services.keys().map(String::as_str));
    // Which services consume each queue, so that an emit's edges cost the
    // queues it reaches, not every service.
    let mut consumers: std::collections::HashMap<&str, Vec<&str>> = Default::default();
    for target in t.services.values() {
        if let Some(q) = &target.queue {
            consumers.entry(q).or_default().push(&target.name);
        }
    }
    let none = Headers::new();
    for s in t.services.values() {
        for e in &s.emits {
            let Ok(route) = cx.router.reach(&e.exchange, &e.key, &none) else {
                continue;
            };
            for queue in &route.queues {
                for target in consumers.get(*queue).into_iter().flatten() {
                    graph.edge(&s.name, target);
                }
            }
        }
    }
    for mut names in graph.loops() {
        names.sort_unstable();
        let mut diagnostic = Diagnostic::new(
            &codes::SERVICE_EVENT_LOOP,
            if names.len() == 1 {
                format!("service {:?} consumes an event it emits itself", names[0])
            } else {
                format!("services {} trigger each other in a loop", list(&names))
            },
        )
        .help("one event can circle forever: narrow a consumer's keys, or emit a distinct key at the end of the chain");
        for name in &names {
            diagnostic = diagnostic.label(t.services[*name].origin.span, "in the loop");
        }
        out.push(diagnostic);
    }
}
