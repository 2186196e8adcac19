//! Whether the cluster can change its metadata now. RabbitMQ 4.x with the
//! `khepri_db` feature flag enabled (the default from 4.2, and on every
//! new 4.3 cluster) keeps exchanges, queues, bindings, users and
//! permissions in Khepri, a Raft store: with no majority of the cluster's
//! nodes running, every declare or delete waits and then fails, while
//! reads still answer. Measured on a 4.3.6 cluster of three with two
//! stopped: `plan` works, and the first declare times out. Mnesia (3.x,
//! and 4.0 by default) has no such rule.

use serde::Deserialize;

use super::{BrokerError, Http};

/// A cluster that cannot change its metadata: the nodes running and
/// those that are not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoMajority {
    /// The nodes running now.
    pub running: Vec<String>,
    /// The cluster's nodes that are not running.
    pub stopped: Vec<String>,
}

impl std::fmt::Display for NoMajority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.running.len() + self.stopped.len();
        write!(
            f,
            "only {} of the cluster's {total} nodes run{} (stopped: {}); its metadata store (Khepri) needs {} to declare or delete anything",
            self.running.len(),
            if self.running.len() == 1 { "s" } else { "" },
            self.stopped.join(", "),
            total / 2 + 1
        )
    }
}

#[derive(Deserialize)]
struct Node {
    name: String,
    #[serde(default)]
    running: bool,
}

#[derive(Deserialize)]
struct FeatureFlag {
    name: String,
    #[serde(default)]
    state: String,
}

/// `Some` when the broker keeps its metadata in Khepri and fewer than a
/// majority of its nodes run: a change would stop at its first declare.
///
/// # Errors
/// The management API cannot be read.
pub async fn no_majority(http: &Http) -> Result<Option<NoMajority>, BrokerError> {
    let nodes: Vec<Node> = http
        .get_json("nodes?columns=name,running", "list the cluster's nodes")
        .await?;
    let (running, stopped): (Vec<Node>, Vec<Node>) = nodes.into_iter().partition(|n| n.running);
    if running.len() > stopped.len() {
        return Ok(None);
    }
    let flags: Vec<FeatureFlag> = http
        .get_json("feature-flags", "list the broker's feature flags")
        .await?;
    let khepri = flags
        .iter()
        .any(|f| f.name == "khepri_db" && f.state == "enabled");
    Ok(khepri.then(|| NoMajority {
        running: running.into_iter().map(|n| n.name).collect(),
        stopped: stopped.into_iter().map(|n| n.name).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_stopped_nodes_and_the_majority() {
        let n = NoMajority {
            running: vec!["rabbit@a".into()],
            stopped: vec!["rabbit@b".into(), "rabbit@c".into()],
        };
        assert_eq!(
            n.to_string(),
            "only 1 of the cluster's 3 nodes runs (stopped: rabbit@b, rabbit@c); its metadata store (Khepri) needs 2 to declare or delete anything"
        );
    }
}
