//! `settings: policy`: the policies that carry the optional settings of
//! exchanges and queues declared without them.
//!
//! Only one policy applies to an object (the highest priority), so each
//! object's policy holds its own settings merged into the definition of the
//! spec's policy that would otherwise apply to it, one priority above that
//! policy. Objects whose merged definitions are equal share one policy,
//! which is as few as can give each object exactly its settings.

use std::collections::BTreeMap;

use crate::topology::policy_match::PolicySet;
use crate::topology::{ApplyTo, Arguments, Origin, Policy, SETTINGS_POLICY_PREFIX, Topology};
use crate::vocabulary::{Applies, Setting, lower_limit};

/// One object's share of a settings policy.
struct Wanted {
    kind: &'static str,
    priority: i64,
    definition: Arguments,
}

/// Adds a `warren.settings.*` policy for every group of objects that take
/// their settings through policies.
pub(super) fn generate(topology: &mut Topology) {
    let (spec, _) = PolicySet::new(
        topology
            .policies
            .values()
            .filter(|p| !p.is_settings_policy()),
    );
    // (kind, priority, definition as JSON) -> the definition and its objects
    type Group = (Arguments, Vec<(String, Origin)>);
    let mut groups: BTreeMap<(&'static str, i64, String), Group> = BTreeMap::new();
    let mut add = |name: &str, origin: &Origin, wanted: Wanted| {
        let key = (
            wanted.kind,
            wanted.priority,
            serde_json::to_string(&wanted.definition).unwrap_or_default(),
        );
        groups
            .entry(key)
            .or_insert_with(|| (wanted.definition, Vec::new()))
            .1
            .push((name.to_string(), origin.clone()));
    };
    for q in topology.queues.values() {
        let own = q.policy_settings();
        if own.is_empty() {
            continue;
        }
        let winner = spec.applicable(q).into_iter().next();
        let wanted = merged("queue", winner, own, Applies::to_queues);
        add(&q.name, &q.origin, wanted);
    }
    for x in topology.exchanges.values() {
        let own = x.policy_settings();
        if own.is_empty() {
            continue;
        }
        let winner = spec.applicable_to_exchange(&x.name).into_iter().next();
        let wanted = merged("exchange", winner, own, Applies::to_exchanges);
        add(&x.name, &x.origin, wanted);
    }
    let policies: Vec<Policy> = groups
        .into_iter()
        .map(|((kind, priority, _), (definition, members))| {
            let names: Vec<String> = members.iter().map(|(n, _)| regex::escape(n)).collect();
            Policy {
                name: format!("{SETTINGS_POLICY_PREFIX}{kind}.{}", members[0].0),
                pattern: format!("^(?:{})$", names.join("|")),
                apply_to: if kind == "queue" {
                    ApplyTo::Queues
                } else {
                    ApplyTo::Exchanges
                },
                priority,
                definition,
                origin: Origin::at(members[0].1.span),
            }
        })
        .collect();
    for p in policies {
        topology.policies.insert(p.name.clone(), p);
    }
}

/// The definition and priority of the policy an object needs: the keys of
/// the spec's policy that would apply to it (`winner`), with the object's
/// own settings over them (the lower of two limits, as the broker takes
/// the lower of an argument and a policy).
fn merged(
    kind: &'static str,
    winner: Option<&Policy>,
    own: Arguments,
    applies: fn(Applies) -> bool,
) -> Wanted {
    let mut definition: Arguments = winner
        .map(|w| {
            w.definition
                .iter()
                .filter(|(k, _)| Setting::by_policy_key(k).is_none_or(|s| applies(s.applies)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    for (key, value) in own {
        let lower_wins = Setting::by_policy_key(&key).is_some_and(|s| s.lower_wins);
        let value = match definition.get(&key) {
            Some(theirs) if lower_wins => lower_limit(theirs, &value).clone(),
            _ => value,
        };
        definition.insert(key, value);
    }
    Wanted {
        kind,
        priority: winner.map_or(0, |w| w.priority.saturating_add(1)),
        definition,
    }
}
