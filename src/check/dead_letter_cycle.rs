//! E401 dead-letter-cycle: messages dead-lettered round a cycle with no
//! consumer to reject them are dropped by the broker when they come back.

use std::collections::HashMap;

use super::cycles::Cycles;
use super::{Context, list};
use crate::diagnostic::{Diagnostic, codes};
use crate::routing::Headers;
use crate::topology::{Consumer, DestinationType, Queue};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let t = cx.topology;
    // Only queues that dead-letter can be part of a cycle.
    let dead_lettering: Vec<&Queue> = t
        .queues
        .values()
        .filter(|q| q.dead_letter_exchange().is_some())
        .collect();
    if dead_lettering.is_empty() {
        return;
    }
    let mut graph = Cycles::new(t.queues.keys().map(String::as_str));
    let mut incoming: HashMap<&str, Vec<&str>> = HashMap::new();
    for b in t
        .bindings
        .iter()
        .filter(|b| b.destination_type == DestinationType::Queue)
    {
        incoming
            .entry(b.destination.as_str())
            .or_default()
            .push(b.routing_key.as_str());
    }
    let none = Headers::new();
    for q in dead_lettering {
        let dlx = q.dead_letter_exchange().unwrap_or_default();
        let arrived_with = incoming
            .get(q.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        for key in dead_letter_keys(q, arrived_with) {
            let Ok(route) = cx.router.reach(dlx, &key, &none) else {
                continue;
            };
            for target in &route.queues {
                graph.edge(&q.name, target);
            }
        }
    }
    for found in graph.loops() {
        let queues: Vec<&Queue> = found.iter().map(|n| &t.queues[*n]).collect();
        let rejecting = queues
            .iter()
            .any(|q| matches!(q.consumer, Consumer::Service(_) | Consumer::External));
        if rejecting {
            continue;
        }
        let mut names = found;
        names.sort_unstable();
        let mut diagnostic = Diagnostic::new(
            &codes::DEAD_LETTER_CYCLE,
            format!("queues {} dead-letter into each other and nothing consumes them: the broker drops a message that comes round", list(&names)),
        )
        .help("RabbitMQ drops dead letters that cycle without a rejection: break the cycle, or let a consumer reject from one of the queues");
        for q in &queues {
            diagnostic = diagnostic.label(
                q.origin
                    .attr(crate::vocabulary::arguments::DEAD_LETTER_EXCHANGE),
                "dead-letters from here",
            );
        }
        out.push(diagnostic);
    }
}

/// The routing keys a dead letter from `q` may carry: the configured
/// dead-letter key, or else the keys it arrived with (binding keys, with
/// wildcard words standing for some word).
fn dead_letter_keys(q: &Queue, arrived_with: &[&str]) -> Vec<String> {
    if let Some(key) = q.dead_letter_routing_key() {
        return vec![key.to_string()];
    }
    let mut keys: Vec<String> = arrived_with
        .iter()
        .map(|key| {
            key.split('.')
                .filter(|w| *w != "#")
                .map(|w| if w == "*" { "_" } else { w })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    keys.push(q.name.clone());
    keys
}

#[cfg(test)]
mod tests {
    use crate::spec::load_str;
    use crate::validate::validate_loaded;

    fn cycles(yaml: &str) -> usize {
        let v = validate_loaded(load_str("t.yaml", yaml));
        v.diagnostics.iter().filter(|d| d.code.id == "E401").count()
    }

    /// Two queues that expire into each other through a topic exchange:
    /// `q` is fed by `key`, and its dead letters keep the key they came with.
    fn through(key: &str, r_binding: &str) -> String {
        format!(
            "version: 1\nexchanges:\n  x: {{ type: topic }}\n  dlx: {{ type: topic }}\nqueues:\n  q:\n    message_ttl: 1s\n    dead_letter: {{ exchange: dlx }}\n    bindings: [{{ exchange: x, key: \"{key}\" }}]\n  r:\n    message_ttl: 1s\n    dead_letter: {{ exchange: x }}\n    bindings: [{{ exchange: dlx, key: \"{r_binding}\" }}]\n"
        )
    }

    #[test]
    fn a_multi_word_wildcard_stands_for_no_word() {
        // A message that reached q by "a.#" may carry "a", which r takes.
        assert_eq!(cycles(&through("a.#", "a")), 1);
    }

    #[test]
    fn a_single_word_wildcard_stands_for_one_word() {
        assert_eq!(cycles(&through("a.*", "a.*")), 1);
        // "a.*" never delivers a one-word key.
        assert_eq!(cycles(&through("a.*", "a")), 0);
    }

    #[test]
    fn keys_of_bindings_into_an_exchange_of_the_same_name_do_not_reach_the_queue() {
        // Exchange `q` gets "loop" from x; queue `q` never sees that key, so
        // its dead letters never carry it to r.
        let yaml = "version: 1\nexchanges:\n  x: { type: direct }\n  q: { type: fanout }\n  dlx: { type: direct }\nqueues:\n  q:\n    message_ttl: 1s\n    dead_letter: { exchange: dlx }\n    bindings: [{ exchange: x, key: k1 }]\n  r:\n    message_ttl: 1s\n    dead_letter: { exchange: x, routing_key: k1 }\n    bindings: [{ exchange: dlx, key: loop }]\nbindings:\n  - { exchange: x, to_exchange: q, key: loop }\n";
        assert_eq!(cycles(yaml), 0);
    }
}
