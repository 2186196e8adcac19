//! How `warren run` calls a service's code: the handler kinds a spec names
//! and the model keeps.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How `warren run` hands a message to the service's code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Handler {
    /// Run a command per message (body on stdin).
    Exec(Vec<String>),
    /// One long-lived process speaking JSON lines.
    Stdio(Vec<String>),
    /// POST each message to a URL.
    Http(String),
}
