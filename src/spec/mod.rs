//! The YAML spec format: serde types that keep source spans, loading of a
//! file or a directory, and the JSON Schema.
//!
//! This is the only module that knows the YAML crate. It checks the shape of
//! each file; what the objects mean is `topology::compile`'s business.

mod binding;
mod document;
mod error;
mod exchange;
mod from_topology;
mod load;
mod one_or_many;
mod peek;
mod policy;
mod queue;
pub mod schema;
mod service;
mod spanned;
mod user;
mod vhost;
mod yaml;

pub use crate::vocabulary::Duration;
pub use binding::BindingSpec;
pub use document::{BrokerSpec, BrokerVersions, Defaults, Named, SpecFile};
pub use error::LoadError;
pub use exchange::ExchangeSpec;
pub use from_topology::{SCHEMA_HEADER, from_topology, to_spec_yaml};
pub use load::{Loaded, load_paths, load_str, plain_words, read_file};
pub use one_or_many::OneOrMany;
pub use peek::peek_vhost;
pub use policy::PolicySpec;
pub use queue::{DeadLetterSpec, QueueSpec};
pub use service::{AssertSpec, ConsumeSpec, EmitSpec, IdempotencySpec, RetrySpec, ServiceSpec};
pub use spanned::{Loc, Spanned};
pub use user::UserSpec;
pub use vhost::{VhostSettingsSpec, VhostSpec};
pub use yaml::{YamlError, to_yaml};
