//! The small vocabularies that both the spec format and the model speak:
//! exchange, queue and overflow kinds, durations, handler kinds, RabbitMQ
//! versions, and the settings table. A leaf: it imports neither `spec` nor
//! `topology`, so those two do not import each other for these words.

pub mod arguments;
mod duration;
mod handler;
mod kinds;
mod settings;
mod version;

pub use duration::Duration;
pub use handler::Handler;
pub use kinds::{
    ApplyTo, DeadLetterStrategy, ExchangeType, HeadersMatch, LeaderLocator, Overflow, QueueType,
    RetryVia, SettingsVia,
};
pub use settings::{Applies, SETTINGS, Setting, ValueKind, Verdict, lower_limit};
pub use version::{Concerned, SUPPORTED, Targets, Version};
