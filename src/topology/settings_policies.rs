//! `settings: policy`: the policies that carry the optional settings of
//! exchanges and queues declared without them. [`generate`] makes them
//! (compile ends with it); [`fold`] turns them back into the objects'
//! settings (export and import start with it), so that a spec written from
//! a broker says `settings: policy` instead of naming warren's policies.
//!
//! Only one policy applies to an object (the highest priority), so each
//! object's policy holds its own settings merged into the definition of the
//! spec's policy that would otherwise apply to it, one priority above that
//! policy. Objects whose merged definitions are equal share one policy,
//! which is as few as can give each object exactly its settings.

use std::collections::BTreeMap;

use super::policy_match::PolicySet;
use super::{ApplyTo, Arguments, Origin, Policy, SETTINGS_POLICY_PREFIX, Topology};
use crate::vocabulary::SettingsVia;
use crate::vocabulary::{Applies, Setting, lower_limit};

/// One object's share of a settings policy.
struct Wanted {
    kind: &'static str,
    priority: i64,
    definition: Arguments,
}

/// Adds a `warren.settings.*` policy for every group of objects that take
/// their settings through policies.
pub fn generate(topology: &mut Topology) {
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
    let mut policies = Vec::new();
    for ((kind, priority, _), (definition, members)) in groups {
        for chunk in chunks(&members) {
            let names: Vec<String> = chunk.iter().map(|(n, _)| escape(n)).collect();
            policies.push(Policy {
                name: format!("{SETTINGS_POLICY_PREFIX}{kind}.{}", chunk[0].0),
                pattern: format!("^(?:{})$", names.join("|")),
                apply_to: if kind == "queue" {
                    ApplyTo::Queues
                } else {
                    ApplyTo::Exchanges
                },
                priority,
                definition: definition.clone(),
                origin: Origin::at(chunk[0].1.span),
            });
        }
    }
    for p in policies {
        topology.policies.insert(p.name.clone(), p);
    }
}

/// RabbitMQ refuses a policy pattern longer than this many bytes.
pub const MAX_PATTERN_BYTES: usize = 1024;

/// `members` cut into runs whose pattern fits [`MAX_PATTERN_BYTES`]: one
/// policy each (a 255-byte name, escaped, fits alone).
fn chunks<T>(members: &[(String, T)]) -> Vec<&[(String, T)]> {
    let mut out = Vec::new();
    let (mut start, mut len) = (0, "^(?:)$".len());
    for (i, (name, _)) in members.iter().enumerate() {
        let more = escape(name).len() + usize::from(i > start);
        if i > start && len + more > MAX_PATTERN_BYTES {
            out.push(&members[start..i]);
            (start, len) = (i, "^(?:)$".len() + escape(name).len());
        } else {
            len += more;
        }
    }
    if start < members.len() {
        out.push(&members[start..]);
    }
    out
}

/// `name` as a PCRE pattern that matches it alone: its metacharacters
/// escaped, nothing else (a shorter pattern than the regex crate's escape).
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
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

/// The topology with its settings policies folded back into the objects
/// they apply to: each key becomes the object's setting again, the object
/// says `settings: policy`, and the policy goes.
pub fn fold(topology: &Topology) -> Topology {
    let mut folded = topology.clone();
    let (owned, _) = PolicySet::new(
        topology
            .policies
            .values()
            .filter(|p| p.is_settings_policy()),
    );
    for q in folded.queues.values_mut() {
        if let Some(p) = owned.applicable(q).first() {
            for (key, value) in &p.definition {
                if let Some(argument) = Setting::by_policy_key(key).and_then(|s| s.argument) {
                    q.arguments
                        .entry(argument.to_string())
                        .or_insert_with(|| value.clone());
                }
            }
            q.settings_via = SettingsVia::Policy;
        }
    }
    for x in folded.exchanges.values_mut() {
        if let Some(p) = owned.applicable_to_exchange(&x.name).first() {
            if let Some(ae) = p
                .definition
                .get(Setting::ALTERNATE_EXCHANGE.key())
                .and_then(|v| v.as_str())
            {
                x.alternate_exchange.get_or_insert_with(|| ae.to_string());
            }
            x.settings_via = SettingsVia::Policy;
        }
    }
    folded.policies.retain(|_, p| !p.is_settings_policy());
    folded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{from_topology, load_str, to_yaml};
    use crate::topology::compile::compile;
    use serde_json::json;

    const SPEC: &str = r#"version: 1
defaults: { settings: policy }
exchanges:
  events: { type: topic, alternate_exchange: lost }
  lost: { type: fanout }
queues:
  a: { external: true, message_ttl: 5s, bindings: [{ exchange: events, key: a }] }
  b: { external: true, message_ttl: 5s, bindings: [{ exchange: events, key: b }] }
  "c.(odd)": { external: true, max_length: 10, bindings: [{ exchange: events, key: c }] }
  kept: { external: true, settings: arguments, message_ttl: 1s, bindings: [{ exchange: lost }] }
policies:
  ops:
    pattern: "^c"
    apply_to: queues
    priority: 4
    definition: { max-length: 50, expires: 3600000 }
"#;

    fn compiled(text: &str) -> Topology {
        let loaded = load_str("t.yaml", text);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let (mut topologies, diagnostics) = compile(&loaded);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        topologies.remove(0)
    }

    #[test]
    fn objects_with_equal_settings_share_a_policy_and_a_spec_policy_is_merged_below() {
        let t = compiled(SPEC);
        let settings: Vec<&Policy> = t
            .policies
            .values()
            .filter(|p| p.is_settings_policy())
            .collect();
        let names: Vec<&str> = settings.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "warren.settings.exchange.events",
                "warren.settings.queue.a",
                "warren.settings.queue.c.(odd)"
            ]
        );
        let shared = &t.policies["warren.settings.queue.a"];
        assert_eq!(shared.pattern, "^(?:a|b)$");
        assert_eq!(
            shared.definition,
            Arguments::from([("message-ttl".into(), json!(5000))])
        );
        // The spec's policy that would apply is merged in, the lower limit
        // kept, one priority above it.
        let odd = &t.policies["warren.settings.queue.c.(odd)"];
        assert_eq!(odd.pattern, r"^(?:c\.\(odd\))$");
        assert_eq!(odd.priority, 5);
        assert_eq!(
            odd.definition,
            Arguments::from([
                ("expires".into(), json!(3600000)),
                ("max-length".into(), json!(10))
            ])
        );
        // Declarations carry nothing a policy can set; the kept queue all.
        assert!(t.queues["a"].declared_arguments().is_empty());
        assert!(t.exchanges["events"].declared_arguments().is_empty());
        assert_eq!(t.queues["kept"].declared_arguments().len(), 1);
        // And every object gets its settings (E507 finds nothing).
        let found = crate::check::check(&t);
        assert!(!found.iter().any(|d| d.code.id == "E507"), "{found:?}");
    }

    #[test]
    fn many_objects_of_one_definition_share_policies_whose_patterns_fit_the_broker() {
        let queues: String = (0..2000)
            .map(|i| format!("  hq-{i:04}: {{ external: true, max_length: 100, bindings: [{{ exchange: events, key: k{i} }}] }}\n"))
            .collect();
        let t = compiled(&format!(
            "version: 1\ndefaults: {{ settings: policy }}\nexchanges:\n  events: {{ type: direct }}\nqueues:\n{queues}"
        ));
        let settings: Vec<&Policy> = t
            .policies
            .values()
            .filter(|p| p.is_settings_policy())
            .collect();
        assert!(settings.len() > 1);
        assert!(
            settings
                .iter()
                .all(|p| p.pattern.len() <= MAX_PATTERN_BYTES)
        );
        // Every queue is matched by exactly one of them, and has no E507.
        let found = crate::check::check(&t);
        assert!(!found.iter().any(|d| d.code.id == "E507"), "{found:?}");
        let long = "q".repeat(250);
        assert_eq!(escape(&format!("{long}.-")), format!("{long}\\.-"));
    }

    #[test]
    fn folded_back_a_topology_writes_the_spec_it_came_from() {
        let t = compiled(SPEC);
        let folded = fold(&t);
        assert!(
            !folded
                .policies
                .keys()
                .any(|n| n.starts_with(SETTINGS_POLICY_PREFIX))
        );
        assert_eq!(folded.queues["b"].settings_via, SettingsVia::Policy);
        assert_eq!(
            folded.exchanges["events"].alternate_exchange.as_deref(),
            Some("lost")
        );
        // Written as a spec and compiled again: the same policies.
        let text = to_yaml(&from_topology(&t)).unwrap();
        assert!(text.contains("settings: policy"), "{text}");
        let again = compiled(&text);
        let policies = |t: &Topology| {
            t.policies
                .values()
                .map(|p| {
                    (
                        p.name.clone(),
                        p.pattern.clone(),
                        p.priority,
                        p.definition.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(policies(&again), policies(&t), "{text}");
    }
}
