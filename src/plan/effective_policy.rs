//! Which policy the broker applies to each queue the spec manages, counting
//! the spec's policies, live policies the plan keeps, and operator policies.

use regex::Regex;
use serde::Serialize;

use crate::topology::{Policy, Topology};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EffectivePolicy {
    pub queue: String,
    /// The winning policy, `None` when only an operator policy matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// "spec" or "live" (a broker policy the spec does not name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
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
    let compile = |p: &Policy| Regex::new(&p.pattern).ok();
    let candidates: Vec<(&Policy, &'static str, Regex)> = desired
        .policies
        .values()
        .map(|p| (p, "spec"))
        .chain(live_only.iter().map(|p| (*p, "live")))
        .filter_map(|(p, source)| compile(p).map(|re| (p, source, re)))
        .collect();
    let operators: Vec<(&Policy, Regex)> = operator
        .iter()
        .filter_map(|p| compile(p).map(|re| (p, re)))
        .collect();
    let mut out = Vec::new();
    for q in desired.queues.values() {
        let mut matching: Vec<&(&Policy, &str, Regex)> = candidates
            .iter()
            .filter(|(p, _, re)| p.apply_to.matches_queue(q.queue_type) && re.is_match(&q.name))
            .collect();
        matching.sort_by(|a, b| {
            b.0.priority
                .cmp(&a.0.priority)
                .then(a.0.name.cmp(&b.0.name))
        });
        let operator_policy = operators
            .iter()
            .filter(|(p, re)| p.apply_to.matches_queue(q.queue_type) && re.is_match(&q.name))
            .max_by_key(|(p, _)| p.priority)
            .map(|(p, _)| p.name.clone());
        if matching.is_empty() && operator_policy.is_none() {
            continue;
        }
        let winner = matching.first();
        let tied_with = matching
            .iter()
            .skip(1)
            .filter(|m| winner.is_some_and(|w| w.0.priority == m.0.priority))
            .map(|m| m.0.name.clone())
            .collect();
        let overridden_by_queue = winner
            .map(|w| {
                w.0.definition
                    .keys()
                    .filter(|k| q.arguments.contains_key(&format!("x-{k}")))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        out.push(EffectivePolicy {
            queue: q.name.clone(),
            policy: winner.map(|w| w.0.name.clone()),
            source: winner.map(|w| w.1),
            operator_policy,
            tied_with,
            overridden_by_queue,
        });
    }
    out
}

/// W505 for queues where a broker policy the spec does not name wins or
/// ties: the spec's own policy would not be what RabbitMQ applies.
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
