use serde::{Deserialize, Serialize};

use super::Origin;

/// A broker user and its permissions in the topology's vhost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The map key in [`Topology`](super::Topology); not repeated in output.
    #[serde(skip)]
    pub name: String,
    /// The environment variable that holds the password; `None` for
    /// [`default_password_env`]'s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Management tags (`management`, `monitoring`, `administrator`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Its configure/write/read permissions in the vhost; `None` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// Its topic permissions in the vhost, one per exchange.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topic_permissions: Vec<TopicPermission>,
    /// Where in the spec it was declared.
    #[serde(skip)]
    pub origin: Origin,
}

impl User {
    /// The variable the user's password is read from: its `password_env`,
    /// or the one warren suggests.
    pub fn password_var(&self) -> String {
        self.password_env
            .clone()
            .unwrap_or_else(|| default_password_env(&self.name))
    }

    /// The password `env` holds in [`Self::password_var`]; empty counts
    /// as unset.
    pub fn password_in(&self, env: impl Fn(&str) -> Option<String>) -> Option<String> {
        env(&self.password_var()).filter(|p| !p.is_empty())
    }
}

/// `WARREN_PASSWORD_<NAME>`, upper-cased with non-alphanumerics as `_`:
/// the variable warren suggests for a user's password.
pub fn default_password_env(user: &str) -> String {
    let name: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("WARREN_PASSWORD_{name}")
}

/// Regular expressions over resource names, as RabbitMQ stores them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// The resources it may declare and delete.
    pub configure: String,
    /// The resources it may publish to (exchanges) and bind as destinations.
    pub write: String,
    /// The resources it may consume from (queues) and bind from as sources
    /// (exchanges).
    pub read: String,
}

/// Routing-key restrictions on one topic exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicPermission {
    /// The topic exchange the restriction is on.
    pub exchange: String,
    /// The routing keys it may publish with.
    pub write: String,
    /// The routing keys it may bind a queue with.
    pub read: String,
}
