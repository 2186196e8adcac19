//! A long-lived publisher for code that publishes outside a handler (an
//! HTTP API taking orders): as one service of the spec, each message
//! checked against the service's emits and the spec's routes, then sent
//! persistent, `mandatory` and confirmed.
//!
//! It connects on first use and again on the next publish after the
//! broker went away; a publish in flight when the connection drops fails
//! (the caller repeats it: at-least-once), never silently succeeds.
//!
//! ```no_run
//! # async fn example(topology: warren::topology::Topology, settings: warren::broker::Settings) -> Result<(), warren::worker::publish::RequestError> {
//! use warren::worker::{Event, Publisher};
//!
//! let publisher = Publisher::new(&topology, &settings, "order_api")?;
//! let event = Event::new("order.created", serde_json::json!({ "order": "o-1" }));
//! publisher.publish(&event, "o-1.created", Some("o-1")).await?;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use tokio::sync::Mutex;

use super::Event;
use super::emit::{self, SessionPublisher};
use super::publish::{Request, RequestError, check, not_taken};
use crate::broker::Settings;
use crate::topology::Topology;

/// Publishes as one service, over one connection kept open.
pub struct Publisher {
    topology: Arc<Topology>,
    service: String,
    /// The service's user's.
    settings: Settings,
    session: Mutex<Option<Arc<SessionPublisher>>>,
}

impl Publisher {
    /// A publisher for `service` of `topology`. Nothing connects yet.
    ///
    /// # Errors
    /// The spec has no such service, one of its emits goes nowhere (the
    /// broker would return or drop what it publishes), or its user's
    /// password is not in the environment.
    pub fn new(
        topology: &Topology,
        settings: &Settings,
        service: &str,
    ) -> Result<Publisher, RequestError> {
        let spec = topology
            .service(service)
            .map_err(super::WorkerError::from)?;
        for emit in &spec.emits {
            let request = Request {
                key: emit.key.clone(),
                exchange: Some(emit.exchange.clone()),
                service: Some(service.to_string()),
                ..Request::default()
            };
            check(topology, &request)?;
        }
        Ok(Publisher {
            topology: Arc::new(topology.clone()),
            service: service.to_string(),
            settings: super::settings_for(topology, settings, service)?,
            session: Mutex::new(None),
        })
    }

    /// Publishes `event` with `message_id` (and `correlation_id`), once
    /// the broker confirmed it stored the message in every queue the spec
    /// routes it to.
    ///
    /// # Errors
    /// [`RequestError::Refused`]: the service does not emit the event, or
    /// nothing receives it; [`RequestError::Broker`]: the broker cannot be
    /// reached or the connection dropped (publish again);
    /// [`RequestError::NotTaken`]: the broker returned, nacked or refused
    /// the message.
    pub async fn publish(
        &self,
        event: &Event,
        message_id: &str,
        correlation_id: Option<&str>,
    ) -> Result<(), RequestError> {
        let request = Request {
            exchange: event.exchange.clone(),
            key: event.key.clone(),
            headers: event
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            service: Some(self.service.clone()),
            ..Request::default()
        };
        let target = check(&self.topology, &request)?;
        let properties = emit::json_properties(message_id, correlation_id, &request.headers)
            .map_err(|e| RequestError::Refused(e.to_string()))?;
        let body = serde_json::to_vec(&event.body).unwrap_or_default();
        let session = self.session().await?;
        let sent = session
            .publish(&target.publish_to, &event.key, &body, properties)
            .await;
        if sent.is_err() && !session.connected() {
            // The next publish connects again.
            let mut slot = self.session.lock().await;
            if slot.as_ref().is_some_and(|s| Arc::ptr_eq(s, &session)) {
                *slot = None;
            }
        }
        sent.map_err(|e| not_taken(&target.publish_to, e))
    }

    /// The open session, or a new one. Publishes share it: each waits for
    /// its own confirm, not for the others'.
    async fn session(&self) -> Result<Arc<SessionPublisher>, RequestError> {
        let mut slot = self.session.lock().await;
        if let Some(open) = slot.as_ref().filter(|s| s.connected()) {
            return Ok(Arc::clone(open));
        }
        let connection = crate::broker::connect(&self.settings, &self.topology.vhost).await?;
        let session = Arc::new(SessionPublisher::open(Arc::new(connection)).await?);
        *slot = Some(Arc::clone(&session));
        Ok(session)
    }
}
