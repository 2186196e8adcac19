//! The plan for people.

use std::fmt::Write;

use serde_json::Value;

use super::{Action, ObjectKind, Plan};

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
    let mut out = format!(
        "Plan for vhost {} on {}\n",
        quoted(&plan.vhost),
        shown(target)
    );
    if plan.changes.is_empty() {
        out.push_str("\nNo changes: the broker matches the spec.\n");
    }
    if plan
        .changes
        .first()
        .is_some_and(|c| c.kind == ObjectKind::Vhost && c.action == Action::Create)
    {
        let _ = writeln!(
            out,
            "\nThe vhost {} does not exist on the broker: it is created first.",
            quoted(&plan.vhost)
        );
    }
    for c in &plan.changes {
        let (sign, code) = match c.action {
            Action::Create => ("+", "32"),
            Action::Update => ("~", "33"),
            Action::Replace => ("-/+", "35"),
            Action::Delete => ("-", "31"),
        };
        let mut head = format!("{sign} {} {}", c.kind.as_str(), shown(&c.name));
        if let Some(messages) = c.messages {
            head.push_str(&format!(
                " (holds {} message{})",
                thousands(messages),
                if messages == 1 { "" } else { "s" }
            ));
        }
        let _ = writeln!(out, "\n  {}", paint(code, &head));
        if let Some(because) = &c.because {
            let _ = writeln!(out, "      because: {}", shown(because));
        }
        if let Some(reason) = &c.reason {
            let _ = writeln!(out, "      replace: {}", shown(reason));
        }
        // A create lists what is set and a delete what goes; a change in
        // place or a replace shows each attribute's way, `(unset)` on the
        // side where it is absent.
        let whole = matches!(c.action, Action::Create | Action::Delete);
        for a in &c.attributes {
            let name = shown(&a.name);
            let line = match (&a.before, &a.after) {
                (None, Some(after)) if whole => format!("{name}: {}", show(after)),
                (Some(before), None) if whole => format!("{name}: {}", show(before)),
                (None, Some(after)) => format!("{name}: (unset) -> {}", show(after)),
                (Some(before), None) => format!("{name}: {} -> (unset)", show(before)),
                (Some(before), Some(after)) => {
                    format!("{name}: {} -> {}", show(before), show(after))
                }
                (None, None) => continue,
            };
            let line = match &a.from {
                Some(from) => format!("{line} (from {})", shown(from)),
                None => line,
            };
            let _ = writeln!(out, "      {line}");
        }
    }
    if !plan.effective_policies.is_empty() {
        out.push_str("\nEffective policies:\n");
        for e in &plan.effective_policies {
            let mut line = format!("  queue {}: ", shown(&e.queue));
            line.push_str(&match (&e.policy, e.source) {
                (Some(p), Some(source)) => format!("policy {} ({source})", shown(p)),
                _ => "no policy".to_string(),
            });
            if let Some(op) = &e.operator_policy {
                line.push_str(&format!(", operator policy {}", shown(op)));
            }
            if !e.tied_with.is_empty() {
                line.push_str(&paint(
                    "33",
                    &format!(
                        "; warning: ties with {} (the broker picks one)",
                        shown(&e.tied_with.join(", "))
                    ),
                ));
            }
            if !e.overridden_by_queue.is_empty() {
                line.push_str(&format!(
                    "; queue arguments also set {}",
                    shown(&e.overridden_by_queue.join(", "))
                ));
            }
            let _ = writeln!(out, "{line}");
        }
    }
    if !plan.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for note in &plan.notes {
            let _ = writeln!(out, "  {}", shown(note));
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
        Value::String(s) => quoted(s),
        other => shown(&other.to_string()),
    }
}

/// A name or value from the spec or the broker, safe for a terminal.
fn shown(text: &str) -> String {
    crate::printable::for_people(text)
}

/// `text` in double quotes, escaped as Rust's `Debug` does, clipped.
fn quoted(text: &str) -> String {
    format!("{:?}", crate::printable::clip(text))
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
    use super::*;
    use crate::plan::{Attr, Change, ObjectKind};

    fn attr(name: &str, before: Option<Value>, after: Option<Value>) -> Attr {
        Attr {
            name: name.into(),
            before,
            after,
            from: None,
        }
    }

    #[test]
    fn a_removed_attribute_reads_differently_from_an_added_one() {
        let change = |action, attributes| Change {
            attributes,
            reason: Some("x-max-priority cannot change".into()),
            ..Change::new(
                action,
                ObjectKind::Queue,
                "q\u{1b}[2J",
                crate::plan::Key::Named(ObjectKind::Queue, "q".into()),
            )
        };
        let plan = Plan {
            vhost: "v".into(),
            changes: vec![
                change(
                    Action::Replace,
                    vec![
                        attr("x-max-priority", Some(Value::from(10)), None),
                        attr("x-max-length", None, Some(Value::from(5))),
                    ],
                ),
                change(
                    Action::Create,
                    vec![attr("durable", None, Some(Value::from(true)))],
                ),
            ],
            ..Plan::default()
        };
        let text = to_text(&plan, "http://127.0.0.1:15672/", false);
        assert!(text.contains("x-max-priority: 10 -> (unset)"), "{text}");
        assert!(text.contains("x-max-length: (unset) -> 5"), "{text}");
        assert!(text.contains("      durable: true\n"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("queue q\\u{1b}[2J"), "{text}");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(1204), "1,204");
        assert_eq!(super::thousands(12), "12");
        assert_eq!(super::thousands(1_000_000), "1,000,000");
    }
}
