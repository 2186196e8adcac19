use serde::Serialize;

use super::{Arguments, ExchangeType, Origin};

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
            arguments: Arguments::new(),
            origin,
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
