//! The small vocabularies that both the spec format and the model speak:
//! exchange, queue and overflow kinds, durations, handler kinds, and which
//! named field stands for which argument. A leaf: it imports neither `spec`
//! nor `topology`, so those two do not import each other for these words.

mod duration;
mod handler;
mod kinds;
mod named;
mod policy_values;

pub use duration::Duration;
pub use handler::Handler;
pub use kinds::{ApplyTo, DeadLetterStrategy, ExchangeType, HeadersMatch, Overflow, QueueType};
pub use named::NAMED_ARGUMENTS;
pub use policy_values::{POLICY_VALUES, ValueKind, policy_value_problem};
