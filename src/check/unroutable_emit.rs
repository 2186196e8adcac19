//! W304 unroutable-emit, W305 wildcard-in-emit, E108
//! emit-to-internal-exchange and E609 emit-into-generated.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::routing::Headers;
use crate::topology::ExchangeType;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let none = Headers::new();
    for s in cx.topology.services.values() {
        for e in &s.emits {
            if e.key.split('.').any(|w| w.contains('*') || w.contains('#')) {
                out.push(
                    Diagnostic::new(&codes::WILDCARD_IN_EMIT, format!("service {:?} emits key {:?}, which contains a wildcard", s.name, e.key))
                        .label(e.span, "wildcard in a routing key")
                        .help("publishers send routing keys literally; * and # are for binding keys: list each key the service emits"),
                );
                continue;
            }
            let Some(x) = cx.topology.exchange(&e.exchange) else {
                continue;
            };
            if x.internal {
                out.push(
                    Diagnostic::new(&codes::EMIT_TO_INTERNAL, format!("service {:?} emits to {:?}, an internal exchange", s.name, e.exchange))
                        .label(e.exchange_span.or(e.span), "internal exchange")
                        .label(x.origin.attr("internal"), "internal here")
                        .help("only other exchanges can publish to an internal exchange: emit to the exchange that binds to it, or make it not internal"),
                );
                continue;
            }
            // A delayed emit into one is E607, reported by compile.
            if let (Some(by), None) = (&x.origin.generated_by, e.delay) {
                out.push(
                    Diagnostic::new(
                        &codes::EMIT_INTO_GENERATED,
                        format!(
                            "service {:?} emits to {:?}, which warren generates for service {by:?}",
                            s.name, e.exchange
                        ),
                    )
                    .label(e.exchange_span.or(e.span), "generated exchange")
                    .help("emit to an exchange the spec declares; a retry or delay exchange is warren's own plumbing, and an event sent there would be taken for a retry"),
                );
                continue;
            }
            // Headers routing depends on headers the spec does not declare.
            if x.kind == ExchangeType::Headers {
                continue;
            }
            if let Ok(false) = cx.router.delivers(&e.exchange, &e.key, &none) {
                out.push(
                    Diagnostic::new(&codes::UNROUTABLE_EMIT, format!("service {:?} emits {:?} to {:?}, but no binding matches it: the broker drops it", s.name, e.key, e.exchange))
                        .label(e.span, "reaches no queue")
                        .label(x.origin.span, "exchange without a matching binding")
                        .help("bind a queue that wants this event, or give the exchange an `alternate_exchange:` that catches unrouted messages"),
                );
            }
        }
    }
}
