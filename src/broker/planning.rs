//! Planning against a live vhost: observe it, diff the spec against it,
//! work out the policy each queue really gets, and count the messages at
//! stake. `warren plan` prints the result; `apply` will execute it.

use super::{
    BrokerError, Http, Observed, VhostState, fingerprint, observe, observe_with, queue_usage,
};
use crate::plan::{
    Action, EffectivePolicy, ObjectKind, Options, Plan, diff, effective_policies, live_only,
    stale_passwords,
};
use crate::topology::Topology;
use crate::vocabulary::Version;

/// The plan that makes `desired.vhost` match `desired`. Message counts are
/// read (one more request) only when a queue would be replaced or deleted.
///
/// # Errors
/// The management API is unreachable, refuses, times out or answers what
/// it never sends; the error keeps the request and the broker's status and
/// reason.
pub async fn plan(http: &Http, desired: &Topology, options: &Options) -> Result<Plan, BrokerError> {
    let users: Vec<String> = desired.users.keys().cloned().collect();
    let observed = observe(http, &desired.vhost, &users).await?;
    finish(http, desired, observed, options).await
}

/// [`plan`] from the vhost's state read earlier (`read_vhost`, started
/// before the spec was checked); a state of another vhost is read again.
///
/// # Errors
/// As [`plan`].
pub async fn plan_with(
    http: &Http,
    desired: &Topology,
    state: Option<VhostState>,
    options: &Options,
) -> Result<Plan, BrokerError> {
    match state.filter(|s| s.vhost() == desired.vhost) {
        Some(state) => {
            let users: Vec<String> = desired.users.keys().cloned().collect();
            let observed = observe_with(http, state, &users).await?;
            finish(http, desired, observed, options).await
        }
        None => plan(http, desired, options).await,
    }
}

async fn finish(
    http: &Http,
    desired: &Topology,
    observed: Observed,
    options: &Options,
) -> Result<Plan, BrokerError> {
    let options = Options {
        vhost_missing: !observed.vhost_exists,
        ..*options
    };
    let mut plan = diff(desired, &observed.topology, &options);
    // The variables are read where the plan is made, as apply reads them.
    stale_passwords(
        &mut plan,
        desired,
        &observed.topology,
        &observed.password_hashes,
        |var| std::env::var(var).ok(),
    );
    plan.fingerprint = fingerprint(&observed.topology);
    let kept = if options.prune {
        Vec::new()
    } else {
        live_only(desired, &observed.topology)
    };
    plan.effective_policies = effective_policies(desired, &kept, &observed.operator_policies);
    let at_stake = |kind: ObjectKind, action: Action| {
        kind == ObjectKind::Queue && matches!(action, Action::Replace | Action::Delete)
    };
    if plan.changes.iter().any(|c| at_stake(c.kind, c.action)) {
        let counts = queue_usage(http, &desired.vhost).await?;
        for c in &mut plan.changes {
            if at_stake(c.kind, c.action) {
                c.messages = counts.get(&c.name).map(|(messages, _)| *messages);
            }
        }
    }
    Ok(plan)
}

/// What the checks need to know of the live broker, from one
/// `GET /api/overview`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Live {
    /// The release line; none when the answer names no version this warren
    /// can read (a proxy, a fork).
    pub version: Option<Version>,
    /// The cluster's nodes: those with listeners (every running node has
    /// its AMQP listener).
    pub nodes: Option<u32>,
    /// The fewest files a running node may keep open (`fd_total`), read on
    /// 3.x only: 4.0 dropped the file-handle accounting and reports it
    /// otherwise.
    pub open_files: Option<u64>,
}

/// The broker's release line and node count.
///
/// # Errors
/// As [`plan`].
pub async fn live(http: &Http) -> Result<Live, BrokerError> {
    let overview: serde_json::Value = http
        .get_json("overview", "read the broker overview")
        .await?;
    let nodes: std::collections::BTreeSet<&str> = overview
        .get("listeners")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| l.get("node").and_then(serde_json::Value::as_str))
        .collect();
    let version = overview
        .get("rabbitmq_version")
        .and_then(serde_json::Value::as_str)
        .and_then(Version::parse);
    let counts_files = version.is_some_and(|v| v < Version::new(4, 0));
    let open_files = if counts_files {
        // Advice only: a node list that cannot be read leaves it unknown.
        http.get_json::<Vec<serde_json::Value>>("nodes", "read the nodes")
            .await
            .ok()
            .and_then(|nodes| {
                nodes
                    .iter()
                    .filter(|n| n.get("running").and_then(serde_json::Value::as_bool) == Some(true))
                    .filter_map(|n| n.get("fd_total").and_then(serde_json::Value::as_u64))
                    .min()
            })
    } else {
        None
    };
    Ok(Live {
        version,
        nodes: u32::try_from(nodes.len()).ok().filter(|n| *n > 0),
        open_files,
    })
}

/// The policy the broker applies to each queue of `desired` in `vhost`,
/// counting the policies already there (`validate --http-url`).
///
/// # Errors
/// As [`plan`].
pub async fn live_policies(
    http: &Http,
    desired: &Topology,
    vhost: &str,
) -> Result<Vec<EffectivePolicy>, BrokerError> {
    let observed = observe(http, vhost, &[]).await?;
    Ok(effective_policies(
        desired,
        &live_only(desired, &observed.topology),
        &observed.operator_policies,
    ))
}
