//! Graph checks on a compiled [`Topology`].
//!
//! One file per check; each pushes [`Diagnostic`]s with a stable code from
//! `diagnostic::codes`. Checks read the model only (no I/O, no YAML) and find
//! the YAML through each object's `Origin`. docs/checks.md documents them.

mod app_declarations;
mod cluster;
mod cycles;
mod dead_letter_cycle;
mod dead_letter_strategy;
mod delivery_limit;
mod headers_binding;
mod names;
mod plugins;
mod policies;
mod queue_types;
mod reachability;
mod references;
mod service_loop;
pub(crate) mod settings_policies;
mod silent_loss;
mod topic_keys;
mod unroutable_emit;
mod versions;

use crate::diagnostic::Diagnostic;
use crate::routing::Router;
use crate::topology::Topology;
use crate::vocabulary::Targets;

/// What every check gets: the topology, a router built once and the
/// RabbitMQ versions it is checked for.
pub struct Context<'t> {
    /// The topology being checked.
    pub topology: &'t Topology,
    /// The RabbitMQ releases it is checked for.
    pub targets: Targets,
    /// Routes messages through `topology`, built once for every check.
    pub router: Router<'t>,
    /// Which of `topology`'s policies apply to each queue, highest priority
    /// first.
    pub policies: policies::PolicyIndex<'t>,
}

/// Runs every check, for the versions the spec states (all when it states
/// none).
pub fn check(topology: &Topology) -> Vec<Diagnostic> {
    check_for(topology, topology.targets())
}

/// Runs every check for `targets`: the live broker's version, when known.
pub fn check_for(topology: &Topology, targets: Targets) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let cx = Context {
        topology,
        targets,
        router: Router::new(topology),
        policies: policies::PolicyIndex::new(topology, &mut out),
    };
    let checks: &[fn(&Context, &mut Vec<Diagnostic>)] = &[
        references::check,
        app_declarations::check,
        names::check,
        queue_types::check,
        headers_binding::check,
        topic_keys::check,
        unroutable_emit::check,
        reachability::check,
        service_loop::check,
        dead_letter_cycle::check,
        silent_loss::check,
        dead_letter_strategy::check,
        delivery_limit::check,
        policies::check,
        settings_policies::check,
        versions::check,
        plugins::check,
        cluster::check,
    ];
    for check in checks {
        check(&cx, &mut out);
    }
    out
}

/// "a", "b" and 3 more
fn list(names: &[&str]) -> String {
    const SHOWN: usize = 3;
    let quoted: Vec<String> = names.iter().take(SHOWN).map(|n| format!("{n:?}")).collect();
    match names.len() {
        n if n > SHOWN => format!("{} and {} more", quoted.join(", "), n - SHOWN),
        _ => quoted.join(", "),
    }
}
