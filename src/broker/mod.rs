//! Talking to a RabbitMQ broker: connection settings, the management HTTP
//! client, AMQP connections. The only module besides `worker/` that touches
//! the network.

mod amqp;
mod error;
mod http;
pub mod metadata;
mod observe;
mod planning;
mod settings;
pub mod status;

pub use crate::printable::redact;
pub use amqp::{
    HeaderNameTooLong, amqp_headers, bounded, confirm_channel, connect, exclusive_lock,
    field_table, queue_counts,
};
pub use error::BrokerError;
pub use http::{Http, http_client, segment};
pub use observe::{
    Observed, VhostState, fingerprint, observe, observe_with, queue_usage, read_vhost,
};
pub use planning::{Live, live, live_policies, plan, plan_with};
pub use settings::{Password, Settings, SettingsInput};
