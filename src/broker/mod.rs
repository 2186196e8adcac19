//! Talking to a RabbitMQ broker: connection settings, the management HTTP
//! client, AMQP connections. The only module besides `worker/` that touches
//! the network.

mod amqp;
mod error;
mod http;
mod settings;

pub use amqp::{amqp_headers, connect};
pub use error::BrokerError;
pub use http::{Http, http_client};
pub use settings::{Password, Settings, SettingsInput, redact};
