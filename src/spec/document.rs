//! The top level of a spec file (version 1).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BindingSpec, ExchangeSpec, PolicySpec, QueueSpec, ServiceSpec, Spanned, UserSpec};
use crate::vocabulary::{QueueType, SettingsVia};

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
    /// The virtual host the topology lives in: its name (default "/"), or
    /// a mapping with its `name` and metadata (`description`, `tags`,
    /// `default_queue_type`), which one file of the topology states. All
    /// files of a topology must agree on the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vhost: Option<super::VhostSpec>,
    /// The RabbitMQ broker this topology is meant for. Checks whose answer
    /// depends on the release use it; without it they cover every
    /// supported release (see docs/checks.md, Broker versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<BrokerSpec>,
    /// Settings every queue of this file gets unless it sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
    /// The exchanges publishers send to, by name: each has a `type`
    /// (direct, fanout, topic, headers or a plugin type).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exchanges: Named<ExchangeSpec>,
    /// The queues, by name: their settings as named fields and the
    /// `bindings` that feed them. Services declare their own queues.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queues: Named<QueueSpec>,
    /// Bindings that belong to no queue block: exchange-to-exchange bindings,
    /// or queue bindings kept apart from the queue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<BindingSpec>,
    /// Policies, by name: settings the broker applies to every queue or
    /// exchange whose name matches `pattern`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: Named<PolicySpec>,
    /// The services around the broker, by name: what each consumes and
    /// emits, its retries, its user and how `warren run` calls it. Each gets
    /// a queue of its own unless it consumes a declared one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: Named<ServiceSpec>,
    /// Broker users, by name, with least-privilege permissions derived from
    /// the services that run as them. Passwords come from the environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users: Named<UserSpec>,
    /// Regular expressions of object names warren leaves alone on the broker
    /// (never deleted, never reported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<Spanned<String>>,
}

impl SpecFile {
    /// The vhost the file names ("/" when it names none).
    pub fn vhost_name(&self) -> &str {
        self.vhost.as_ref().map_or("/", |v| v.name.value.as_str())
    }

    /// The file's `defaults.settings`, if set.
    pub fn default_settings(&self) -> Option<SettingsVia> {
        self.defaults
            .as_ref()
            .and_then(|d| d.settings.as_ref())
            .map(|s| s.value)
    }

    /// The file's `defaults.queue_type`, if set.
    pub fn default_queue_type(&self) -> Option<QueueType> {
        self.defaults
            .as_ref()
            .and_then(|d| d.queue_type.as_ref())
            .map(|t| t.value)
    }
}

/// What the spec says of its broker.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrokerSpec {
    /// The RabbitMQ release lines the topology runs on, such as "3.13", or
    /// a list of them while a cluster is upgraded: ["3.13", "4.1"]. Patch
    /// numbers are allowed and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Spanned<BrokerVersions>>,
    /// How many nodes the cluster has: a quorum queue's group cannot be
    /// larger. `plan` and `validate --http-url` count the live broker's
    /// nodes instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Spanned<u32>>,
}

/// One release line or a list of them.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum BrokerVersions {
    /// One release line, such as "4.1".
    One(String),
    /// Several release lines, while a cluster is upgraded: ["3.13", "4.1"].
    Many(Vec<String>),
}

impl BrokerVersions {
    /// Each release line as written.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let all: &[String] = match self {
            BrokerVersions::One(one) => std::slice::from_ref(one),
            BrokerVersions::Many(many) => many,
        };
        all.iter().map(String::as_str)
    }
}

/// Settings applied to every queue that does not set them itself.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Queue type for queues without `type:` (default classic, as in RabbitMQ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_type: Option<Spanned<QueueType>>,
    /// How the exchanges and queues of this file (and those its services
    /// generate) get their optional settings: `arguments` (default) or
    /// `policy`, through policies warren manages, so that applications
    /// that declare the objects themselves with plain declarations keep
    /// working. An object's own `settings:` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Spanned<SettingsVia>>,
}
