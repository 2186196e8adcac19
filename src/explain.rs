//! A plain account of one service: what it consumes and from whom, what it
//! emits and who receives it, how it retries, where its dead letters go,
//! and what it may do on the broker.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::routing::{Headers, Router};
use crate::topology::{Consumer, DestinationType, Permissions, Service, TopicPermission, Topology};

/// What [`explain`] finds out about one service.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The service's name.
    pub service: String,
    /// The queue it consumes; `None` for a service that only publishes.
    pub queue: Option<String>,
    /// Each instance declares a queue of its own with the bindings.
    pub per_instance: bool,
    /// (exchange, key) bindings into the service's queue.
    pub consumes: Vec<(String, String)>,
    /// Services whose emitted keys reach the queue, with the keys.
    pub producers: Vec<(String, Vec<String>)>,
    /// What it publishes, one entry per emit, with where each goes.
    pub emits: Vec<Emitted>,
    /// How it retries a failed message; `None` when it does not retry.
    pub retry: Option<RetrySchedule>,
    /// Where rejected messages go (a queue or an exchange), if anywhere.
    pub dead_letters: Option<String>,
    /// The broker user it connects as; `None` when the spec names none.
    pub user: Option<String>,
    /// That user's configure/write/read permissions in the vhost.
    pub permissions: Option<Permissions>,
    /// That user's topic permissions in the vhost.
    pub topic_permissions: Vec<TopicPermission>,
}

/// One emit of the service and where its messages go.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    /// The exchange it publishes to.
    pub exchange: String,
    /// The routing key it publishes with.
    pub key: String,
    /// Held this long in the delay queue before it reaches `exchange`.
    pub delay: Option<String>,
    /// The queues a message with `key` reaches.
    pub queues: Vec<String>,
    /// Services reading those queues.
    pub services: Vec<String>,
    /// No binding matches and no alternate exchange catches it: the broker
    /// drops the message.
    pub dropped: bool,
}

/// A service's retry chain.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    /// The wait before each retry, in order (`5s`, `1m`, ...).
    pub delays: Vec<String>,
    /// The exchange failed messages are republished to for a later attempt.
    pub exchange: String,
    /// Where a message goes once its retries run out.
    pub dead_letter_queue: String,
    /// The worker waits out each delay itself (a per-instance consumer).
    pub held: bool,
    /// The service's quorum queue delays each redelivery itself.
    pub broker: Option<crate::topology::BrokerRetry>,
}

/// Explains `service`.
///
/// # Errors
/// The topology has no such service.
pub fn explain(
    t: &Topology,
    service: &str,
) -> Result<Explanation, crate::topology::UnknownService> {
    let s: &Service = t.service(service)?;
    let router = Router::new(t);
    let none = Headers::new();
    let queue = s.queue.clone();
    let consumes = t
        .bindings
        .iter()
        .filter(|b| {
            b.destination_type == DestinationType::Queue && Some(&b.destination) == queue.as_ref()
        })
        .map(|b| (b.source.clone(), b.routing_key.clone()))
        .collect();
    let mut producers = Vec::new();
    if let Some(q) = &queue {
        for other in t.services.values() {
            let keys: Vec<String> = other
                .emits
                .iter()
                .filter(|e| {
                    router
                        .route(&e.exchange, &e.key, &none)
                        .is_ok_and(|r| r.queues.contains(q))
                })
                .map(|e| e.key.clone())
                .collect();
            if !keys.is_empty() {
                producers.push((other.name.clone(), keys));
            }
        }
    }
    let emits = s
        .emits
        .iter()
        .map(|e| {
            let route = router.route(&e.exchange, &e.key, &none).unwrap_or_default();
            let services: BTreeSet<String> = route
                .queues
                .iter()
                .filter_map(|q| match &t.queues.get(q)?.consumer {
                    Consumer::Service(name) => Some(name.clone()),
                    _ => None,
                })
                .collect();
            Emitted {
                exchange: e.exchange.clone(),
                key: e.key.clone(),
                delay: e.delay.map(|d| d.to_string()),
                dropped: route.dropped(),
                queues: route.queues.into_iter().collect(),
                services: services.into_iter().collect(),
            }
        })
        .collect();
    let retry = s.retry.as_ref().map(|r| RetrySchedule {
        delays: r.schedule().iter().map(ToString::to_string).collect(),
        exchange: r.exchange.clone(),
        dead_letter_queue: r.dead_letter_queue.clone(),
        held: r.held,
        broker: r.broker,
    });
    let dead_letters = queue.as_ref().and_then(|q| t.queues.get(q)).and_then(|q| {
        match (q.dead_letter_exchange()?, q.dead_letter_routing_key()) {
            ("", Some(key)) => Some(format!("queue {key}")),
            ("", None) => Some("the default exchange, with each message's own key".into()),
            (x, Some(key)) => Some(format!("exchange {x} with key {key}")),
            (x, None) => Some(format!("exchange {x}")),
        }
    });
    let user = s.user.as_ref().and_then(|u| t.users.get(u));
    Ok(Explanation {
        per_instance: queue
            .as_ref()
            .and_then(|q| t.queues.get(q))
            .is_some_and(|q| q.per_instance),
        service: s.name.clone(),
        queue,
        consumes,
        producers,
        emits,
        retry,
        dead_letters,
        user: s.user.clone(),
        permissions: user.and_then(|u| u.permissions.clone()),
        topic_permissions: user
            .map(|u| u.topic_permissions.clone())
            .unwrap_or_default(),
    })
}

/// The explanation as text.
pub fn render_text(e: &Explanation) -> String {
    let mut out = format!("service {}\n", e.service);
    let _ = match &e.queue {
        Some(_) if e.per_instance => writeln!(
            out,
            "\nconsumes through a queue of each instance's own (server-named, exclusive, gone when the instance stops): every instance gets every message"
        ),
        Some(q) => writeln!(out, "\nconsumes from queue {q}"),
        None => writeln!(out, "\nconsumes nothing (a producer)"),
    };
    for (exchange, key) in &e.consumes {
        let _ = writeln!(out, "  bound to {exchange} with key {key:?}");
    }
    if e.queue.is_some() {
        if e.producers.is_empty() {
            out.push_str("  no service in this topology emits what it consumes\n");
        }
        for (producer, keys) in &e.producers {
            let _ = writeln!(out, "  from {producer}: {}", keys.join(", "));
        }
    }
    if e.emits.is_empty() {
        out.push_str("\nemits nothing\n");
    } else {
        out.push_str("\nemits\n");
    }
    for em in &e.emits {
        let target = if em.dropped {
            "dropped: no binding matches".to_string()
        } else if em.services.is_empty() {
            format!("queues {}", em.queues.join(", "))
        } else {
            format!(
                "queues {} (read by {})",
                em.queues.join(", "),
                em.services.join(", ")
            )
        };
        let delay = em
            .delay
            .as_ref()
            .map(|d| format!(" {d} later (through its delay queue)"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {} to {}{delay}: {target}", em.key, em.exchange);
    }
    match &e.retry {
        Some(r) => {
            let (how, dlq) = if let Some(b) = &r.broker {
                (
                    format!(
                        ", each redelivered by the queue itself ({} more per failure, at most {}; the worker rejects a failure back), {} attempts in all",
                        b.min, b.max, b.attempts
                    ),
                    format!(
                        " (through exchange {}); a message still unsettled after {} deliveries is dead-lettered by the queue's delivery limit",
                        r.exchange, b.attempts
                    ),
                )
            } else if r.held {
                (
                    ", each delay waited out by the worker with the message unacked".to_string(),
                    format!(" (through exchange {})", r.exchange),
                )
            } else {
                (format!(" (through exchange {})", r.exchange), String::new())
            };
            let _ = writeln!(
                out,
                "\nretries after {}{how}, then dead-letters to {}{dlq}",
                r.delays.join(", "),
                r.dead_letter_queue
            );
        }
        None => out.push_str("\nno retry: a failed message is rejected at once\n"),
    }
    let _ = match &e.dead_letters {
        Some(target) => writeln!(out, "rejected messages go to {target}"),
        None if e.queue.is_some() => writeln!(
            out,
            "rejected messages are dropped (the queue has no dead-letter target)"
        ),
        None => Ok(()),
    };
    match (&e.user, &e.permissions) {
        (Some(user), Some(p)) => {
            let _ = writeln!(
                out,
                "\nruns as user {user}\n  configure {}\n  write     {}\n  read      {}",
                p.configure, p.write, p.read
            );
            for tp in &e.topic_permissions {
                let _ = writeln!(out, "  topic {}: publish keys {}", tp.exchange, tp.write);
            }
        }
        (Some(user), None) => {
            let _ = writeln!(out, "\nruns as user {user} (not declared under users:)");
        }
        (None, _) => out.push_str("\nruns as the connecting user (no `user:`)\n"),
    }
    out
}

/// The declarations equivalent to the objects an application may declare
/// itself: for `service`, its queue and the exchanges it consumes from and
/// emits to; without one, every exchange and queue. A queue is of type
/// `plain` when declared without one (`VhostSettings::plain_queue_type`).
///
/// # Errors
/// `service` is not in the topology.
pub fn declarations(
    t: &Topology,
    service: Option<&str>,
    plain: crate::topology::QueueType,
) -> Result<Vec<crate::topology::Declaration>, crate::topology::UnknownService> {
    use crate::topology::{Declaration, PREDECLARED};
    let (exchanges, queues): (BTreeSet<&str>, BTreeSet<&str>) = match service {
        Some(name) => {
            let s = t.service(name)?;
            let queue = s
                .queue
                .as_deref()
                .filter(|q| t.queues.get(*q).is_some_and(|q| !q.per_instance));
            let consumed = s
                .queue
                .iter()
                .flat_map(|q| t.bindings_into(q))
                .map(|b| b.source.as_str());
            let emitted = s.emits.iter().map(|e| e.exchange.as_str());
            (
                consumed.chain(emitted).collect(),
                queue.into_iter().collect(),
            )
        }
        None => (
            t.exchanges.keys().map(String::as_str).collect(),
            t.queues
                .values()
                .filter(|q| !q.per_instance)
                .map(|q| q.name.as_str())
                .collect(),
        ),
    };
    let predeclared = |name: &str| name.is_empty() || PREDECLARED.iter().any(|(p, _)| *p == name);
    let exchanges = exchanges
        .into_iter()
        .filter(|x| !predeclared(x))
        .filter_map(|x| t.exchanges.get(x))
        .map(Declaration::of_exchange);
    let queues = queues
        .into_iter()
        .filter_map(|q| t.queues.get(q))
        .map(|q| Declaration::of_queue(q, plain));
    Ok(exchanges.chain(queues).collect())
}
