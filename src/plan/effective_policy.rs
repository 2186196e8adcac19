//! Which policy the broker applies to each queue the spec manages, counting
//! the spec's policies, live policies the plan keeps, and operator policies.

use serde::Serialize;

use crate::topology::policy_match::PolicySet;
use crate::topology::{Policy, Topology};

/// The policies the broker applies to one queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EffectivePolicy {
    /// The queue's name.
    pub queue: String,
    /// The winning policy, `None` when only an operator policy matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// "spec" or "live" (a broker policy the spec does not name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// The winning operator policy, if any matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_policy: Option<String>,
    /// Other policies of the same priority: the broker picks one arbitrarily.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tied_with: Vec<String>,
    /// Keys the queue also sets as an argument, which take part over the
    /// policy (RabbitMQ uses the argument, or the lower of two limits).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overridden_by_queue: Vec<String>,
}

/// Broker policies the spec does not name (they stay unless pruned).
pub fn live_only<'a>(desired: &Topology, live: &'a Topology) -> Vec<&'a Policy> {
    live.policies
        .values()
        .filter(|p| !desired.policies.contains_key(&p.name))
        .collect()
}

/// Effective policies for the queues of `desired`. `live_only` are broker
/// policies that stay (not in the spec, not pruned).
pub fn effective_policies(
    desired: &Topology,
    live_only: &[&Policy],
    operator: &[Policy],
) -> Vec<EffectivePolicy> {
    let (candidates, _) =
        PolicySet::new(desired.policies.values().chain(live_only.iter().copied()));
    let (operators, _) = PolicySet::new(operator);
    let source = |p: &Policy| {
        if desired.policies.contains_key(&p.name) {
            "spec"
        } else {
            "live"
        }
    };
    let mut out = Vec::new();
    for q in desired.queues.values() {
        let matching = candidates.applicable(q);
        let operator_policy = operators.applicable(q).first().map(|p| p.name.clone());
        if matching.is_empty() && operator_policy.is_none() {
            continue;
        }
        let winner = matching.first();
        let tied_with = matching
            .iter()
            .skip(1)
            .filter(|m| winner.is_some_and(|w| w.priority == m.priority))
            .map(|m| m.name.clone())
            .collect();
        let overridden_by_queue = winner
            .map(|w| q.overrides(w).map(|(key, _)| key.to_string()).collect())
            .unwrap_or_default();
        out.push(EffectivePolicy {
            queue: q.name.clone(),
            policy: winner.map(|w| w.name.clone()),
            source: winner.map(|w| source(w)),
            operator_policy,
            tied_with,
            overridden_by_queue,
        });
    }
    out
}

/// W505 for queues where a broker policy the spec does not name wins or
/// ties: the spec's own policy would not be what RabbitMQ applies. For a
/// queue with `settings: policy` that is E507: it loses its settings.
pub fn live_conflicts(
    desired: &Topology,
    effective: &[EffectivePolicy],
) -> Vec<crate::diagnostic::Diagnostic> {
    use crate::diagnostic::{Diagnostic, codes};
    let mut out = Vec::new();
    for e in effective {
        let live_wins = e.source == Some("live");
        let live_ties = !e.tied_with.is_empty()
            && e.tied_with
                .iter()
                .any(|t| !desired.policies.contains_key(t));
        if !(live_wins || live_ties) {
            continue;
        }
        let Some(q) = desired.queues.get(&e.queue) else {
            continue;
        };
        let own = q.policy_settings();
        if !own.is_empty() {
            let winner = e.policy.as_deref().unwrap_or_default();
            let by = if live_wins {
                format!("on the broker policy {winner:?}, which the spec does not name, applies")
            } else {
                format!(
                    "on the broker policy {winner:?} ties with {}",
                    e.tied_with.join(", ")
                )
            };
            let missing: Vec<String> = own.into_keys().collect();
            out.push(crate::check::settings_policies::not_applied(
                "queue", &q.name, &q.origin, &missing, &by,
            ));
            continue;
        }
        let message = if live_wins {
            format!(
                "on the broker, policy {:?} (not in the spec) applies to queue {:?}",
                e.policy.as_deref().unwrap_or_default(),
                e.queue
            )
        } else {
            format!(
                "on the broker, policy {:?} ties with {} for queue {:?}: RabbitMQ picks one arbitrarily",
                e.policy.as_deref().unwrap_or_default(),
                e.tied_with.join(", "),
                e.queue
            )
        };
        out.push(
            Diagnostic::new(&codes::LIVE_POLICY_CONFLICT, message)
                .label(q.origin.span, "this queue")
                .help("add the broker's policy to the spec (warren export shows it), or delete it with `warren plan --prune`"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{ApplyTo, Origin, Queue, QueueType};
    use serde_json::json;

    fn policy(name: &str, pattern: &str, priority: i64) -> Policy {
        Policy {
            name: name.into(),
            pattern: pattern.into(),
            apply_to: ApplyTo::Queues,
            priority,
            definition: [("max-length".to_string(), json!(10))]
                .into_iter()
                .collect(),
            origin: Origin::default(),
        }
    }

    fn topology(policies: &[Policy]) -> Topology {
        let mut t = Topology::default();
        let mut q = Queue::new("q", QueueType::Classic, Origin::default());
        q.arguments.insert("x-max-length".into(), json!(3));
        t.queues.insert("q".into(), q);
        t.queues.insert(
            "alone".into(),
            Queue::new("alone", QueueType::Classic, Origin::default()),
        );
        t.queues.insert(
            "ops".into(),
            Queue::new("ops", QueueType::Classic, Origin::default()),
        );
        for p in policies {
            t.policies.insert(p.name.clone(), p.clone());
        }
        t
    }

    #[test]
    fn live_only_keeps_what_the_spec_does_not_name() {
        let desired = topology(&[policy("p1", "^q$", 1)]);
        let live = topology(&[policy("p1", "^q$", 1), policy("hand", "^q$", 2)]);
        let kept: Vec<&str> = live_only(&desired, &live)
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(kept, ["hand"]);
    }

    #[test]
    fn the_winner_its_source_ties_operators_and_overrides() {
        let desired = topology(&[policy("p1", "^q$", 1)]);
        let hand = policy("hand", "^q$", 2);
        let operator = [policy("cap", "^(q|ops)$", 0)];
        let found = effective_policies(&desired, &[&hand], &operator);
        let q = found.iter().find(|e| e.queue == "q").unwrap();
        assert_eq!(q.policy.as_deref(), Some("hand"));
        assert_eq!(q.source, Some("live"));
        assert_eq!(q.operator_policy.as_deref(), Some("cap"));
        assert!(q.tied_with.is_empty());
        assert_eq!(q.overridden_by_queue, ["max-length"]);
        // Only an operator policy reaches `ops`; nothing reaches `alone`.
        let ops = found.iter().find(|e| e.queue == "ops").unwrap();
        assert_eq!(
            (ops.policy.as_deref(), ops.operator_policy.as_deref()),
            (None, Some("cap"))
        );
        assert!(found.iter().all(|e| e.queue != "alone"));
        // The spec's policy wins against a weaker live one, and ties an equal one.
        let weak = policy("hand", "^q$", 0);
        let found = effective_policies(&desired, &[&weak], &[]);
        assert_eq!(found[0].policy.as_deref(), Some("p1"));
        assert_eq!(found[0].source, Some("spec"));
        let equal = policy("hand", "^q$", 1);
        let found = effective_policies(&desired, &[&equal], &[]);
        assert_eq!(found[0].tied_with.len(), 1);
    }

    #[test]
    fn a_live_policy_that_wins_or_ties_is_w505() {
        let desired = topology(&[policy("p1", "^q$", 1)]);
        for (priority, expected) in [(2, 1), (1, 1), (0, 0)] {
            let hand = policy("hand", "^q$", priority);
            let effective = effective_policies(&desired, &[&hand], &[]);
            let found = live_conflicts(&desired, &effective);
            assert_eq!(found.len(), expected, "priority {priority}");
            assert!(found.iter().all(|d| d.code.id == "W505"));
        }
        // The spec's policy wins the tie by name, but a live one ties: W505.
        let desired = topology(&[policy("a1", "^q$", 1)]);
        let late = policy("zz", "^q$", 1);
        let effective = effective_policies(&desired, &[&late], &[]);
        assert_eq!(effective[0].source, Some("spec"));
        let found = live_conflicts(&desired, &effective);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("ties with"),
            "{}",
            found[0].message
        );
        // Two of the spec's own policies tie: that is E502, not W505.
        let desired = topology(&[policy("a1", "^q$", 1), policy("a2", "^q$", 1)]);
        let effective = effective_policies(&desired, &[], &[]);
        assert_eq!(effective[0].tied_with, ["a2"]);
        assert!(live_conflicts(&desired, &effective).is_empty());
    }
}
