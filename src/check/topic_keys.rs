//! W302 wildcard-inside-word and W303 key-ignored.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::ExchangeType;

/// True when `*` or `#` appears inside a longer word, where RabbitMQ
/// matches it literally.
pub fn wildcard_inside_word(key: &str) -> bool {
    key.split('.')
        .any(|w| w.len() > 1 && (w.contains('*') || w.contains('#')))
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for b in &cx.topology.bindings {
        let Some(x) = cx.topology.exchange(&b.source) else {
            continue;
        };
        match x.kind {
            ExchangeType::Topic if wildcard_inside_word(&b.routing_key) => out.push(
                Diagnostic::new(
                    &codes::WILDCARD_INSIDE_WORD,
                    format!("topic key {:?} has * or # inside a word, where it matches literally", b.routing_key),
                )
                .label(b.origin.attr("key"), "literal wildcard")
                .help("wildcards stand for whole dot-separated words: write \"order.*\" rather than \"order*\""),
            ),
            ExchangeType::Fanout | ExchangeType::Headers if !b.routing_key.is_empty() => out.push(
                Diagnostic::new(
                    &codes::KEY_IGNORED,
                    format!("{} exchange {:?} ignores the binding key {:?}", x.kind, x.name, b.routing_key),
                )
                .label(b.origin.attr("key"), "ignored")
                .help(match x.kind {
                    ExchangeType::Headers => "headers exchanges route on `headers:`: remove the key",
                    _ => "fanout exchanges deliver every message to every binding: remove the key, or use a direct or topic exchange",
                }),
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_as_whole_words_are_fine() {
        assert!(!wildcard_inside_word("order.*"));
        assert!(!wildcard_inside_word("#"));
        assert!(!wildcard_inside_word("a.#.b"));
        assert!(wildcard_inside_word("order*"));
        assert!(wildcard_inside_word("a.b#"));
        assert!(wildcard_inside_word("a.*x.c"));
    }
}
