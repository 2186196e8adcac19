//! `apply`: make the broker match a plan, safely.
//!
//! The order of events is fixed, so that nothing is touched until every
//! check has passed:
//!
//! 1. [`passwords`]: every user the plan declares has its password in the
//!    environment;
//! 2. [`at_stake`]: no queue the plan replaces or deletes holds messages
//!    or has consumers, unless the caller allows the loss;
//! 3. the caller confirms, takes the vhost's [`lock`], and plans again
//!    under the lock (the broker may have moved);
//! 4. [`execute`] runs the changes layer by layer (`plan::layers`), the
//!    changes of one layer concurrently, and stops at the first refusal;
//! 5. [`verify`] plans once more: what is left did not converge.
//!
//! Changes go over the management API one object at a time, never as a
//! definitions import, which silently skips objects that conflict with
//! existing ones.

pub mod lock;
mod step;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::broker::{BrokerError, Http, Password};
use crate::plan::{Action, Change, Object, ObjectKind, Options as PlanOptions, Plan};
use crate::topology::Topology;

pub use lock::{LOCK_QUEUE, Lock, LockError, acquire};
pub use step::{exchange_body, queue_body};

/// The password of each user the plan declares, read from the environment.
pub type Passwords = BTreeMap<String, Password>;

/// How many changes run at once when no one says: measured against the
/// local broker (bench/apply.sh), more than this gains nothing on two cores.
pub const DEFAULT_PARALLELISM: u16 = 8;

/// A queue the plan would delete or replace, with what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtStake {
    pub queue: String,
    pub action: Action,
    pub messages: u64,
    pub consumers: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{}", missing_text(.0))]
    MissingPasswords(Vec<(String, String)>),
    #[error("{}", at_stake_text(.0))]
    DataAtStake(Vec<AtStake>),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(
        "the broker changed after the plan was shown (another client declared or deleted something): nothing was applied; run apply again to see the new plan"
    )]
    Moved,
    #[error(
        "{source}\n{done} of {total} changes were applied before this one; running apply again continues from where the broker now stands"
    )]
    Step {
        done: usize,
        total: usize,
        #[source]
        source: BrokerError,
    },
    #[error("the broker does not match the spec after applying; still to do: {}", .0.join("; "))]
    NotConverged(Vec<String>),
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

fn missing_text(missing: &[(String, String)]) -> String {
    let list: Vec<String> = missing
        .iter()
        .map(|(user, var)| format!("user {user:?} reads ${var}"))
        .collect();
    format!(
        "the passwords of some users are not in the environment: {}; set the variables and run apply again (nothing was touched)",
        list.join(", ")
    )
}

fn at_stake_text(queues: &[AtStake]) -> String {
    let list: Vec<String> = queues
        .iter()
        .map(|q| {
            format!(
                "{} queue {:?}: {} message(s), {} consumer(s)",
                if q.action == Action::Delete {
                    "delete"
                } else {
                    "replace"
                },
                q.queue,
                q.messages,
                q.consumers
            )
        })
        .collect();
    format!(
        "the plan deletes queues that are in use: {}; nothing was touched. Drain them first, or pass --allow-data-loss to drop what they hold",
        list.join("; ")
    )
}

/// The passwords of the users the plan creates or updates, from the
/// variables their `password_env` names (`env` reads one).
///
/// # Errors
/// Some variables are unset or empty; all of them are named.
pub fn passwords(
    plan: &Plan,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Passwords, ApplyError> {
    let mut found = Passwords::new();
    let mut missing = Vec::new();
    for c in &plan.changes {
        let (ObjectKind::User, Action::Create | Action::Update, Some(Object::User(u))) =
            (c.kind, c.action, &c.desired)
        else {
            continue;
        };
        let var = u
            .password_env
            .clone()
            .unwrap_or_else(|| crate::topology::default_password_env(&u.name));
        match env(&var).filter(|p| !p.is_empty()) {
            Some(p) => {
                found.insert(u.name.clone(), Password::new(p));
            }
            None => missing.push((u.name.clone(), var)),
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(ApplyError::MissingPasswords(missing))
    }
}

/// The queues the plan deletes or replaces that hold messages or have
/// consumers. The management API's counts lag by its statistics interval
/// (seconds), so each queue is also asked directly, over AMQP (a passive
/// declare answers with its counts now); the larger count wins.
///
/// # Errors
/// The broker cannot be asked.
pub async fn at_stake(
    settings: &crate::broker::Settings,
    http: &Http,
    plan: &Plan,
) -> Result<Vec<AtStake>, BrokerError> {
    let touched: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.kind == ObjectKind::Queue)
        .filter(|c| matches!(c.action, Action::Replace | Action::Delete))
        .collect();
    if touched.is_empty() {
        return Ok(Vec::new());
    }
    let counts = crate::broker::queue_usage(http, &plan.vhost).await?;
    let now = crate::broker::queue_counts(
        settings,
        &plan.vhost,
        touched.iter().map(|c| c.name.as_str()),
    )
    .await?;
    Ok(touched
        .into_iter()
        .filter_map(|c| {
            let (m1, c1) = counts.get(&c.name).copied().unwrap_or_default();
            let (m2, c2) = now.get(&c.name).copied().unwrap_or_default();
            let (messages, consumers) = (m1.max(m2), c1.max(c2));
            (messages > 0 || consumers > 0).then(|| AtStake {
                queue: c.name.clone(),
                action: c.action,
                messages,
                consumers,
            })
        })
        .collect())
}

/// What [`execute`] reports as it goes.
#[derive(Debug)]
pub enum Event<'c> {
    Done {
        change: &'c Change,
        done: usize,
        total: usize,
    },
}

/// Runs the plan's changes, layer by layer, at most `parallelism` at once.
/// A refused change stops the apply after the changes already running
/// finish; nothing of a later layer starts.
///
/// # Errors
/// The first refusal, with how many changes were done before it.
pub async fn execute(
    http: Arc<Http>,
    plan: &Plan,
    passwords: Arc<Passwords>,
    parallelism: usize,
    mut on_event: impl FnMut(Event<'_>),
) -> Result<usize, ApplyError> {
    let total = plan.changes.len();
    let mut done = 0;
    for layer in crate::plan::layers(&plan.changes) {
        let mut running = tokio::task::JoinSet::new();
        let mut queue = layer.into_iter();
        let mut failed: Option<BrokerError> = None;
        loop {
            while failed.is_none() && running.len() < parallelism.max(1) {
                let Some(i) = queue.next() else { break };
                let (http, passwords) = (http.clone(), passwords.clone());
                let change = plan.changes[i].clone();
                let vhost = plan.vhost.clone();
                running
                    .spawn(async move { (i, step::run(&http, &vhost, &change, &passwords).await) });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            match joined {
                Ok((i, Ok(()))) => {
                    done += 1;
                    on_event(Event::Done {
                        change: &plan.changes[i],
                        done,
                        total,
                    });
                }
                Ok((_, Err(e))) => {
                    failed.get_or_insert(e);
                }
                Err(e) => {
                    failed.get_or_insert(BrokerError::Http {
                        doing: "run a change".into(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        if let Some(source) = failed {
            return Err(ApplyError::Step {
                done,
                total,
                source,
            });
        }
    }
    Ok(done)
}

/// Plans again until nothing is left, for a short while: on RabbitMQ 4.x a
/// change becomes visible on every node shortly after it is made.
///
/// # Errors
/// Something is still to do after the last try (named), or the broker
/// cannot be read.
pub async fn verify(
    http: &Http,
    desired: &Topology,
    options: &PlanOptions,
) -> Result<(), ApplyError> {
    let mut left = Vec::new();
    for attempt in 0..5u32 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
        }
        let plan = crate::broker::plan(http, desired, options).await?;
        if plan.is_empty() {
            return Ok(());
        }
        left = plan
            .changes
            .iter()
            .map(|c| format!("{:?} {} {}", c.action, c.kind.as_str(), c.name).to_lowercase())
            .collect();
    }
    Err(ApplyError::NotConverged(left))
}
