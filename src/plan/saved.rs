//! Plans saved by `plan --out FILE` and read back by `apply FILE`.
//!
//! A saved plan is the plan document (`to_json`) with what applying it
//! needs: the desired topology as a definitions document, each user with
//! its password variable and permissions, the `ignore` patterns, and
//! whether the plan prunes. `apply FILE` reads the broker again and refuses
//! when its fingerprint is not the one the plan was made against; when it
//! is, diffing the saved topology against it gives back the saved plan.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Options, Plan, to_json};
use crate::source::SourceMap;
use crate::topology::{Topology, User};

/// What the `format` field of a saved plan says.
pub const SAVED_FORMAT: &str = "warren-plan";

/// One vhost's plan as `plan --out` writes it.
pub fn to_saved(
    plan: &Plan,
    desired: &Topology,
    options: &Options,
    sources: Option<&SourceMap>,
) -> Value {
    let mut doc = to_json(plan, sources);
    let users: BTreeMap<&String, &User> = desired.users.iter().collect();
    doc["format"] = json!(SAVED_FORMAT);
    doc["prune"] = json!(options.prune);
    doc["desired"] = json!({
        "definitions": crate::definitions::to_definitions(desired),
        "users": users,
        "ignore": desired.ignore,
    });
    doc
}

/// A saved plan read back.
#[derive(Debug)]
pub struct Saved {
    /// The topology the plan was made for: the spec's definitions, users and
    /// `ignore` patterns.
    pub desired: Topology,
    /// The options the plan was made with.
    pub options: Options,
    /// The live state the plan was made against.
    pub fingerprint: String,
    /// The users whose password the plan sets. Planning again compares a
    /// password only when its variable is set, so without this a saved
    /// password change would silently vanish where the variable is not.
    pub sets_passwords: Vec<String>,
    /// The changes the plan lists, as reviewed: applying it carries out
    /// exactly these, or nothing.
    pub changes: Vec<Value>,
}

impl Saved {
    /// How `again`, the plan made now, differs from the reviewed one:
    /// the changes it would make that the saved plan does not list, and
    /// those the saved plan lists that it would not make, each as text.
    /// Both empty: apply exactly the reviewed changes.
    pub fn differences(&self, again: &Plan) -> (Vec<String>, Vec<String>) {
        let now: Vec<Value> = to_json(again, None)["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(reviewed)
            .collect();
        let missing_from = |from: &[Value], other: &[Value]| -> Vec<String> {
            let mut left: Vec<&Value> = other.iter().collect();
            from.iter()
                .filter(|c| match left.iter().position(|o| o == c) {
                    Some(i) => {
                        left.swap_remove(i);
                        false
                    }
                    None => true,
                })
                .map(describe)
                .collect()
        };
        (
            missing_from(&now, &self.changes),
            missing_from(&self.changes, &now),
        )
    }

    /// The users (and their variables) whose password this plan sets and
    /// `again`, the same plan made again here, does not, because their
    /// variable is unset or empty (read through `env`).
    pub fn unset_passwords(
        &self,
        again: &Plan,
        env: impl Fn(&str) -> Option<String>,
    ) -> Vec<(String, String)> {
        self.sets_passwords
            .iter()
            .filter(|user| {
                !again
                    .changes
                    .iter()
                    .any(|c| c.kind == super::ObjectKind::User && &c.name == *user)
            })
            .filter_map(|user| {
                let var = self.desired.users.get(user).map_or_else(
                    || crate::topology::default_password_env(user),
                    User::password_var,
                );
                env(&var)
                    .filter(|p| !p.is_empty())
                    .is_none()
                    .then(|| (user.clone(), var))
            })
            .collect()
    }
}

/// Whether `doc` is a saved plan (or several, `{"plans": [...]}`).
pub fn is_saved(doc: &Value) -> bool {
    doc["format"] == SAVED_FORMAT
        || doc["plans"]
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["format"] == SAVED_FORMAT))
}

/// Reads the saved plans of `doc`, one per vhost.
///
/// # Errors
/// The document is not a saved plan of this format version, or its parts
/// do not have their shapes; the text says which.
pub fn from_saved(doc: &Value) -> Result<Vec<Saved>, SavedPlanError> {
    let plans: Vec<&Value> = match doc["plans"].as_array() {
        Some(many) => many.iter().collect(),
        None => vec![doc],
    };
    plans.into_iter().map(one).collect()
}

/// Why a document is not a saved plan warren can apply.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// The document's `format` is not that of a saved plan.
    #[error("not a plan saved by `warren plan --out`")]
    NotAPlan,
    /// The plan was saved by a warren whose plan format differs.
    #[error(
        "a plan of format version {found}, and this warren reads {}: make the plan again",
        super::json::FORMAT_VERSION
    )]
    FormatVersion {
        /// The document's `format_version`.
        found: Value,
    },
    /// A part every saved plan has is missing.
    #[error("the plan has no {0}")]
    Missing(&'static str),
    /// A part does not have its shape.
    #[error("the plan's {part}: {reason}")]
    Malformed {
        /// Which part (`topology`, `users`, `ignore patterns`, ...).
        part: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn one(doc: &Value) -> Result<Saved, SavedPlanError> {
    let malformed = |part: &'static str| {
        move |e: &dyn std::fmt::Display| SavedPlanError::Malformed {
            part,
            reason: e.to_string(),
        }
    };
    if doc["format"] != SAVED_FORMAT {
        return Err(SavedPlanError::NotAPlan);
    }
    if doc["format_version"] != json!(super::json::FORMAT_VERSION) {
        return Err(SavedPlanError::FormatVersion {
            found: doc["format_version"].clone(),
        });
    }
    let vhost = doc["vhost"]
        .as_str()
        .ok_or(SavedPlanError::Missing("vhost"))?;
    let fingerprint = doc["fingerprint"]
        .as_str()
        .ok_or(SavedPlanError::Missing("fingerprint"))?
        .to_string();
    let desired = &doc["desired"];
    let mut topology = crate::definitions::from_definitions(&desired["definitions"], vhost)
        .map_err(|e| malformed("topology")(&e))?
        .take(vhost);
    let users: BTreeMap<String, User> =
        serde_json::from_value(desired["users"].clone()).map_err(|e| malformed("users")(&e))?;
    topology.users = users
        .into_iter()
        .map(|(name, mut user)| {
            user.name = name.clone();
            (name, user)
        })
        .collect();
    topology.ignore = serde_json::from_value(desired["ignore"].clone())
        .map_err(|e| malformed("ignore patterns")(&e))?;
    let sets_passwords = doc["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["kind"] == "user"
                && c["attributes"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|a| a["name"] == "password"))
        })
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect();
    let changes = doc["changes"]
        .as_array()
        .ok_or(SavedPlanError::Missing("list of changes"))?
        .iter()
        .map(reviewed)
        .collect();
    Ok(Saved {
        changes,
        desired: topology,
        options: Options {
            prune: doc["prune"].as_bool().unwrap_or(false),
            ..Options::default()
        },
        fingerprint,
        sets_passwords,
    })
}

/// A change as the reviewer saw it, without where its values came from
/// (spec positions, "RabbitMQ's default"): a saved plan read back has no
/// spec files, and what a change does is its action, object and values.
fn reviewed(change: &Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(fields) => {
                fields.remove("source");
                fields.remove("from");
                fields.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut change = change.clone();
    strip(&mut change);
    change
}

/// "create queue orders", from a change's JSON.
fn describe(change: &Value) -> String {
    let text = |key: &str| change[key].as_str().unwrap_or("?").to_string();
    crate::printable::for_people(&format!(
        "{} {} {}",
        text("action"),
        text("kind"),
        text("name")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load_str;
    use crate::validate::validate_loaded;

    #[test]
    fn a_saved_plan_reads_back_to_the_same_plan() {
        let spec = "version: 1\nvhost: shop\nexchanges:\n  x: { type: topic, alternate_exchange: y }\n  y: { type: fanout }\nqueues:\n  q: { type: quorum, delivery_limit: 5, bindings: [{ exchange: x, key: a.# }] }\npolicies:\n  p: { pattern: '^q$', definition: { max-length: 5 } }\nservices:\n  s: { consumes: { queue: q }, user: s }\nusers:\n  s: { password_env: S_PASSWORD, tags: [monitoring] }\nignore: ['^tmp']\n";
        let desired = validate_loaded(load_str("s.yaml", spec))
            .topologies
            .remove(0);
        let live = Topology {
            vhost: "shop".into(),
            ..Topology::default()
        };
        let options = Options {
            prune: true,
            ..Options::default()
        };
        let mut plan = super::super::diff(&desired, &live, &options);
        plan.fingerprint = "f".repeat(64);
        let saved = to_saved(&plan, &desired, &options, None);
        assert!(is_saved(&saved));
        let back = from_saved(&saved).unwrap().remove(0);
        assert_eq!(back.fingerprint, plan.fingerprint);
        assert!(back.options.prune);
        assert_eq!(
            back.desired.users["s"].password_env.as_deref(),
            Some("S_PASSWORD")
        );
        assert_eq!(back.desired.ignore, ["^tmp"]);
        let mut again = super::super::diff(&back.desired, &live, &back.options);
        again.fingerprint = plan.fingerprint.clone();
        assert_eq!(to_json(&again, None), to_json(&plan, None));
        assert!(
            from_saved(&json!({"format": "warren-plan", "format_version": 99}))
                .unwrap_err()
                .to_string()
                .contains("format version 99")
        );
        assert!(!is_saved(&json!({"changes": []})));
    }
}
