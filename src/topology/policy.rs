use serde::Serialize;

use super::{ApplyTo, Arguments, Origin};

/// A policy, with its definition keys as RabbitMQ names them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Policy {
    /// The map key in [`Topology`](super::Topology); not repeated in output.
    #[serde(skip)]
    pub name: String,
    /// The regular expression over object names it applies to.
    pub pattern: String,
    /// Which kinds of object it applies to.
    pub apply_to: ApplyTo,
    /// Where several policies match an object, the highest priority wins.
    pub priority: i64,
    /// The keys it sets (`max-length`, `dead-letter-exchange`, ...), in
    /// canonical form.
    pub definition: Arguments,
    /// Where in the spec it was declared.
    #[serde(skip)]
    pub origin: Origin,
}

/// The names of the policies warren generates for objects whose settings
/// go through policies (`settings: policy`); a spec's own policy may not
/// take such a name.
pub const SETTINGS_POLICY_PREFIX: &str = "warren.settings.";

impl Policy {
    /// Whether warren generated it to carry objects' settings.
    pub fn is_settings_policy(&self) -> bool {
        self.name.starts_with(SETTINGS_POLICY_PREFIX)
    }
}
