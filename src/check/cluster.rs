//! W706: replicas the cluster cannot hold; W709: files the nodes cannot
//! keep open.
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
use crate::vocabulary::Setting;

/// Files a quorum queue keeps open on a 3.x node (measured: 1,000 quorum
/// queues counted 3,001 handles), and room for everything else.
const FILES_PER_QUORUM_QUEUE: u64 = 3;
const FILES_BESIDES: u64 = 500;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    open_files(cx, out);
    replicas(cx, out);
}

fn open_files(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(limit) = cx.topology.open_files else {
        return;
    };
    let quorum: Vec<&crate::topology::Queue> = cx
        .topology
        .queues
        .values()
        .filter(|q| q.queue_type == QueueType::Quorum)
        .collect();
    let needed = quorum.len() as u64 * FILES_PER_QUORUM_QUEUE + FILES_BESIDES;
    if quorum.is_empty() || limit >= needed {
        return;
    }
    out.push(
        Diagnostic::new(
            &codes::OPEN_FILES_LOW,
            format!(
                "the broker's nodes may keep {limit} files open, and {} quorum queues take about {} of them: past the limit every classic queue waits for a file handle, and apply and the workers stall",
                quorum.len(),
                quorum.len() as u64 * FILES_PER_QUORUM_QUEUE
            ),
        )
        .label(quorum[0].origin.span, "a quorum queue")
        .help(format!(
            "raise the nodes' open-files limit to {needed} or more (ulimit -n, or LimitNOFILE for systemd), as RabbitMQ's production checklist asks"
        )),
    );
}

fn replicas(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(nodes) = cx.topology.cluster_nodes else {
        return;
    };
    for q in cx.topology.queues.values() {
        let argument = match q.queue_type {
            QueueType::Quorum => Setting::INITIAL_GROUP_SIZE.arg(),
            QueueType::Stream => Setting::INITIAL_CLUSTER_SIZE.arg(),
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

#[cfg(test)]
mod tests {
    use crate::diagnostic::codes;
    use crate::spec::load_str;
    use crate::validate::validate_loaded;

    fn warned(open_files: Option<u64>, queues: usize) -> bool {
        let mut spec = String::from("version: 1\nvhost: v\nqueues:\n");
        for i in 0..queues {
            spec.push_str(&format!("  q{i}: {{ type: quorum, external: true }}\n"));
        }
        let mut topology = validate_loaded(load_str("s.yaml", &spec))
            .topologies
            .remove(0);
        topology.open_files = open_files;
        crate::check::check_for(&topology, crate::vocabulary::Targets::default())
            .iter()
            .any(|d| d.code.id == codes::OPEN_FILES_LOW.id)
    }

    #[test]
    fn a_3x_node_with_too_few_files_for_its_quorum_queues_is_flagged() {
        // 1,024 files, the limit the packaged wrapper left: 200 quorum
        // queues fit, 300 do not.
        assert!(!warned(Some(1024), 150));
        assert!(warned(Some(1024), 300));
        assert!(!warned(Some(20_000), 300));
        // 4.x (or no broker): not known, nothing said.
        assert!(!warned(None, 3000));
    }
}
