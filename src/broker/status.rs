//! `warren status`: each consuming service's queues as the broker sees
//! them now (depth, consumers, rates, retry queues, dead-letter queue) and
//! the flags an operator acts on. Returns data; `cli/status.rs` draws it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{BrokerError, Http, segment};
use crate::topology::Topology;

/// One queue now. `exists` is false when the spec names it and the broker
/// does not have it (the topology is not applied).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct QueueNow {
    /// The queue's name in the vhost.
    pub name: String,
    /// Whether the broker has the queue.
    pub exists: bool,
    /// Messages ready for delivery.
    pub ready: u64,
    /// Messages delivered and not yet acknowledged.
    pub unacked: u64,
    /// Failed deliveries a quorum queue holds back before redelivering
    /// them (`retry: { via: broker }`, RabbitMQ 4.3); 0 elsewhere.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delayed: u64,
    /// Consumers attached.
    pub consumers: u64,
    /// Messages per second, as the management API averages them.
    pub publish_rate: f64,
    /// Messages per second delivered or fetched, as the management API averages
    /// them.
    pub deliver_rate: f64,
    /// How fast the depth changes (positive: growing).
    pub depth_rate: f64,
    /// A quorum queue's leader node and its members, as the broker lists
    /// them; empty for other queues.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    /// A quorum queue's members (nodes), as the broker lists them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// The members that are running and in the Raft group now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub online: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl QueueNow {
    /// Messages in the queue: ready plus unacknowledged.
    pub fn depth(&self) -> u64 {
        self.ready + self.unacked
    }
}

/// What needs a look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// The spec's queue is not on the broker.
    Missing,
    /// Nobody consumes the queue: messages pile up.
    NoConsumer,
    /// Messages wait (ready, not just in flight) and keep gaining.
    Growing,
    /// The dead-letter queue is not empty.
    DeadLetters,
    /// A queue of the retry chain (a delay queue or the DLQ) or its retry
    /// exchange is missing: the worker cannot settle a failure, and pauses.
    ChainBroken,
    /// A quorum queue whose online members are no majority of its
    /// members: it takes no publishes and delivers nothing until enough
    /// nodes are back.
    Minority,
}

impl Flag {
    /// A short label for people (`no consumer`, `retry chain missing`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Missing => "missing",
            Flag::NoConsumer => "no consumer",
            Flag::Growing => "growing",
            Flag::DeadLetters => "dead letters",
            Flag::ChainBroken => "retry chain missing",
            Flag::Minority => "no quorum",
        }
    }
}

/// One consuming service's queues now, and what needs a look.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceStatus {
    /// The service's name.
    pub service: String,
    /// The queue the service consumes.
    pub queue: QueueNow,
    /// The retry chain's delay queues, shortest delay first.
    pub retry_queues: Vec<QueueNow>,
    /// The retry chain's dead-letter queue; `None` when the service does not
    /// retry.
    pub dead_letter_queue: Option<QueueNow>,
    /// The retry chain's exchanges that the spec declares and the broker
    /// does not have.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_exchanges: Vec<String>,
    /// What needs a look, in [`Flag`]'s order.
    pub flags: Vec<Flag>,
}

impl ServiceStatus {
    /// Whether the service retries (through `retry_queues`, its worker's
    /// hold, or its queue's delayed redelivery): every retry has a DLQ.
    pub fn retries(&self) -> bool {
        self.dead_letter_queue.is_some()
    }

    /// Messages waiting out a retry delay: in the delay queues, or held
    /// back by the service's quorum queue itself.
    pub fn retrying(&self) -> u64 {
        self.retry_queues.iter().map(QueueNow::depth).sum::<u64>() + self.queue.delayed
    }
}

/// Every consuming service of one vhost now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VhostStatus {
    /// The vhost's name.
    pub vhost: String,
    /// Each service that consumes a queue, by name.
    pub services: Vec<ServiceStatus>,
}

impl VhostStatus {
    /// Whether a service's dead letters have nowhere to go: a queue of its
    /// retry chain is missing.
    pub fn chain_broken(&self) -> bool {
        self.services
            .iter()
            .any(|s| s.flags.contains(&Flag::ChainBroken))
    }

    /// Whether the vhost wants someone to look: dead letters wait, or a
    /// retry chain is broken (`status --fail-on-dlq`).
    pub fn needs_attention(&self) -> bool {
        self.dead_letters() > 0 || self.chain_broken()
    }

    /// Messages in the services' dead-letter queues, together.
    pub fn dead_letters(&self) -> u64 {
        self.services
            .iter()
            .filter_map(|s| s.dead_letter_queue.as_ref())
            .map(QueueNow::depth)
            .sum()
    }
}

/// A depth gaining at least this many messages a second counts as growing;
/// below it is the noise of a queue being worked.
const GROWING: f64 = 0.5;

/// The flags of one service: the one place that decides what is wrong.
pub fn flags(
    queue: &QueueNow,
    retry_queues: &[QueueNow],
    dead_letters: Option<&QueueNow>,
    exchange_missing: bool,
) -> Vec<Flag> {
    let mut flags = Vec::new();
    if !queue.exists {
        flags.push(Flag::Missing);
        return flags;
    }
    if queue.consumers == 0 {
        flags.push(Flag::NoConsumer);
    }
    // Unacked messages are work in flight; only a waiting backlog grows.
    if queue.ready > 0 && queue.depth_rate >= GROWING {
        flags.push(Flag::Growing);
    }
    if dead_letters.is_some_and(|d| d.depth() > 0) {
        flags.push(Flag::DeadLetters);
    }
    if exchange_missing || retry_queues.iter().chain(dead_letters).any(|q| !q.exists) {
        flags.push(Flag::ChainBroken);
    }
    if !queue.members.is_empty() && queue.online.len() * 2 <= queue.members.len() {
        flags.push(Flag::Minority);
    }
    flags
}

/// The management API's view of one queue, the columns `status` asks for.
#[derive(Debug, Default, Deserialize)]
struct Live {
    name: String,
    #[serde(default)]
    messages_ready: u64,
    #[serde(default)]
    messages_unacknowledged: u64,
    #[serde(default)]
    messages_delayed: u64,
    #[serde(default)]
    consumers: u64,
    #[serde(default)]
    messages_details: Rate,
    #[serde(default)]
    message_stats: Stats,
    #[serde(default)]
    leader: Option<String>,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    online: Vec<String>,
}

/// One queue of the listing, read so that a repeated key does not fail
/// it. RabbitMQ 3.10 lists `online` twice for a quorum queue while some of
/// its members are down, and the two disagree (a stopped node can stay in
/// one of them): a member counts as online only where every copy says so.
/// Any other repeated key keeps its last value, as JSON parsers do.
struct Listed(Live);

impl<'de> Deserialize<'de> for Listed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Listed, D::Error> {
        struct Pairs;
        impl<'de> serde::de::Visitor<'de> for Pairs {
            type Value = serde_json::Map<String, serde_json::Value>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a queue (a JSON object)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = serde_json::Map::new();
                let mut online: Option<Vec<serde_json::Value>> = None;
                while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                    if key != "online" {
                        out.insert(key, value);
                        continue;
                    }
                    let these = match value {
                        serde_json::Value::Array(these) => these,
                        _ => Vec::new(),
                    };
                    online = Some(match online {
                        None => these,
                        Some(seen) => seen.into_iter().filter(|n| these.contains(n)).collect(),
                    });
                }
                if let Some(online) = online {
                    out.insert("online".into(), serde_json::Value::Array(online));
                }
                Ok(out)
            }
        }
        let fields = d.deserialize_map(Pairs)?;
        Live::deserialize(serde_json::Value::Object(fields))
            .map(Listed)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Default, Deserialize)]
struct Rate {
    #[serde(default)]
    rate: f64,
}

#[derive(Debug, Default, Deserialize)]
struct Stats {
    #[serde(default)]
    publish_details: Rate,
    #[serde(default)]
    deliver_get_details: Rate,
}

/// The status of each topology's vhost, in order.
///
/// # Errors
/// As [`status`], for the first vhost that fails.
pub async fn statuses(
    http: &Http,
    topologies: &[Topology],
) -> Result<Vec<VhostStatus>, BrokerError> {
    let mut all = Vec::with_capacity(topologies.len());
    for topology in topologies {
        all.push(status(http, topology).await?);
    }
    Ok(all)
}

/// Reads every queue of the topology's vhost in one request and arranges
/// them by service (services that consume, in name order).
///
/// # Errors
/// The management API refuses or cannot be reached;
/// [`BrokerError::NoVhost`] when the vhost does not exist.
pub async fn status(http: &Http, topology: &Topology) -> Result<VhostStatus, BrokerError> {
    status_of(http, topology).await.map_err(|e| match e {
        BrokerError::Status { status: 404, .. } => BrokerError::NoVhost {
            vhost: topology.vhost.clone(),
        },
        other => other,
    })
}

async fn status_of(http: &Http, topology: &Topology) -> Result<VhostStatus, BrokerError> {
    let vhost = &topology.vhost;
    let live: Vec<Listed> = http
        .get_json(
            &format!(
                "queues/{}?columns=name,messages_ready,messages_unacknowledged,messages_delayed,consumers,messages_details.rate,message_stats.publish_details.rate,message_stats.deliver_get_details.rate,leader,members,online",
                segment(vhost)
            ),
            &format!("list the queues of vhost {vhost:?}"),
        )
        .await?;
    let live: BTreeMap<String, Live> = live
        .into_iter()
        .map(|Listed(q)| (q.name.clone(), q))
        .collect();
    let now = |name: &str| match live.get(name) {
        Some(q) => q.now(name),
        None => QueueNow {
            name: name.to_string(),
            ..QueueNow::default()
        },
    };
    // Per-instance queues are server-named: the consumer listing says whose
    // each one is, by its consumer tag. Asked only when the spec has any.
    let per_instance = topology.queues.values().any(|q| q.per_instance);
    let consumers: Vec<ConsumerNow> = if per_instance {
        http.get_json(
            &format!("consumers/{}", segment(vhost)),
            &format!("list the consumers of vhost {vhost:?}"),
        )
        .await?
    } else {
        Vec::new()
    };
    // The retry exchanges, read only when a service retries.
    let live_exchanges: std::collections::BTreeSet<String> =
        if topology.services.values().any(|s| s.retry.is_some()) {
            let listed: Vec<Named> = http
                .get_json(
                    &format!("exchanges/{}?columns=name", segment(vhost)),
                    &format!("list the exchanges of vhost {vhost:?}"),
                )
                .await?;
            listed.into_iter().map(|e| e.name).collect()
        } else {
            Default::default()
        };
    let services = topology
        .services
        .values()
        .filter_map(|service| {
            let name = service.queue.as_deref()?;
            let queue = if topology.queues.get(name).is_some_and(|q| q.per_instance) {
                let own: std::collections::BTreeSet<&str> = consumers
                    .iter()
                    .filter(|c| service.owns_consumer_tag(&c.consumer_tag))
                    .map(|c| c.queue.name.as_str())
                    .collect();
                instances(name, own.iter().filter_map(|q| live.get(*q)))
            } else {
                now(name)
            };
            let retry_queues: Vec<QueueNow> = service
                .retry
                .iter()
                .flat_map(|r| r.delay_queues.iter().map(|q| now(q)))
                .collect();
            let dead_letter_queue = service.retry.as_ref().map(|r| now(&r.dead_letter_queue));
            let missing_exchanges: Vec<String> = service
                .retry
                .iter()
                .map(|r| &r.exchange)
                .filter(|x| topology.exchanges.contains_key(*x) && !live_exchanges.contains(*x))
                .cloned()
                .collect();
            Some(ServiceStatus {
                service: service.name.clone(),
                flags: flags(
                    &queue,
                    &retry_queues,
                    dead_letter_queue.as_ref(),
                    !missing_exchanges.is_empty(),
                ),
                queue,
                retry_queues,
                dead_letter_queue,
                missing_exchanges,
            })
        })
        .collect();
    Ok(VhostStatus {
        vhost: vhost.clone(),
        services,
    })
}

/// An object the management API lists by name.
#[derive(Debug, Deserialize)]
struct Named {
    name: String,
}

/// One consumer as the management API lists it: its tag and its queue.
#[derive(Debug, Deserialize)]
struct ConsumerNow {
    #[serde(default)]
    consumer_tag: String,
    queue: QueueRef,
}

#[derive(Debug, Deserialize)]
struct QueueRef {
    name: String,
}

/// A per-instance consumer's queues as one row under the model's name:
/// counts and rates summed, `consumers` the running instances. No instance
/// is a queue with no consumer (broadcasts reach nobody), never "missing".
fn instances<'q>(name: &str, queues: impl Iterator<Item = &'q Live>) -> QueueNow {
    let mut row = QueueNow {
        name: name.to_string(),
        exists: true,
        ..QueueNow::default()
    };
    for q in queues.map(|q| q.now(name)) {
        row.ready += q.ready;
        row.unacked += q.unacked;
        row.consumers += 1;
        row.publish_rate += q.publish_rate;
        row.deliver_rate += q.deliver_rate;
        row.depth_rate += q.depth_rate;
    }
    row
}

impl Live {
    /// This queue as `status` shows it, under `name`.
    fn now(&self, name: &str) -> QueueNow {
        QueueNow {
            name: name.to_string(),
            exists: true,
            ready: self.messages_ready,
            unacked: self.messages_unacknowledged,
            delayed: self.messages_delayed,
            consumers: self.consumers,
            publish_rate: self.message_stats.publish_details.rate,
            deliver_rate: self.message_stats.deliver_get_details.rate,
            depth_rate: self.messages_details.rate,
            leader: self.leader.clone(),
            members: self.members.clone(),
            online: self.online.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_online_list_counts_only_the_members_every_copy_names() {
        // As RabbitMQ 3.10 answered with two of three nodes stopped.
        let listed = r#"[{"leader":"a","members":["a","c","b"],"name":"q","online":["a"],"online":["a","c"],"messages_ready":3,"type":"quorum"},
                        {"name":"classic","consumers":2}]"#;
        let rows: Vec<Listed> = serde_json::from_str(listed).unwrap();
        let q = &rows[0].0;
        assert_eq!(q.online, ["a"]);
        assert_eq!((q.members.len(), q.messages_ready), (3, 3));
        assert_eq!(
            flags(&q.now("q"), &[], None, false),
            [Flag::NoConsumer, Flag::Minority]
        );
        assert!(rows[1].0.online.is_empty());
        assert_eq!(rows[1].0.consumers, 2);
        assert!(serde_json::from_str::<Vec<Listed>>(r#"[{"name": 5}]"#).is_err());
    }

    fn queue(depth: u64, consumers: u64, depth_rate: f64) -> QueueNow {
        QueueNow {
            name: "q".into(),
            exists: true,
            ready: depth,
            consumers,
            depth_rate,
            ..QueueNow::default()
        }
    }

    #[test]
    fn a_worked_queue_with_an_empty_dlq_needs_nothing() {
        assert!(flags(&queue(5, 1, 0.2), &[], Some(&queue(0, 0, 0.0)), false).is_empty());
    }

    #[test]
    fn each_flag_has_its_cause() {
        assert_eq!(
            flags(&queue(0, 0, 0.0), &[], None, false),
            [Flag::NoConsumer]
        );
        assert_eq!(
            flags(&queue(90, 2, 12.0), &[], None, false),
            [Flag::Growing]
        );
        // An empty queue whose rate is still settling is not growing, nor
        // one whose messages are all in flight.
        assert!(flags(&queue(0, 2, 3.0), &[], None, false).is_empty());
        let in_flight = QueueNow {
            ready: 0,
            unacked: 10,
            ..queue(0, 1, 4.0)
        };
        assert!(flags(&in_flight, &[], None, false).is_empty());
        assert_eq!(
            flags(&queue(0, 1, 0.0), &[], Some(&queue(3, 0, 0.0)), false),
            [Flag::DeadLetters]
        );
        // Two of three members down: no majority, no quorum.
        let members = |online: usize| QueueNow {
            members: vec!["a".into(), "b".into(), "c".into()],
            online: ["a", "b", "c"][..online]
                .iter()
                .map(|n| n.to_string())
                .collect(),
            ..queue(0, 1, 0.0)
        };
        assert!(flags(&members(2), &[], None, false).is_empty());
        assert_eq!(flags(&members(1), &[], None, false), [Flag::Minority]);
        let missing = QueueNow::default();
        assert_eq!(
            flags(&missing, &[], Some(&queue(3, 0, 0.0)), false),
            [Flag::Missing]
        );
        // A DLQ or delay queue deleted behind warren's back.
        assert_eq!(
            flags(&queue(0, 1, 0.0), &[], Some(&missing), false),
            [Flag::ChainBroken]
        );
        assert_eq!(
            flags(&queue(0, 1, 0.0), &[queue(0, 0, 0.0), missing], None, false),
            [Flag::ChainBroken]
        );
        // Its retry exchange deleted.
        assert_eq!(
            flags(
                &queue(0, 1, 0.0),
                &[queue(0, 0, 0.0)],
                Some(&queue(0, 0, 0.0)),
                true
            ),
            [Flag::ChainBroken]
        );
    }
}
