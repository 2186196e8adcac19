//! The top level of a spec file (version 1).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BindingSpec, ExchangeSpec, PolicySpec, QueueSpec, ServiceSpec, Spanned, UserSpec};
use crate::topology::QueueType;

/// Objects are keyed by name; a name is unique per kind across all files of a
/// topology.
pub type Named<T> = BTreeMap<Spanned<String>, T>;

/// One warren spec file. A topology is one file or a directory of them.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "warren topology spec")]
pub struct SpecFile {
    /// Spec format version; only 1 exists.
    pub version: Spanned<u32>,
    /// The virtual host the topology lives in. Defaults to "/". All files of a
    /// topology must agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vhost: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exchanges: Named<ExchangeSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queues: Named<QueueSpec>,
    /// Bindings that belong to no queue block: exchange-to-exchange bindings,
    /// or queue bindings kept apart from the queue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<BindingSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: Named<PolicySpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: Named<ServiceSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users: Named<UserSpec>,
    /// Regular expressions of object names warren leaves alone on the broker
    /// (never deleted, never reported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<Spanned<String>>,
}

impl SpecFile {
    /// The file's `defaults.queue_type`, if set.
    pub fn default_queue_type(&self) -> Option<QueueType> {
        self.defaults
            .as_ref()
            .and_then(|d| d.queue_type.as_ref())
            .map(|t| t.value)
    }
}

/// Settings applied to every queue that does not set them itself.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Queue type for queues without `type:` (default classic, as in RabbitMQ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_type: Option<Spanned<QueueType>>,
}
