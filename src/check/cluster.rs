//! W706: replicas the cluster cannot hold.
//!
//! A quorum queue declared with `x-quorum-initial-group-size` (a stream
//! with `x-initial-cluster-size`) larger than the cluster gets one member
//! per node instead: it tolerates fewer lost nodes than its spec says.
//! The cluster's size comes from the live broker (`plan`, `validate
//! --http-url`), else from the spec's `broker: { nodes }`; unknown, there
//! is nothing to compare.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::QueueType;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(nodes) = cx.topology.cluster_nodes else {
        return;
    };
    for q in cx.topology.queues.values() {
        let argument = match q.queue_type {
            QueueType::Quorum => "x-quorum-initial-group-size",
            QueueType::Stream => "x-initial-cluster-size",
            QueueType::Classic => continue,
        };
        let Some(size) = q
            .arguments
            .get(argument)
            .and_then(serde_json::Value::as_u64)
        else {
            continue;
        };
        if size <= u64::from(nodes) {
            continue;
        }
        out.push(
            Diagnostic::new(
                &codes::GROUP_LARGER_THAN_CLUSTER,
                format!(
                    "{} queue {:?} asks for {size} replicas, but the cluster has {nodes} node{}: it gets {nodes}",
                    q.queue_type,
                    q.name,
                    if nodes == 1 { "" } else { "s" }
                ),
            )
            .label(q.origin.attr(argument), "replicas asked for")
            .help(format!(
                "ask for at most {nodes} (an odd number: 3 members survive one lost node, 5 two), or add nodes first"
            )),
        );
    }
}
