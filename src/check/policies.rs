//! Policies: E009 invalid-pattern, W501 overlapping-policies, E502
//! policy-tie, W503 policy-key-not-applicable, W504 unknown-policy-key.

use std::collections::{BTreeMap, HashMap};

use regex::Regex;

use super::{Context, list};
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::{Policy, Queue, QueueType, Topology};

/// Policy keys for queues and the queue types that honour them.
const QUEUE_KEYS: &[(&str, &[QueueType])] = {
    use QueueType::*;
    &[
        ("max-length", &[Classic, Quorum]),
        ("max-length-bytes", &[Classic, Quorum, Stream]),
        ("overflow", &[Classic, Quorum]),
        ("message-ttl", &[Classic, Quorum]),
        ("expires", &[Classic, Quorum]),
        ("dead-letter-exchange", &[Classic, Quorum]),
        ("dead-letter-routing-key", &[Classic, Quorum]),
        ("dead-letter-strategy", &[Quorum]),
        ("delivery-limit", &[Quorum]),
        ("max-in-memory-length", &[Quorum]),
        ("max-in-memory-bytes", &[Quorum]),
        ("queue-leader-locator", &[Quorum, Stream]),
        ("initial-cluster-size", &[Stream]),
        ("max-age", &[Stream]),
        ("stream-max-segment-size-bytes", &[Stream]),
        ("queue-mode", &[Classic]),
        ("queue-version", &[Classic]),
        ("queue-master-locator", &[Classic]),
        ("ha-mode", &[Classic]),
        ("ha-params", &[Classic]),
        ("ha-sync-mode", &[Classic]),
        ("ha-sync-batch-size", &[Classic]),
        ("ha-promote-on-shutdown", &[Classic]),
        ("ha-promote-on-failure", &[Classic]),
        ("consumer-timeout", &[Classic, Quorum]),
        ("federation-upstream", &[Classic, Quorum]),
        ("federation-upstream-set", &[Classic, Quorum]),
    ]
};

/// Keys for exchanges (and federation, which applies to both).
const EXCHANGE_KEYS: &[&str] = &[
    "alternate-exchange",
    "federation-upstream",
    "federation-upstream-set",
];

/// Which policies match each queue, highest priority first.
pub struct PolicyIndex<'t> {
    by_queue: HashMap<&'t str, Vec<&'t Policy>>,
}

impl<'t> PolicyIndex<'t> {
    /// Builds the index; reports patterns that are not regular expressions.
    pub fn new(topology: &'t Topology, out: &mut Vec<Diagnostic>) -> PolicyIndex<'t> {
        let mut compiled = Vec::new();
        for p in topology.policies.values() {
            match Regex::new(&p.pattern) {
                Ok(re) => compiled.push((p, re)),
                Err(error) => out.push(
                    Diagnostic::new(&codes::INVALID_PATTERN, format!("policy {:?} has an invalid pattern {:?}", p.name, p.pattern))
                        .label(p.origin.attr("pattern"), error.to_string().lines().last().unwrap_or("invalid").trim().to_string())
                        .help("the pattern is a regular expression over queue or exchange names, e.g. \"^orders\\\\.\""),
                ),
            }
        }
        let mut by_queue: HashMap<&str, Vec<&Policy>> = HashMap::new();
        if !compiled.is_empty() {
            for q in topology.queues.values() {
                let mut matching: Vec<&Policy> = compiled
                    .iter()
                    .filter(|(p, re)| {
                        p.apply_to.matches_queue(q.queue_type) && re.is_match(&q.name)
                    })
                    .map(|(p, _)| *p)
                    .collect();
                if !matching.is_empty() {
                    matching.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(&b.name)));
                    by_queue.insert(q.name.as_str(), matching);
                }
            }
        }
        PolicyIndex { by_queue }
    }

    pub fn matching(&self, queue: &Queue) -> &[&'t Policy] {
        self.by_queue
            .get(queue.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default()
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
    let mut found: BTreeMap<(&str, &str), Vec<&Queue>> = BTreeMap::new();
    for q in cx.topology.queues.values() {
        let Some(p) = cx.policies.effective(q) else {
            continue;
        };
        for key in p.definition.keys() {
            if q.arguments.contains_key(&format!("x-{key}")) {
                found.entry((&p.name, key)).or_default().push(q);
            }
        }
    }
    for ((policy, key), queues) in found {
        let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
        let p = &cx.topology.policies[policy];
        out.push(
            Diagnostic::new(
                &codes::ARGUMENT_OVERRIDES_POLICY,
                format!("queue {} sets x-{key} itself, and policy {policy:?} sets {key:?}", list(&names)),
            )
            .label(queues[0].origin.attr(&format!("x-{key}")), "queue argument")
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
    // (policy, key, queue type) -> matched queues of that type
    let mut not_applicable: BTreeMap<(&str, &str, QueueType), Vec<&str>> = BTreeMap::new();
    for q in cx.topology.queues.values() {
        let Some(p) = cx.policies.effective(q) else {
            continue;
        };
        for key in p.definition.keys() {
            if let Some((_, types)) = QUEUE_KEYS.iter().find(|(k, _)| k == key)
                && !types.contains(&q.queue_type)
            {
                not_applicable
                    .entry((&p.name, key, q.queue_type))
                    .or_default()
                    .push(&q.name);
            }
        }
    }
    for ((policy, key, queue_type), queues) in not_applicable {
        let p = &cx.topology.policies[policy];
        out.push(
            Diagnostic::new(
                &codes::POLICY_KEY_NOT_APPLICABLE,
                format!("policy {policy:?} sets {key:?}, which {queue_type} queues ignore; it matches {queue_type} queue {}", list(&queues)),
            )
            .label(p.origin.attr(key), "does not apply")
            .help("narrow the policy with `apply_to:` (classic_queues, quorum_queues, streams) or its pattern, or drop the key"),
        );
    }
    for p in cx.topology.policies.values() {
        for key in p.definition.keys() {
            let known =
                QUEUE_KEYS.iter().any(|(k, _)| k == key) || EXCHANGE_KEYS.contains(&key.as_str());
            if !known {
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
