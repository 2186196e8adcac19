//! Whether a user's password on the broker is still the one its variable
//! holds. The broker keeps a salted hash of each password, so the plan can
//! tell without sending the password anywhere or showing it: without this,
//! a password changed in the environment would plan as "No changes" while
//! the service's logins are refused.

use std::collections::BTreeMap;

use base64::Engine as _;
use rabbitmq_http_client::commons::PasswordHash;
use rabbitmq_http_client::password_hashing::{
    salted_password_hash_sha256, salted_password_hash_sha512,
};

use super::diff::{password_attr, user_change};
use super::{Action, ObjectKind, Plan};
use crate::topology::Topology;

/// The broker's salt is 4 bytes; the digest follows it.
const SALT: usize = 4;

/// Does `password` hash to `stored` (the base64 `password_hash` the
/// management API lists)? `None` when that cannot be told: no hash (a user
/// without a password) or a digest of another length than SHA-256's or
/// SHA-512's (RabbitMQ's legacy MD5, or a hashing module of its own).
pub fn matches(stored: &str, password: &str) -> Option<bool> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored.trim())
        .ok()?;
    let (salt, _) = bytes.split_at_checked(SALT)?;
    let hashed = match bytes.len() - SALT {
        32 => salted_password_hash_sha256(salt, password),
        64 => salted_password_hash_sha512(salt, password),
        _ => return None,
    };
    Some(hashed == bytes)
}

/// Adds a password update for every user of `desired` that exists on the
/// broker with another password than its variable (read through `env`)
/// holds now; a user the plan already creates or updates gets its password
/// set anyway, and its change says so when the password differs. A user
/// whose variable is unset here, or whose hash cannot be read (see
/// [`matches()`]), is left as it is: the plan cannot know.
pub fn stale(
    plan: &mut Plan,
    desired: &Topology,
    live: &Topology,
    hashes: &BTreeMap<String, PasswordHash>,
    env: impl Fn(&str) -> Option<String>,
) {
    const DIFFERS: &str = "not the value of the variable";
    let mut added = false;
    for (name, d) in &desired.users {
        let (Some(l), Some(stored)) = (live.users.get(name), hashes.get(name)) else {
            continue;
        };
        let Some(password) = d.password_in(&env) else {
            continue;
        };
        if matches(stored.as_str(), &password) != Some(false) {
            continue;
        }
        let planned = plan
            .changes
            .iter_mut()
            .find(|c| c.kind == ObjectKind::User && &c.name == name);
        match planned {
            Some(change) => {
                change.attributes.retain(|a| a.name != "password");
                change.attributes.push(password_attr(d, Some(DIFFERS)));
            }
            None => {
                plan.changes.push(user_change(
                    Action::Update,
                    d,
                    Some(l),
                    vec![password_attr(d, Some(DIFFERS))],
                ));
                added = true;
            }
        }
    }
    if added {
        super::order::sort(&mut plan.changes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rabbitmq_http_client::password_hashing::{
        base64_encoded_salted_password_hash_sha256, base64_encoded_salted_password_hash_sha512,
    };

    #[test]
    fn a_hash_matches_only_its_own_password() {
        let salt = [0x90, 0x8d, 0xc6, 0x0a];
        for stored in [
            base64_encoded_salted_password_hash_sha256(&salt, "s3cret"),
            base64_encoded_salted_password_hash_sha512(&salt, "s3cret"),
        ] {
            assert_eq!(matches(&stored, "s3cret"), Some(true));
            assert_eq!(matches(&stored, "s3cret "), Some(false));
            assert_eq!(matches(&stored, ""), Some(false));
        }
        // As RabbitMQ's documentation gives it for the password "test12".
        assert_eq!(
            matches("kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", "test12"),
            Some(true)
        );
    }

    #[test]
    fn what_cannot_be_told_is_none() {
        // No password, not base64, shorter than a salt, an MD5 digest.
        for stored in ["", "***", "AAA=", "kI3GCqW5JLMJa4iX1lo7X4D6XbY="] {
            assert_eq!(matches(stored, "x"), None, "{stored}");
        }
    }

    fn topologies() -> (Topology, Topology) {
        let spec = "version: 1\nvhost: v\nusers:\n  a: { password_env: A_PW }\n  b: { tags: [monitoring] }\n";
        let desired = crate::validate::validate_loaded(crate::spec::load_str("t.yaml", spec))
            .topologies
            .remove(0);
        let mut live = desired.clone();
        live.users.get_mut("b").unwrap().tags.clear();
        (desired, live)
    }

    #[test]
    fn a_changed_password_is_an_update_and_an_unset_variable_is_not() {
        let (desired, live) = topologies();
        let salt = [1, 2, 3, 4];
        let old = PasswordHash::new(base64_encoded_salted_password_hash_sha256(&salt, "old"));
        let hashes: BTreeMap<String, PasswordHash> =
            [("a".into(), old.clone()), ("b".into(), old)].into();
        let plan_with = |env: &dyn Fn(&str) -> Option<String>| {
            let mut plan = super::super::diff(&desired, &live, &Default::default());
            stale(&mut plan, &desired, &live, &hashes, env);
            plan
        };
        // b's tags differ: planned either way; a is planned only when its
        // variable holds another password.
        let plan = plan_with(&|_| None);
        let names: Vec<_> = plan.changes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["b"]);
        assert!(
            plan.changes[0]
                .attributes
                .iter()
                .all(|a| a.name != "password")
        );
        let plan = plan_with(&|v| Some(if v == "A_PW" { "old" } else { "new" }.into()));
        assert_eq!(plan.changes.len(), 1);
        let password = plan.changes[0]
            .attributes
            .iter()
            .find(|a| a.name == "password")
            .unwrap();
        assert_eq!(
            password.after,
            Some(serde_json::json!("from $WARREN_PASSWORD_B"))
        );
        let plan = plan_with(&|_| Some("new".into()));
        let changes: Vec<_> = plan
            .changes
            .iter()
            .map(|c| (c.name.as_str(), c.action))
            .collect();
        assert_eq!(changes, [("a", Action::Update), ("b", Action::Update)]);
        assert_eq!(
            plan.changes[0].attributes[0].before,
            Some(serde_json::json!("not the value of the variable"))
        );
        // The secret appears nowhere in what the plan prints.
        let text = format!("{plan:?}");
        assert!(!text.contains("new\"") && !text.contains("old"), "{text}");
    }
}
