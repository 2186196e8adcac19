//! Which policy RabbitMQ applies to a queue: the one decision the checks
//! and the plan both ask, made the way the broker makes it.
//!
//! - A pattern is a PCRE regular expression matched against the name's
//!   bytes (RabbitMQ uses Erlang's `re` without its unicode option): `.`
//!   and `\w` see bytes, `(?i)` folds ASCII only, look-ahead and
//!   back-references work. warren matches with PCRE2 in the same mode.
//! - A policy applies to a queue only if its `apply-to` covers the queue's
//!   type and the queue's type supports every key of its definition; a
//!   policy with one unsupported key (`delivery-limit` on a classic queue)
//!   is passed over whole, and the next one is considered.
//! - Of the policies that apply, the highest priority wins; several at that
//!   priority are a tie the broker breaks arbitrarily.

use super::{ApplyTo, Policy, Queue, QueueType};
use crate::vocabulary::{Applies, Setting};

/// Whether RabbitMQ knows `key` as a policy key.
pub fn is_known_key(key: &str) -> bool {
    Setting::by_policy_key(key).is_some()
}

/// The policy key `key` when queues of `queue_type` do not support it. A
/// key warren does not know is taken as supported (the broker refuses
/// unknown keys when the policy is declared, so a live policy only holds
/// keys of some plugin), and so is an exchange-only key, which the
/// differential test has not shown to make a queue pass a policy over.
fn unsupported(queue_type: QueueType, key: &str) -> Option<&'static str> {
    Setting::by_policy_key(key)
        .filter(|s| s.applies != Applies::Exchanges && !s.applies_to(queue_type))
        .and_then(|s| s.policy_key)
}

/// A policy pattern compiled as RabbitMQ compiles it: by PCRE2 (the
/// `pcre` feature), or else by the regex crate, which agrees on the
/// patterns policies use but refuses look-around and back-references.
#[derive(Debug)]
pub struct Pattern(
    #[cfg(feature = "pcre")] pcre2::bytes::Regex,
    #[cfg(not(feature = "pcre"))] regex::bytes::Regex,
);

impl Pattern {
    /// # Errors
    /// The pattern is not a PCRE regular expression (or, without the
    /// `pcre` feature, uses what the regex crate refuses); the text says
    /// why.
    pub fn new(pattern: &str) -> Result<Pattern, InvalidPattern> {
        #[cfg(feature = "pcre")]
        let compiled = pcre2::bytes::RegexBuilder::new()
            .build(pattern)
            .map_err(|e| InvalidPattern(e.to_string().trim_start_matches("PCRE2: ").to_string()));
        // Byte by byte, ASCII classes and case folding, as PCRE without
        // its UTF mode: what the broker runs.
        #[cfg(not(feature = "pcre"))]
        let compiled = regex::bytes::RegexBuilder::new(pattern)
            .unicode(false)
            .build()
            .map_err(|e| InvalidPattern(e.to_string()));
        compiled.map(Pattern)
    }

    /// Whether the pattern matches somewhere in `name`, byte by byte. A
    /// match error (PCRE's backtracking limit) counts as no match, as it
    /// does for the broker.
    pub fn is_match(&self, name: &str) -> bool {
        #[cfg(feature = "pcre")]
        return self.0.is_match(name.as_bytes()).unwrap_or(false);
        #[cfg(not(feature = "pcre"))]
        return self.0.is_match(name.as_bytes());
    }
}

/// Why a text is not a policy pattern: the regular expression engine's
/// own words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidPattern(pub String);

/// Policies of one kind (the vhost's own, or operator policies) ready to
/// match queues.
#[derive(Debug, Default)]
pub struct PolicySet<'p> {
    policies: Vec<(&'p Policy, Pattern)>,
}

/// How one policy stands towards one queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// Its `apply-to` or pattern does not reach the queue.
    Misses,
    /// It reaches the queue but sets a key the queue's type does not
    /// support, so the broker passes it over.
    Unsupported(&'static str),
    /// It is a candidate for the queue.
    Applies,
}

impl<'p> PolicySet<'p> {
    /// Compiles the patterns; a policy whose pattern does not compile is
    /// left out and returned with the reason.
    pub fn new(
        policies: impl IntoIterator<Item = &'p Policy>,
    ) -> (PolicySet<'p>, Vec<(&'p Policy, String)>) {
        let mut set = PolicySet::default();
        let mut invalid = Vec::new();
        for p in policies {
            match Pattern::new(&p.pattern) {
                Ok(pattern) => set.policies.push((p, pattern)),
                Err(InvalidPattern(reason)) => invalid.push((p, reason)),
            }
        }
        (set, invalid)
    }

    /// How `policy`, which must be in the set, stands towards `queue`.
    pub fn fit(&self, policy: &Policy, queue: &Queue) -> Fit {
        self.policies
            .iter()
            .find(|(p, _)| std::ptr::eq(*p, policy))
            .map_or(Fit::Misses, |(p, pattern)| fit(p, pattern, queue))
    }

    /// Every policy that reaches `queue` (by `apply-to` and pattern), with
    /// how it fits, highest priority first (then by name).
    pub fn reaching(&self, queue: &Queue) -> Vec<(&'p Policy, Fit)> {
        let mut found: Vec<(&Policy, Fit)> = self
            .policies
            .iter()
            .map(|(p, pattern)| (*p, fit(p, pattern, queue)))
            .filter(|(_, fit)| *fit != Fit::Misses)
            .collect();
        found.sort_by(|a, b| {
            b.0.priority
                .cmp(&a.0.priority)
                .then(a.0.name.cmp(&b.0.name))
        });
        found
    }

    /// The policies that apply to the exchange `name`, highest priority
    /// first (exchanges have no type that passes a policy over).
    pub fn applicable_to_exchange(&self, name: &str) -> Vec<&'p Policy> {
        let mut found: Vec<&Policy> = self
            .policies
            .iter()
            .filter(|(p, pattern)| {
                matches!(p.apply_to, ApplyTo::Exchanges | ApplyTo::All) && pattern.is_match(name)
            })
            .map(|(p, _)| *p)
            .collect();
        found.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(&b.name)));
        found
    }

    /// The policies the broker considers for `queue`, highest priority
    /// first: the first wins, and those of its priority after it tie.
    pub fn applicable(&self, queue: &Queue) -> Vec<&'p Policy> {
        self.reaching(queue)
            .into_iter()
            .filter(|(_, fit)| *fit == Fit::Applies)
            .map(|(p, _)| p)
            .collect()
    }
}

/// The settings (policy keys) of `own` that the policy the broker applies
/// (`effective`) does not give the object as it wants them: a key it lacks,
/// another value, or for a limit a higher one. Empty when the object gets
/// every setting.
pub fn missing_settings(own: &super::Arguments, effective: Option<&Policy>) -> Vec<String> {
    own.iter()
        .filter(|(key, want)| {
            let got = effective.and_then(|p| p.definition.get(*key));
            match got {
                None => true,
                Some(got) if Setting::by_policy_key(key).is_some_and(|s| s.lower_wins) => {
                    crate::vocabulary::lower_limit(got, want) != got
                }
                Some(got) => got != *want,
            }
        })
        .map(|(key, _)| key.clone())
        .collect()
}

fn fit(policy: &Policy, pattern: &Pattern, queue: &Queue) -> Fit {
    if !policy.apply_to.matches_queue(queue.queue_type) || !pattern.is_match(&queue.name) {
        return Fit::Misses;
    }
    match policy
        .definition
        .keys()
        .find_map(|k| unsupported(queue.queue_type, k))
    {
        Some(key) => Fit::Unsupported(key),
        None => Fit::Applies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{ApplyTo, Origin};
    use serde_json::json;

    fn policy(name: &str, pattern: &str, priority: i64, keys: &[&str]) -> Policy {
        Policy {
            name: name.into(),
            pattern: pattern.into(),
            apply_to: ApplyTo::Queues,
            priority,
            definition: keys.iter().map(|k| (k.to_string(), json!(1))).collect(),
            origin: Origin::default(),
        }
    }

    #[test]
    fn a_policy_with_an_unsupported_key_is_passed_over() {
        let hi = policy("hi", "^c", 5, &["message-ttl", "delivery-limit"]);
        let lo = policy("lo", "^c", 1, &["max-length"]);
        let (set, invalid) = PolicySet::new([&hi, &lo]);
        assert!(invalid.is_empty());
        let classic = Queue::new("c1", QueueType::Classic, Origin::default());
        let quorum = Queue::new("c2", QueueType::Quorum, Origin::default());
        assert_eq!(set.applicable(&classic), vec![&lo]);
        assert_eq!(set.applicable(&quorum), vec![&hi, &lo]);
        assert_eq!(set.fit(&hi, &classic), Fit::Unsupported("delivery-limit"));
        let stream = Queue::new("c3", QueueType::Stream, Origin::default());
        assert!(set.applicable(&stream).is_empty());
    }

    #[test]
    fn apply_to_and_pattern_must_both_reach_the_queue() {
        let mut exchanges_only = policy("x", ".*", 9, &["max-length"]);
        exchanges_only.apply_to = ApplyTo::Exchanges;
        let mut quorum_only = policy("qq", "^c", 8, &["max-length"]);
        quorum_only.apply_to = ApplyTo::QuorumQueues;
        let elsewhere = policy("other", "^zzz", 7, &["max-length"]);
        let (set, _) = PolicySet::new([&exchanges_only, &quorum_only, &elsewhere]);
        let classic = Queue::new("c1", QueueType::Classic, Origin::default());
        assert_eq!(set.fit(&exchanges_only, &classic), Fit::Misses);
        assert_eq!(set.fit(&quorum_only, &classic), Fit::Misses);
        assert_eq!(set.fit(&elsewhere, &classic), Fit::Misses);
        assert!(set.reaching(&classic).is_empty());
        let quorum = Queue::new("c2", QueueType::Quorum, Origin::default());
        assert_eq!(set.applicable(&quorum), vec![&quorum_only]);
    }

    #[test]
    fn patterns_match_bytes_as_the_broker_does() {
        let name = "ünï.q3";
        // `.` is one byte: "ü" is two.
        assert!(Pattern::new("^..n").unwrap().is_match(name));
        assert!(!Pattern::new("^.n").unwrap().is_match(name));
        // `\w` is ASCII only in byte mode.
        assert!(!Pattern::new("^\\w").unwrap().is_match(name));
        // `(?i)` folds ASCII only.
        assert!(!Pattern::new("(?i)^Ü").unwrap().is_match(name));
        assert!(Pattern::new("(?i)Q3$").unwrap().is_match(name));
        assert!(Pattern::new("(").is_err());
    }

    /// PCRE features the regex crate refuses: matched with `pcre`, refused
    /// (as an invalid pattern, never silently) without it.
    #[test]
    fn look_around_and_back_references() {
        let ahead = Pattern::new("^(?!amq\\.)");
        let back = Pattern::new("^(a)\\1$");
        if cfg!(feature = "pcre") {
            assert!(ahead.as_ref().unwrap().is_match("orders"));
            assert!(!ahead.unwrap().is_match("amq.gen-1"));
            assert!(back.unwrap().is_match("aa"));
        } else {
            assert!(ahead.unwrap_err().0.contains("look-around"));
            assert!(back.is_err());
        }
    }
}
