//! Policies: E009 invalid-pattern, W501 overlapping-policies, E502
//! policy-tie, W503 policy-key-not-applicable, W504 unknown-policy-key.

use std::collections::{BTreeMap, HashMap};

use super::{Context, list};
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::policy_match::{Fit, PolicySet, is_known_key};
use crate::topology::{Policy, Queue, QueueType, Topology};

/// Which policies each queue gets, highest priority first, decided by
/// `topology::policy_match` as the broker decides it.
pub struct PolicyIndex<'t> {
    set: PolicySet<'t>,
    by_queue: HashMap<&'t str, Vec<&'t Policy>>,
}

impl<'t> PolicyIndex<'t> {
    /// Builds the index; reports patterns that are not regular expressions.
    pub fn new(topology: &'t Topology, out: &mut Vec<Diagnostic>) -> PolicyIndex<'t> {
        let (set, invalid) = PolicySet::new(topology.policies.values());
        for (p, reason) in invalid {
            out.push(
                Diagnostic::new(&codes::INVALID_PATTERN, format!("policy {:?} has an invalid pattern {:?}", p.name, p.pattern))
                    .label(p.origin.attr("pattern"), reason)
                    .help("the pattern is a regular expression (PCRE, as RabbitMQ reads it) over queue or exchange names, e.g. \"^orders\\.\""),
            );
        }
        let limit = crate::topology::settings_policies::MAX_PATTERN_BYTES;
        for p in topology
            .policies
            .values()
            .filter(|p| p.pattern.len() > limit)
        {
            out.push(
                Diagnostic::new(&codes::INVALID_PATTERN, format!("policy {:?} has a pattern of {} bytes, which RabbitMQ refuses (at most {limit})", p.name, p.pattern.len()))
                    .label(p.origin.attr("pattern"), "too long")
                    .help("shorten the pattern: a common prefix (\"^orders\\.\") instead of a list of names"),
            );
        }
        let mut by_queue: HashMap<&str, Vec<&Policy>> = HashMap::new();
        if !topology.policies.is_empty() {
            for q in topology.queues.values() {
                let applicable = set.applicable(q);
                if !applicable.is_empty() {
                    by_queue.insert(q.name.as_str(), applicable);
                }
            }
        }
        PolicyIndex { set, by_queue }
    }

    /// The policies the broker considers for the queue, highest priority
    /// first.
    pub fn matching(&self, queue: &Queue) -> &[&'t Policy] {
        self.by_queue
            .get(queue.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The policy the broker applies to the exchange `name`.
    pub fn effective_for_exchange(&self, name: &str) -> Option<&'t Policy> {
        self.set.applicable_to_exchange(name).first().copied()
    }

    /// The policy the broker applies: the highest priority match.
    pub fn effective(&self, queue: &Queue) -> Option<&'t Policy> {
        self.matching(queue).first().copied()
    }
}

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    overlaps(cx, out);
    keys(cx, out);
    overridden(cx, out);
}

/// W506: one diagnostic per (policy, key), listing the queues whose own
/// argument sets the key too.
fn overridden(cx: &Context, out: &mut Vec<Diagnostic>) {
    let mut found: BTreeMap<(&str, &str, &str), Vec<&Queue>> = BTreeMap::new();
    for q in cx.topology.queues.values() {
        let Some(p) = cx.policies.effective(q) else {
            continue;
        };
        for (key, argument) in q.overrides(p) {
            found.entry((&p.name, key, argument)).or_default().push(q);
        }
    }
    for ((policy, key, argument), queues) in found {
        let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
        let p = &cx.topology.policies[policy];
        out.push(
            Diagnostic::new(
                &codes::ARGUMENT_OVERRIDES_POLICY,
                format!("queue {} sets {argument} itself, and policy {policy:?} sets {key:?}", list(&names)),
            )
            .label(queues[0].origin.attr(argument), "queue argument")
            .label(p.origin.attr(key), "policy key")
            .help("RabbitMQ uses the queue's argument (for length limits and TTLs the lower value): set it in one place so the policy can be changed later without redeclaring the queue"),
        );
    }
}

/// One diagnostic per set of overlapping policies, not per queue.
fn overlaps(cx: &Context, out: &mut Vec<Diagnostic>) {
    let mut groups: BTreeMap<Vec<&str>, Vec<&str>> = BTreeMap::new();
    for q in cx.topology.queues.values() {
        let matching = cx.policies.matching(q);
        // A settings policy wins over the spec's own on purpose, and holds
        // their keys (compile merged them).
        if matching.first().is_some_and(|p| p.is_settings_policy()) {
            continue;
        }
        if matching.len() > 1 {
            groups
                .entry(matching.iter().map(|p| p.name.as_str()).collect())
                .or_default()
                .push(q.name.as_str());
        }
    }
    for (policies, queues) in groups {
        let ps: Vec<&Policy> = policies.iter().map(|n| &cx.topology.policies[*n]).collect();
        let tie = ps[0].priority == ps[1].priority;
        let (code, message, help) = if tie {
            (
                &codes::POLICY_TIE,
                format!(
                    "policies {} match queue {} with the same priority {}: the broker picks one arbitrarily",
                    list(&policies),
                    list(&queues),
                    ps[0].priority
                ),
                "give the policies different priorities, or narrow their patterns so they do not overlap",
            )
        } else {
            (
                &codes::OVERLAPPING_POLICIES,
                format!(
                    "policies {} all match queue {}; only {:?} (priority {}) applies",
                    list(&policies),
                    list(&queues),
                    ps[0].name,
                    ps[0].priority
                ),
                "policies do not combine: merge the definitions into one policy, or narrow the patterns",
            )
        };
        let mut d = Diagnostic::new(code, message).help(help);
        for p in &ps {
            d = d.label(
                p.origin.attr("pattern"),
                format!("{} (priority {})", p.name, p.priority),
            );
        }
        out.push(d);
    }
}

fn keys(cx: &Context, out: &mut Vec<Diagnostic>) {
    // (policy, key, queue type) -> queues of that type the policy reaches
    // but does not apply to, because the type does not support the key.
    let mut passed_over: BTreeMap<(&str, &str, QueueType), Vec<&str>> = BTreeMap::new();
    for q in cx.topology.queues.values() {
        for (p, fit) in cx.policies.set.reaching(q) {
            if let Fit::Unsupported(key) = fit {
                passed_over
                    .entry((&p.name, key, q.queue_type))
                    .or_default()
                    .push(&q.name);
            }
        }
    }
    for ((policy, key, queue_type), queues) in passed_over {
        let p = &cx.topology.policies[policy];
        let instead = cx
            .topology
            .queues
            .get(queues[0])
            .and_then(|q| cx.policies.effective(q));
        let instead = match instead {
            Some(other) => format!("policy {:?} applies instead", other.name),
            None => "no policy applies".to_string(),
        };
        out.push(
            Diagnostic::new(
                &codes::POLICY_KEY_NOT_APPLICABLE,
                format!("policy {policy:?} sets {key:?}, which {queue_type} queues do not support, so RabbitMQ does not apply it at all to {queue_type} queue {} ({instead})", list(&queues)),
            )
            .label(p.origin.attr(key), "not supported by these queues")
            .help("narrow the policy with `apply_to:` (classic_queues, quorum_queues, streams) or its pattern, or move the key to a policy of its own"),
        );
    }
    for p in cx.topology.policies.values() {
        for key in p.definition.keys() {
            if !is_known_key(key) {
                let hint = key
                    .strip_prefix("x-")
                    .map(|k| format!("policy keys have no x- prefix: write {k:?}"))
                    .unwrap_or_else(|| {
                        "check the key against RabbitMQ's policy documentation".to_string()
                    });
                out.push(
                    Diagnostic::new(
                        &codes::UNKNOWN_POLICY_KEY,
                        format!(
                            "policy {:?} sets {key:?}, which is not a RabbitMQ policy key",
                            p.name
                        ),
                    )
                    .label(p.origin.attr(key), "unknown key")
                    .help(hint),
                );
            }
        }
    }
}
