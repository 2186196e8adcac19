//! The apply sequence in two calls, so that a caller can show the plan and
//! ask in between: [`prepare`] reads the broker and decides everything
//! that can refuse; [`Prepared::apply`] changes the broker.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use warren::apply::{self, Options};
//! use warren::broker::{Settings, SettingsInput, http_client};
//!
//! let checked = warren::validate::validate(&["topology.yaml".into()])?;
//! assert!(!checked.has_errors());
//! let settings = Settings::resolve(&SettingsInput::default(), |v| std::env::var(v).ok())?;
//! let http = Arc::new(http_client(&settings)?);
//! for desired in &checked.topologies {
//!     let prepared =
//!         apply::prepare(&settings, &http, desired, &Default::default(), Options::default())
//!             .await?;
//!     print!("{}", warren::plan::to_text(prepared.plan(), "", false));
//!     if let Some(refused) = prepared.refusal() {
//!         return Err(refused.into());
//!     }
//!     let applied = prepared.apply(|_| {}).await?;
//!     println!("{} changes applied", applied.changes);
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{
    ApplyError, AtStake, DEFAULT_PARALLELISM, Event, Passwords, acquire, at_stake, can_change,
    execute, finish, in_context, keep_holding_queues, passwords, unfinished, verify,
};
use crate::broker::{Http, Settings, VhostState};
use crate::plan::{Action, ObjectKind, Options as PlanOptions, Plan, Saved};
use crate::topology::{Binding, Topology};

/// How far apply may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Replace or delete queues that hold messages or have consumers,
    /// dropping what they hold.
    pub allow_data_loss: bool,
    /// Move a replaced queue's messages into its replacement (a deleted
    /// queue's still need `allow_data_loss`).
    pub migrate: bool,
    /// How many independent changes run at once (at least 1).
    pub parallelism: u16,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            allow_data_loss: false,
            migrate: false,
            parallelism: DEFAULT_PARALLELISM,
        }
    }
}

/// A plan made against the live broker, with everything that decides
/// whether it may be applied.
pub struct Prepared {
    settings: Settings,
    http: Arc<Http>,
    desired: Topology,
    plan_options: PlanOptions,
    options: Options,
    plan: Plan,
    unfinished: BTreeMap<String, Vec<Binding>>,
    passwords: Result<Passwords, Vec<(String, String)>>,
    at_stake: Vec<AtStake>,
}

/// What [`Prepared::apply`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The plan's changes carried out.
    pub changes: usize,
    /// Interrupted migrations finished.
    pub migrations_finished: usize,
    /// Messages those migrations gave back to their queues.
    pub moved_back: u64,
}

/// Plans `desired` against its vhost and works out, without changing
/// anything, whether the plan may be applied: the users' passwords, the
/// messages at stake, the migrations an earlier apply left unfinished.
///
/// # Errors
/// The broker cannot be read.
pub async fn prepare(
    settings: &Settings,
    http: &Arc<Http>,
    desired: &Topology,
    plan_options: &PlanOptions,
    options: Options,
) -> Result<Prepared, ApplyError> {
    prepare_with(settings, http, desired, None, plan_options, options).await
}

/// [`prepare`] from the vhost's state read earlier, as the command line
/// does while it checks the spec.
///
/// # Errors
/// As [`prepare`].
#[doc(hidden)]
pub async fn prepare_with(
    settings: &Settings,
    http: &Arc<Http>,
    desired: &Topology,
    state: Option<VhostState>,
    plan_options: &PlanOptions,
    options: Options,
) -> Result<Prepared, ApplyError> {
    let plan = crate::broker::plan_with(http, desired, state, plan_options).await?;
    from_plan(
        settings,
        http,
        desired.clone(),
        *plan_options,
        plan,
        options,
    )
    .await
}

/// Prepares a plan saved by `plan --out`: only when planning again now
/// gives exactly the reviewed changes, made against the same broker state.
///
/// # Errors
/// [`ApplyError::Stale`] when the broker changed since the plan was made,
/// [`ApplyError::MissingPasswords`] when a password the plan sets is not
/// in the environment, [`ApplyError::Unreviewed`] when the changes differ;
/// or the broker cannot be read.
pub async fn prepare_saved(
    settings: &Settings,
    http: &Arc<Http>,
    saved: Saved,
    options: Options,
) -> Result<Prepared, ApplyError> {
    let plan = crate::broker::plan(http, &saved.desired, &saved.options).await?;
    let vhost = crate::printable::for_people(&saved.desired.vhost);
    if plan.fingerprint != saved.fingerprint {
        return Err(ApplyError::Stale { vhost });
    }
    let unset = saved.unset_passwords(&plan, |v| std::env::var(v).ok());
    if !unset.is_empty() {
        return Err(ApplyError::MissingPasswords(unset));
    }
    let (unreviewed, gone) = saved.differences(&plan);
    if !unreviewed.is_empty() || !gone.is_empty() {
        return Err(ApplyError::Unreviewed {
            vhost,
            unreviewed,
            gone,
        });
    }
    from_plan(settings, http, saved.desired, saved.options, plan, options).await
}

async fn from_plan(
    settings: &Settings,
    http: &Arc<Http>,
    desired: Topology,
    plan_options: PlanOptions,
    mut plan: Plan,
    options: Options,
) -> Result<Prepared, ApplyError> {
    let unfinished = unfinished(http, &desired, &mut plan, options.migrate).await?;
    let passwords = passwords(&plan, |v| std::env::var(v).ok());
    let mut at_stake = at_stake(settings, http, &plan).await?;
    if options.migrate {
        // Replaced queues keep their messages; deleted ones still lose them.
        at_stake.retain(|q| q.action == Action::Delete);
    }
    Ok(Prepared {
        settings: settings.clone(),
        http: Arc::clone(http),
        desired,
        plan_options,
        options,
        plan,
        unfinished,
        passwords,
        at_stake,
    })
}

impl Prepared {
    /// The plan, as [`crate::plan::to_text`] and [`crate::plan::to_json`]
    /// show it.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The vhost the plan changes.
    pub fn vhost(&self) -> &str {
        &self.desired.vhost
    }

    /// The queues whose migration an earlier apply left unfinished; apply
    /// gives each one back its bindings and messages.
    pub fn unfinished(&self) -> impl Iterator<Item = &str> {
        self.unfinished.keys().map(String::as_str)
    }

    /// The queues the plan replaces or deletes that hold messages or have
    /// consumers (with `migrate`, the deleted ones only).
    pub fn at_stake(&self) -> &[AtStake] {
        &self.at_stake
    }

    /// How many steps applying takes: the plan's changes and the
    /// unfinished migrations.
    pub fn steps(&self) -> usize {
        self.plan.changes.len() + self.unfinished.len()
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.steps() == 0
    }

    /// Why [`Prepared::apply`] would refuse before touching the broker: a
    /// password missing from the environment, or messages at stake without
    /// `allow_data_loss`.
    pub fn refusal(&self) -> Option<ApplyError> {
        if let Err(missing) = &self.passwords {
            return Some(ApplyError::MissingPasswords(missing.clone()));
        }
        let lost: Vec<String> =
            crate::plan::live_conflicts(&self.desired, &self.plan.effective_policies)
                .into_iter()
                .filter(|d| d.code.id == crate::diagnostic::codes::SETTINGS_NOT_APPLIED.id)
                .map(|d| d.message)
                .collect();
        if !lost.is_empty() {
            return Some(ApplyError::SettingsNotApplied(lost));
        }
        (!self.at_stake.is_empty() && !self.options.allow_data_loss)
            .then(|| ApplyError::DataAtStake(self.at_stake.clone()))
    }

    /// Applies the plan: takes the vhost's lock (creating the vhost first
    /// when the plan does), plans again under it and refuses when the
    /// broker moved, runs the changes, finishes interrupted migrations,
    /// verifies that the broker matches and releases the lock. `on_event`
    /// hears of each change done.
    ///
    /// # Errors
    /// [`Prepared::refusal`], before anything is touched; the cluster has no
    /// majority, the lock is held, the broker moved since the plan
    /// ([`ApplyError::Moved`]); a step the broker refused, saying how many
    /// were done; the broker does not match after applying.
    pub async fn apply(self, mut on_event: impl FnMut(Event<'_>)) -> Result<Applied, ApplyError> {
        if let Some(refused) = self.refusal() {
            return Err(refused);
        }
        if self.is_empty() {
            return Ok(Applied {
                changes: 0,
                migrations_finished: 0,
                moved_back: 0,
            });
        }
        let Prepared {
            settings,
            http,
            desired,
            plan_options,
            options,
            mut plan,
            unfinished,
            passwords,
            ..
        } = self;
        let passwords = Arc::new(passwords.unwrap_or_default());
        can_change(&http).await?;
        // The lock lives in the vhost, so a new vhost comes first.
        if plan
            .changes
            .first()
            .is_some_and(|c| c.kind == ObjectKind::Vhost && c.action == Action::Create)
        {
            let create_vhost = Plan {
                changes: vec![plan.changes.remove(0)],
                ..plan.clone()
            };
            execute(
                Arc::clone(&http),
                None,
                &create_vhost,
                passwords.clone(),
                1,
                false,
                |_| {},
            )
            .await?;
        }
        let lock = acquire(&settings, &http, &plan.vhost).await?;
        let result = async {
            let mut current = crate::broker::plan(&http, &desired, &plan_options).await?;
            keep_holding_queues(&mut current, &desired);
            if current.fingerprint != plan.fingerprint {
                return Err(ApplyError::Moved);
            }
            let workers = usize::from(options.parallelism.max(1));
            let amqp = super::Amqp::open(&settings, &plan.vhost, workers).await?;
            let done = execute(
                Arc::clone(&http),
                Some(&amqp),
                &current,
                passwords,
                workers,
                options.migrate,
                &mut on_event,
            )
            .await;
            let finished = match &done {
                Ok(n) => finish(&amqp, &unfinished)
                    .await
                    .map_err(|source| ApplyError::Step {
                        done: *n,
                        total: current.changes.len(),
                        source,
                    }),
                Err(_) => Ok(0),
            };
            amqp.close().await;
            let changes = done?;
            let moved_back = finished?;
            verify(&http, &desired, &plan_options).await?;
            Ok(Applied {
                changes,
                migrations_finished: unfinished.len(),
                moved_back,
            })
        }
        .await;
        lock.release().await;
        match result {
            Err(e) => Err(in_context(&http, &plan.vhost, e).await),
            ok => ok,
        }
    }
}
