//! `warren run`: generic workers driven by the spec. A worker consumes a
//! service's queue, calls its handler, publishes the events the handler
//! emits and carries out the retry and dead-letter policy the spec
//! declares, at least once throughout.
//!
//! - `message.rs`: the handler contract (message, event, failure);
//! - `handler/`: exec, stdio, http, and async functions (the Rust API);
//! - `consume.rs`: one service's connection, consumer and shutdown;
//! - `process.rs`: one delivery, from receipt to ack;
//! - `settle.rs`: the one decision on retry and dead-lettering;
//! - `emit.rs`: confirmed, mandatory publishing;
//! - `idempotency.rs`, `metrics.rs`, `headers.rs`, `delivery.rs`.
//!
//! The Rust API:
//!
//! ```no_run
//! # async fn example(topology: warren::topology::Topology, settings: warren::broker::Settings) -> Result<(), warren::worker::WorkerError> {
//! use warren::worker::{Event, Runner, handler};
//! let cancel = tokio_util::sync::CancellationToken::new();
//! Runner::new(topology, settings)
//!     .handler("shipping", handler::function(|m| async move {
//!         Ok(vec![Event::new("order.shipped", m.body)])
//!     }))?
//!     .run(cancel)
//!     .await
//! # }
//! ```

mod consume;
pub mod contract;
pub mod delivery;
pub mod dlq;
pub mod emit;
pub mod handler;
pub mod headers;
pub mod hold;
pub mod idempotency;
mod message;
pub mod metrics;
mod process;
pub mod publish;
mod publisher;
pub mod settle;
mod suspects;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::broker::{Password, Settings};
use crate::topology::Topology;

pub use handler::Handler;
pub use message::{Event, Failure, Message, Outcome, Reply};
pub use metrics::Health;
pub use publisher::Publisher;
pub use settle::Reason;

/// How long deliveries in flight may take to finish after a shutdown
/// signal, when no one says.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why workers could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The spec has no such service.
    #[error(transparent)]
    UnknownService(#[from] crate::topology::UnknownService),
    /// The service (named) consumes no queue.
    #[error("service {0:?} consumes nothing, so there is nothing to run")]
    NothingToConsume(String),
    /// The service (named) has no handler in the spec.
    #[error("service {0:?} has no handler: give it one in the spec (exec, stdio or http)")]
    NoHandler(String),
    /// No service was named, and none in the spec has a handler.
    #[error("no service in the spec has a handler: nothing to run")]
    NothingToRun,
    /// The service's user has no password in the environment.
    #[error(
        "service {service:?} runs as user {user:?}, whose password is read from ${var}, which is not set"
    )]
    MissingPassword {
        /// The service.
        service: String,
        /// The user it runs as.
        user: String,
        /// The environment variable the password is read from.
        var: String,
    },
    /// Something the service needs could not be set up: its handler's HTTP
    /// client, or its idempotency store.
    #[error("service {service:?}: {reason}")]
    Setup {
        /// The service.
        service: String,
        /// What failed.
        reason: String,
    },
}

/// The settings `service` connects with: its own user's (the password from
/// that user's variable), when it has one; `settings` otherwise.
///
/// # Errors
/// The service's user has no password in the environment.
pub fn settings_for(
    topology: &Topology,
    settings: &Settings,
    service: &str,
) -> Result<Settings, WorkerError> {
    let settings = settings.clone();
    let Some(user) = topology.services.get(service).and_then(|s| s.user.clone()) else {
        return Ok(settings);
    };
    let var = topology.users.get(&user).map_or_else(
        || crate::topology::default_password_env(&user),
        crate::topology::User::password_var,
    );
    let password = std::env::var(&var)
        .ok()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| WorkerError::MissingPassword {
            service: service.to_string(),
            user: user.clone(),
            var: var.clone(),
        })?;
    Ok(settings.as_user(user, Password::new(password)))
}

/// Workers for some of a topology's services, run together.
pub struct Runner {
    topology: Arc<Topology>,
    settings: Settings,
    handlers: BTreeMap<String, Arc<dyn Handler>>,
    shutdown_timeout: Duration,
    hold_limit: Duration,
    health: Health,
}

impl Runner {
    /// `settings` are how to reach the broker; a service with `user:`
    /// connects as that user instead.
    pub fn new(topology: Topology, settings: Settings) -> Runner {
        Runner {
            topology: Arc::new(topology),
            settings,
            handlers: BTreeMap::new(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            hold_limit: hold::DEFAULT_HOLD_LIMIT,
            health: Health::default(),
        }
    }

    /// Runs `service` with `handler` (instead of what the spec names).
    ///
    /// # Errors
    /// The spec has no such service, or it consumes nothing.
    pub fn handler(mut self, service: &str, handler: impl Handler) -> Result<Runner, WorkerError> {
        self.consumer(service)?;
        self.handlers.insert(service.to_string(), Arc::new(handler));
        Ok(self)
    }

    /// Runs the services named in `only` (every service with a handler
    /// when empty) with the handlers the spec gives them.
    ///
    /// # Errors
    /// A named service is unknown, consumes nothing or has no handler; or,
    /// with none named, no service has a handler.
    pub fn spec_handlers(mut self, only: &[String]) -> Result<Runner, WorkerError> {
        let names: Vec<String> = if only.is_empty() {
            let with: Vec<String> = self
                .topology
                .services
                .values()
                .filter(|s| s.handler.is_some() && s.queue.is_some())
                .map(|s| s.name.clone())
                .collect();
            if with.is_empty() {
                return Err(WorkerError::NothingToRun);
            }
            with
        } else {
            only.to_vec()
        };
        for name in names {
            self.consumer(&name)?;
            let spec = self.topology.services[&name]
                .handler
                .clone()
                .ok_or_else(|| WorkerError::NoHandler(name.clone()))?;
            let handler = handler::from_spec(&spec).map_err(|e| WorkerError::Setup {
                service: name.clone(),
                reason: format!("cannot build the handler's HTTP client: {e}"),
            })?;
            self.handlers.insert(name, handler);
        }
        Ok(self)
    }

    /// How long deliveries in flight may take to finish after cancellation;
    /// [`DEFAULT_SHUTDOWN_TIMEOUT`] when not set.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Runner {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long a message whose retry or dead-letter copy the broker
    /// refuses is held (its service paused) before it returns to its
    /// queue; keep it below the broker's consumer timeout.
    pub fn hold_limit(mut self, limit: Duration) -> Runner {
        self.hold_limit = limit;
        self
    }

    /// Which services are connected, paused or stalled; what `/healthz`
    /// reports.
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// The services this runner will run.
    pub fn services(&self) -> Vec<String> {
        self.handlers.keys().cloned().collect()
    }

    fn consumer(&self, service: &str) -> Result<&str, WorkerError> {
        let s = self.topology.service(service)?;
        s.queue
            .as_deref()
            .ok_or_else(|| WorkerError::NothingToConsume(service.to_string()))
    }

    /// The queue `service` reads, or the bindings of the queue each of its
    /// instances declares for itself.
    fn source(&self, service: &str) -> Result<consume::Source, WorkerError> {
        let queue = self.consumer(service)?;
        Ok(match self.topology.queues.get(queue) {
            Some(q) if q.per_instance => consume::Source::PerInstance {
                bindings: self.topology.bindings_into(queue).cloned().collect(),
                arguments: q.arguments.clone(),
            },
            _ => consume::Source::Shared(queue.to_string()),
        })
    }

    /// Runs every service until `cancel`, then shuts each down cleanly.
    ///
    /// # Errors
    /// Before anything consumes: a password is missing, or an idempotency
    /// store cannot be opened.
    pub async fn run(self, cancel: CancellationToken) -> Result<(), WorkerError> {
        let mut sessions = Vec::new();
        for (name, handler) in &self.handlers {
            let service = self.topology.services[name].clone();
            let settings = settings_for(&self.topology, &self.settings, name)?;
            let idempotency = match &service.idempotency {
                Some(i) => Some(
                    idempotency::Store::open(&i.store, &self.topology.vhost, name)
                        .await
                        .map_err(|e| WorkerError::Setup {
                            service: name.clone(),
                            reason: e.to_string(),
                        })?,
                ),
                None => None,
            };
            self.health.set(name, false);
            self.health
                .watch(name, Duration::from_millis(service.timeout.millis));
            sessions.push(consume::Session {
                queue: self.source(name)?,
                cx: Arc::new(process::Context {
                    service,
                    shutdown: cancel.clone(),
                    handler: handler.clone(),
                    idempotency,
                    health: self.health.clone(),
                    gate: hold::Gate::default(),
                    suspects: suspects::Suspects::default(),
                    hold_limit: self.hold_limit,
                }),
                settings,
                vhost: self.topology.vhost.clone(),
                shutdown_timeout: self.shutdown_timeout,
                health: self.health.clone(),
            });
        }
        let mut running = tokio::task::JoinSet::new();
        for session in sessions {
            running.spawn(consume::run(session, cancel.clone()));
        }
        while running.join_next().await.is_some() {}
        Ok(())
    }
}
