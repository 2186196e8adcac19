//! Least-privilege permissions derived from what services do (docs/design.md,
//! "Least privilege from the spec").

use std::collections::{BTreeMap, BTreeSet};

use crate::topology::{ExchangeType, Permissions, TopicPermission, Topology};

/// For every user some service runs as: read on the queues its services
/// consume (for a per-instance consumer, configure, write and read on
/// server-named queues and read on the exchanges it binds them to), write on the exchanges they emit to (the delay exchange, for a
/// delayed emit) and on their retry exchanges, configure on nothing; on topic exchanges, publishing limited to
/// the declared routing keys.
pub(super) fn derive(topology: &mut Topology) {
    #[derive(Default)]
    struct Needs {
        read: BTreeSet<String>,
        write: BTreeSet<String>,
        topic_keys: BTreeMap<String, BTreeSet<String>>,
        /// Consumes through a per-instance queue.
        server_named: bool,
    }
    let mut needs: BTreeMap<String, Needs> = BTreeMap::new();
    for service in topology.services.values() {
        let Some(user) = &service.user else { continue };
        let n = needs.entry(user.clone()).or_default();
        let instance = service
            .queue
            .as_ref()
            .and_then(|q| topology.queues.get(q))
            .filter(|q| q.per_instance);
        match instance {
            // Declaring, binding and reading a server-named queue: configure,
            // write and read on it; binding also reads the source exchange.
            Some(q) => {
                n.server_named = true;
                n.read
                    .extend(topology.bindings_into(&q.name).map(|b| b.source.clone()));
            }
            None => n.read.extend(service.queue.clone()),
        }
        if let Some(retry) = &service.retry {
            n.write.insert(retry.exchange.clone());
        }
        for emit in &service.emits {
            // A delayed emit is published to its delay exchange only; the
            // broker dead-letters it into the target without a check.
            let exchange = emit.publish_exchange();
            let is_topic = topology
                .exchanges
                .get(&exchange)
                .is_some_and(|x| x.kind == ExchangeType::Topic);
            n.write.insert(exchange.clone());
            if is_topic {
                n.topic_keys
                    .entry(exchange)
                    .or_default()
                    .insert(emit.key.clone());
            }
        }
    }
    for (name, n) in needs {
        let Some(user) = topology.users.get_mut(&name) else {
            continue; // check reports the unknown user
        };
        let server_named = n.server_named.then_some(SERVER_NAMED);
        user.permissions = Some(Permissions {
            configure: server_named.unwrap_or("^$").into(),
            write: pattern(&n.write, server_named),
            read: pattern(&n.read, server_named),
        });
        user.topic_permissions = n
            .topic_keys
            .into_iter()
            .map(|(exchange, keys)| TopicPermission {
                exchange,
                write: any_of(&keys),
                read: "^$".into(),
            })
            .collect();
    }
}

/// The names the broker gives the queues it names (`amq.gen-` and a
/// random suffix): a per-instance consumer may declare those, and only
/// those, and the broker lets only the declaring connection use each.
const SERVER_NAMED: &str = r"^amq\.gen-.*$";

/// `any_of(names)`, or-ed with a whole pattern.
fn pattern(names: &BTreeSet<String>, also: Option<&str>) -> String {
    match also {
        None => any_of(names),
        Some(also) if names.is_empty() => also.to_string(),
        Some(also) => format!("{}|{also}", any_of(names)),
    }
}

/// A regular expression matching exactly these names (`^$` for none).
fn any_of(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        return "^$".into();
    }
    let escaped: Vec<String> = names.iter().map(|n| regex::escape(n)).collect();
    format!("^({})$", escaped.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exactly_the_names() {
        let names: BTreeSet<String> = ["order_events".into(), "inventory.retry".into()].into();
        let pattern = any_of(&names);
        assert_eq!(pattern, r"^(inventory\.retry|order_events)$");
        let re = regex::Regex::new(&pattern).unwrap();
        assert!(re.is_match("inventory.retry"));
        assert!(!re.is_match("inventoryXretry"));
        assert!(!re.is_match("order_events2"));
        assert_eq!(any_of(&BTreeSet::new()), "^$");
    }
}
