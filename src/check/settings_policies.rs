//! E507 settings-not-applied: each exchange and queue with `settings:
//! policy` gets every setting from the policy the broker applies to it.
//! Compile generates those policies so that they win; this proves it, and
//! catches a policy that outranks them.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::policy_match::missing_settings;
use crate::topology::{Arguments, Origin, Policy};

pub(crate) fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for q in cx.topology.queues.values() {
        let own = q.policy_settings();
        if !own.is_empty() {
            reach(
                "queue",
                &q.name,
                &q.origin,
                &own,
                cx.policies.effective(q),
                out,
            );
        }
    }
    for x in cx.topology.exchanges.values() {
        let own = x.policy_settings();
        if !own.is_empty() {
            let effective = cx.policies.effective_for_exchange(&x.name);
            reach("exchange", &x.name, &x.origin, &own, effective, out);
        }
    }
}

/// One object: a finding when the effective policy leaves settings out.
fn reach(
    kind: &str,
    name: &str,
    origin: &Origin,
    own: &Arguments,
    effective: Option<&Policy>,
    out: &mut Vec<Diagnostic>,
) {
    let missing = missing_settings(own, effective);
    if !missing.is_empty() {
        let by = effective.map_or("no policy applies".to_string(), |p| {
            format!("policy {:?} (priority {}) applies", p.name, p.priority)
        });
        out.push(not_applied(kind, name, origin, &missing, &by));
    }
}

/// E507 for an object that does not get the settings `missing` because of
/// what `by` says.
pub(crate) fn not_applied(
    kind: &str,
    name: &str,
    origin: &Origin,
    missing: &[String],
    by: &str,
) -> Diagnostic {
    Diagnostic::new(
        &codes::SETTINGS_NOT_APPLIED,
        format!(
            "{kind} {name:?} takes its settings through a policy, but {by}: it does not get {}",
            missing.join(", ")
        ),
    )
    .label(origin.span, "settings: policy")
    .help("only one policy applies to an object: lower the other policy's priority or narrow its pattern, or give this object `settings: arguments`")
}
