//! The shape of a definitions document, as far as warren reads it. Fields
//! it does not know are ignored; missing ones take the broker's defaults.

use serde::Deserialize;
use serde_json::Value;

use crate::topology::Arguments;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Document {
    /// The release that exported it (older exports say only
    /// `rabbit_version`). Read leniently: a hand-made document may hold
    /// anything here.
    pub(super) rabbitmq_version: Value,
    pub(super) rabbit_version: Value,
    /// `single_virtual_host` in a one-vhost export of 4.x.
    pub(super) rabbitmq_definition_format: Value,
    pub(super) vhosts: Vec<VhostEntry>,
    /// A one-vhost export's vhost metadata (4.x).
    pub(super) metadata: Value,
    pub(super) users: Vec<UserEntry>,
    pub(super) permissions: Vec<PermissionEntry>,
    pub(super) topic_permissions: Vec<TopicPermissionEntry>,
    pub(super) queues: Vec<QueueEntry>,
    pub(super) exchanges: Vec<ExchangeEntry>,
    pub(super) bindings: Vec<BindingEntry>,
    pub(super) policies: Vec<PolicyEntry>,
    pub(super) parameters: Vec<Value>,
    pub(super) global_parameters: Vec<Value>,
}

#[derive(Deserialize)]
pub(super) struct VhostEntry {
    pub(super) name: String,
    /// Its metadata, however the release spells it.
    #[serde(flatten)]
    pub(super) rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
pub(super) struct UserEntry {
    pub(super) name: String,
    #[serde(default)]
    pub(super) tags: Value,
}

#[derive(Deserialize)]
pub(super) struct PermissionEntry {
    pub(super) user: String,
    pub(super) vhost: String,
    pub(super) configure: String,
    pub(super) write: String,
    pub(super) read: String,
}

#[derive(Deserialize)]
pub(super) struct TopicPermissionEntry {
    pub(super) user: String,
    pub(super) vhost: String,
    pub(super) exchange: String,
    pub(super) write: String,
    pub(super) read: String,
}

#[derive(Deserialize)]
pub(super) struct QueueEntry {
    pub(super) name: String,
    pub(super) vhost: Option<String>,
    #[serde(default = "yes")]
    pub(super) durable: bool,
    #[serde(default)]
    pub(super) auto_delete: bool,
    #[serde(default)]
    pub(super) exclusive: bool,
    #[serde(default)]
    pub(super) arguments: Arguments,
    /// 3.13 and later exports name the type here as well.
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ExchangeEntry {
    pub(super) name: String,
    pub(super) vhost: Option<String>,
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default = "yes")]
    pub(super) durable: bool,
    #[serde(default)]
    pub(super) auto_delete: bool,
    #[serde(default)]
    pub(super) internal: bool,
    #[serde(default)]
    pub(super) arguments: Arguments,
}

#[derive(Deserialize)]
pub(super) struct BindingEntry {
    pub(super) source: String,
    pub(super) vhost: Option<String>,
    pub(super) destination: String,
    pub(super) destination_type: String,
    #[serde(default)]
    pub(super) routing_key: String,
    #[serde(default)]
    pub(super) arguments: Arguments,
}

#[derive(Deserialize)]
pub(super) struct PolicyEntry {
    pub(super) name: String,
    pub(super) vhost: Option<String>,
    pub(super) pattern: String,
    #[serde(rename = "apply-to", default = "all")]
    pub(super) apply_to: String,
    #[serde(default)]
    pub(super) priority: i64,
    #[serde(default)]
    pub(super) definition: Arguments,
}

impl Document {
    /// Whether this is one vhost's export (`GET /api/definitions/{vhost}`),
    /// whose objects all belong to the vhost it is imported as. 4.x says so;
    /// 3.x leaves the vhost off its queues, exchanges and bindings but keeps
    /// it on policies, which must not make a vhost of their own.
    pub(super) fn one_vhost(&self) -> bool {
        self.vhosts.is_empty()
            && (self.rabbitmq_definition_format == "single_virtual_host"
                || self.queues.iter().any(|q| q.vhost.is_none())
                || self.exchanges.iter().any(|x| x.vhost.is_none())
                || self.bindings.iter().any(|b| b.vhost.is_none()))
    }

    /// The release line that exported the document, when it says.
    pub(super) fn exported_by(&self) -> Option<crate::vocabulary::Version> {
        [&self.rabbitmq_version, &self.rabbit_version]
            .into_iter()
            .find_map(|v| v.as_str().and_then(crate::vocabulary::Version::parse))
    }
}

fn yes() -> bool {
    true
}

fn all() -> String {
    "all".into()
}
