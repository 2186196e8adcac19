//! The plan for people.

use std::fmt::Write;

use serde_json::Value;

use super::{Action, Plan};

/// Renders the plan. `color` adds ANSI colours (the CLI passes true only on
/// a terminal).
pub fn to_text(plan: &Plan, target: &str, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut out = format!("Plan for vhost {:?} on {target}\n", plan.vhost);
    if plan.changes.is_empty() {
        out.push_str("\nNo changes: the broker matches the spec.\n");
    }
    for c in &plan.changes {
        let (sign, code) = match c.action {
            Action::Create => ("+", "32"),
            Action::Update => ("~", "33"),
            Action::Replace => ("-/+", "35"),
            Action::Delete => ("-", "31"),
        };
        let mut head = format!("{sign} {} {}", c.kind.as_str(), c.name);
        if let Some(messages) = c.messages {
            head.push_str(&format!(
                " (holds {} message{})",
                thousands(messages),
                if messages == 1 { "" } else { "s" }
            ));
        }
        let _ = writeln!(out, "\n  {}", paint(code, &head));
        if let Some(reason) = &c.reason {
            let _ = writeln!(out, "      replace: {reason}");
        }
        for a in &c.attributes {
            let line = match (&a.before, &a.after) {
                (None, Some(after)) => format!("{}: {}", a.name, show(after)),
                (Some(before), None) => format!("{}: {}", a.name, show(before)),
                (Some(before), Some(after)) => {
                    format!("{}: {} -> {}", a.name, show(before), show(after))
                }
                (None, None) => continue,
            };
            let _ = writeln!(out, "      {line}");
        }
    }
    if !plan.effective_policies.is_empty() {
        out.push_str("\nEffective policies:\n");
        for e in &plan.effective_policies {
            let mut line = format!("  queue {}: ", e.queue);
            line.push_str(&match (&e.policy, e.source) {
                (Some(p), Some(source)) => format!("policy {p} ({source})"),
                _ => "no policy".to_string(),
            });
            if let Some(op) = &e.operator_policy {
                line.push_str(&format!(", operator policy {op}"));
            }
            if !e.tied_with.is_empty() {
                line.push_str(&paint(
                    "33",
                    &format!(
                        "; warning: ties with {} (the broker picks one)",
                        e.tied_with.join(", ")
                    ),
                ));
            }
            if !e.overridden_by_queue.is_empty() {
                line.push_str(&format!(
                    "; queue arguments also set {}",
                    e.overridden_by_queue.join(", ")
                ));
            }
            let _ = writeln!(out, "{line}");
        }
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(
            out,
            "\n{} object(s) on the broker are not in the spec and are kept (use --prune to delete them).",
            plan.unmanaged.len()
        );
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
        "\nPlan: {} to create, {} to update, {} to replace, {} to delete.",
        s.create, s.update, s.replace, s.delete
    );
    out
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(1204), "1,204");
        assert_eq!(super::thousands(12), "12");
        assert_eq!(super::thousands(1_000_000), "1,000,000");
    }
}
