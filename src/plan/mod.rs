//! What would change on the broker: `diff` of a desired and a live
//! [`Topology`](crate::topology::Topology) into a [`Plan`] of typed
//! [`Change`]s, and its text and JSON renderings. Pure: `broker::observe`
//! produces the live side, `cli/plan.rs` prints.

mod change;
mod diff;
mod effective_policy;
mod json;
mod operation;
mod order;
mod password;
mod saved;
mod text;

pub use change::{Action, Attr, Change, Key, Object, ObjectKind};
pub use diff::{Options, diff};
pub use effective_policy::{EffectivePolicy, effective_policies, live_conflicts, live_only};
pub use json::to_json;
pub use operation::{Operation, Unfit};
pub use order::layers;
pub use password::{matches as password_matches, stale as stale_passwords};
pub use saved::{SAVED_FORMAT, Saved, SavedPlanError, from_saved, is_saved, to_saved};
pub use text::to_text;

use serde::Serialize;

/// The changes that make the broker match the spec, in the order they run
/// (see `order.rs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Plan {
    /// The vhost the plan is for.
    pub vhost: String,
    /// Every change, in the order they run.
    pub changes: Vec<Change>,
    /// Objects on the broker that the spec does not name and that are kept
    /// because `--prune` was not given.
    pub unmanaged: Vec<(ObjectKind, String)>,
    /// Which policies apply to each queue the spec manages once the plan is
    /// applied.
    pub effective_policies: Vec<EffectivePolicy>,
    /// What the plan leaves as it is on purpose and the reader should know
    /// (a queue that keeps its live type against a default).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Fingerprint of the live state the plan was computed from.
    pub fingerprint: String,
}

/// How many changes of each action a plan has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Objects to create.
    pub create: usize,
    /// Objects to change in place.
    pub update: usize,
    /// Objects to delete and declare again.
    pub replace: usize,
    /// Objects to delete.
    pub delete: usize,
}

impl Plan {
    /// Counts the plan's changes by action.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }

    /// Whether the broker already matches the spec: no change to make.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}
