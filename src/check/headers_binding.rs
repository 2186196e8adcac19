//! E301 invalid-x-match and W306 empty-headers-binding.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::{ExchangeType, HeadersMatch};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for b in &cx.topology.bindings {
        let is_headers = cx
            .topology
            .exchanges
            .get(&b.source)
            .is_some_and(|x| x.kind == ExchangeType::Headers);
        if !is_headers {
            continue;
        }
        let mode = b.arguments.get("x-match");
        let parsed = match mode {
            None => Some(HeadersMatch::All),
            Some(v) => v.as_str().and_then(HeadersMatch::parse),
        };
        let Some(parsed) = parsed else {
            out.push(
                Diagnostic::new(
                    &codes::INVALID_X_MATCH,
                    format!(
                        "headers binding from {:?} to {:?} has x-match {}",
                        b.source,
                        b.destination,
                        mode.map(|m| m.to_string()).unwrap_or_default()
                    ),
                )
                .label(b.origin.attr("x-match"), "invalid x-match")
                .help("x-match is one of all, any, all-with-x, any-with-x (use `match:`)"),
            );
            continue;
        };
        let with_x = matches!(parsed, HeadersMatch::AllWithX | HeadersMatch::AnyWithX);
        let compared = b
            .arguments
            .keys()
            .filter(|k| *k != "x-match" && (with_x || !k.starts_with("x-")))
            .count();
        if compared == 0 {
            let effect = match parsed {
                HeadersMatch::All | HeadersMatch::AllWithX => "matches every message",
                HeadersMatch::Any | HeadersMatch::AnyWithX => "matches no message",
            };
            out.push(
                Diagnostic::new(
                    &codes::EMPTY_HEADERS_BINDING,
                    format!(
                        "headers binding from {:?} to {:?} compares no header, so it {effect}",
                        b.source, b.destination
                    ),
                )
                .label(b.origin.span, "no headers")
                .help("list the headers to match under `headers:`"),
            );
        }
    }
}
