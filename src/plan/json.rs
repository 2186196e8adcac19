//! The plan for programs. The document is versioned: fields are added,
//! never renamed or removed, within a `format_version`.

use serde_json::{Value, json};

use super::Plan;
use crate::source::SourceMap;

pub const FORMAT_VERSION: u32 = 1;

/// The plan as JSON; `sources` resolves each change's YAML location.
pub fn to_json(plan: &Plan, sources: Option<&SourceMap>) -> Value {
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
            let source = match (c.span, sources) {
                (Some(span), Some(sources)) => json!(sources.locate(span)),
                _ => Value::Null,
            };
            v["source"] = source;
            v
        })
        .collect();
    let unmanaged: Vec<Value> = plan
        .unmanaged
        .iter()
        .map(|(kind, name)| json!({ "kind": kind, "name": name }))
        .collect();
    json!({
        "format_version": FORMAT_VERSION,
        "vhost": plan.vhost,
        "fingerprint": plan.fingerprint,
        "changes": changes,
        "unmanaged": unmanaged,
        "effective_policies": plan.effective_policies,
        "notes": plan.notes,
        "summary": plan.summary(),
    })
}
