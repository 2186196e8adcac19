use serde::Serialize;

use super::{Arguments, ExchangeType, Origin};
use crate::vocabulary::SettingsVia;

/// An exchange, with the properties RabbitMQ declares it with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exchange {
    /// The map key in [`Topology`](super::Topology); not repeated in output.
    #[serde(skip)]
    pub name: String,
    /// Its type: direct, fanout, topic, headers or a plugin's.
    #[serde(rename = "type")]
    pub kind: ExchangeType,
    /// Survives a broker restart.
    pub durable: bool,
    /// Deleted by the broker once its last binding goes.
    pub auto_delete: bool,
    /// Takes no publishes: only other exchanges route to it.
    pub internal: bool,
    /// Where messages no binding matches go; `None` drops them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternate_exchange: Option<String>,
    /// How the broker gets its alternate exchange: the declaration's
    /// argument, or a policy warren generates.
    #[serde(skip_serializing_if = "super::queue::is_arguments")]
    pub settings_via: SettingsVia,
    /// Declare arguments other than the alternate exchange, in canonical form.
    #[serde(skip_serializing_if = "Arguments::is_empty")]
    pub arguments: Arguments,
    /// Where in the spec it was declared.
    #[serde(skip_serializing_if = "is_plain")]
    pub origin: Origin,
}

impl Exchange {
    /// An exchange as RabbitMQ declares one by default: durable, not
    /// auto-delete, not internal, no alternate exchange, no arguments.
    pub fn new(name: impl Into<String>, kind: ExchangeType, origin: Origin) -> Exchange {
        Exchange {
            name: name.into(),
            kind,
            durable: true,
            auto_delete: false,
            internal: false,
            alternate_exchange: None,
            settings_via: SettingsVia::Arguments,
            arguments: Arguments::new(),
            origin,
        }
    }

    /// The arguments its declaration carries: its arguments, and its
    /// alternate exchange unless a policy gives it that.
    pub fn declared_arguments(&self) -> Arguments {
        let mut arguments = self.arguments.clone();
        if let Some(ae) = self.declared_alternate() {
            arguments.insert(super::ALTERNATE_EXCHANGE.into(), serde_json::json!(ae));
        }
        arguments
    }

    /// The alternate exchange its declaration names: none when a policy
    /// gives it.
    pub fn declared_alternate(&self) -> Option<&str> {
        match self.settings_via {
            SettingsVia::Arguments => self.alternate_exchange.as_deref(),
            SettingsVia::Policy => None,
        }
    }

    /// The settings a policy carries for it, by policy key (empty when its
    /// settings are arguments).
    pub fn policy_settings(&self) -> Arguments {
        match (&self.alternate_exchange, self.settings_via) {
            (Some(ae), SettingsVia::Policy) => Arguments::from([(
                crate::vocabulary::Setting::ALTERNATE_EXCHANGE
                    .key()
                    .to_string(),
                serde_json::json!(ae),
            )]),
            _ => Arguments::new(),
        }
    }
}

pub(crate) fn is_plain(origin: &Origin) -> bool {
    origin.generated_by.is_none()
}

/// The exchanges RabbitMQ declares in every vhost. Queues may bind to them
/// and services emit to them without a spec declaring them; they are never
/// planned, created or exported.
pub const PREDECLARED: [(&str, ExchangeType); 5] = [
    ("amq.direct", ExchangeType::Direct),
    ("amq.fanout", ExchangeType::Fanout),
    ("amq.topic", ExchangeType::Topic),
    ("amq.headers", ExchangeType::Headers),
    ("amq.match", ExchangeType::Headers),
];

/// The predeclared exchanges as the broker has them: durable, not
/// auto-delete, not internal.
pub(super) fn predeclared(name: &str) -> Option<&'static Exchange> {
    static EXCHANGES: std::sync::LazyLock<Vec<Exchange>> = std::sync::LazyLock::new(|| {
        PREDECLARED
            .iter()
            .map(|(name, kind)| Exchange::new(*name, kind.clone(), Origin::default()))
            .collect()
    });
    EXCHANGES.iter().find(|x| x.name == name)
}
