//! RabbitMQ definitions (the JSON of `rabbitmqctl export_definitions` and
//! `GET /api/definitions`): a front end (`import`) and a back end (`export`)
//! of the one [`Topology`](crate::topology::Topology).
//!
//! The broker's definitions import is also how tests load a topology into a
//! fresh vhost in one request.

mod document;
mod export;
mod import;

pub use export::to_definitions;
pub use import::{
    DefinitionsError, Imported, binding_key, from_definitions, parse_apply_to, vhost_settings,
};
