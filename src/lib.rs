//! warren keeps a RabbitMQ topology as code.
//!
//! The modules follow the pipeline (see ARCHITECTURE.md):
//!
//! - [`spec`]: the YAML format, loading files with spans, the JSON Schema;
//! - [`topology`]: the one model, and `compile` from spec to model;
//! - [`check`]: graph checks on the model, reported as [`diagnostic`]s;
//! - [`routing`]: which queues a message reaches, as RabbitMQ routes it;
//! - [`validate`]: load, compile and check in one call;
//! - [`cli`]: the `warren` command line, the only module that prints.

#![warn(missing_docs)]

pub mod apply;
pub mod broker;
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod client_code;
pub mod definitions;
pub mod diagnostic;
pub mod explain;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod limits;
pub mod plan;
pub mod printable;
pub mod routing;
pub mod source;
pub mod spec;
pub mod topology;
pub mod validate;
pub mod vocabulary;
pub mod worker;
