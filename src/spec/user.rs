use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Spanned;

/// A broker user. Its permissions are derived from the services that run as
/// it; its password comes from the environment, never from the spec.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// Environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<Spanned<String>>,
    /// Management tags (e.g. monitoring).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Not accepted: present only so that a password in the spec gets a clear
    /// error instead of "unknown field".
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub password: Option<Spanned<serde::de::IgnoredAny>>,
}
