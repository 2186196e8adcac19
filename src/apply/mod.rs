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

mod amqp_step;
pub mod lock;
pub mod migrate;
mod prepared;
mod step;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::broker::{BrokerError, Http, Password};
use crate::plan::{Action, Change, Object, ObjectKind, Options as PlanOptions, Plan};
use crate::topology::Topology;

pub use lock::{LOCK_QUEUE, Lock, LockError, acquire};
pub use prepared::{Applied, Options, Prepared, prepare, prepare_saved, prepare_with};

/// The password of each user the plan declares, read from the environment.
pub type Passwords = BTreeMap<String, Password>;

/// How many changes run at once when no one says. Measured on 2,000
/// queues and bindings (bench/apply-parallelism.sh): 16 took 0.35x the
/// time of 1 and 0.70x that of 8; 32 gained 4% more, within the noise.
pub const DEFAULT_PARALLELISM: u16 = 16;

/// A queue the plan would delete or replace, with what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtStake {
    /// The queue's name in the plan's vhost.
    pub queue: String,
    /// What the plan does to it: delete, or replace (delete and declare again).
    pub action: Action,
    /// Messages it holds: the larger of the management API's count and the
    /// one a passive declare answers with.
    pub messages: u64,
    /// Consumers attached to it, the larger of the same two counts.
    pub consumers: u64,
}

/// Why an apply refused to start, stopped part way, or did not converge.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Users the plan declares whose password variable is not set, as (user,
    /// variable) pairs.
    #[error("{}", missing_text(.0))]
    MissingPasswords(Vec<(String, String)>),
    /// Queues the plan deletes or replaces hold messages or have consumers, and
    /// data loss was not allowed.
    #[error("{}", at_stake_text(.0))]
    DataAtStake(Vec<AtStake>),
    /// On the broker, a policy the spec does not name outranks the policy
    /// that carries objects' settings (`settings: policy`): applied, they
    /// would not get them. One line per object (E507's text).
    #[error("{}: nothing was applied; lower or narrow that policy, or give the objects `settings: arguments`", .0.join("; "))]
    SettingsNotApplied(Vec<String>),
    /// The vhost's apply lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The cluster has no majority of its nodes running, so its metadata store
    /// refuses every declare and delete.
    #[error(
        "{0}: nothing was applied; start the stopped nodes (or remove them from the cluster with rabbitmqctl forget_cluster_node), then apply again"
    )]
    NoMajority(crate::broker::metadata::NoMajority),
    /// A saved plan was made against a broker state that has changed since.
    #[error(
        "the broker changed since the plan was made (vhost {vhost:?}): nothing was applied; make the plan again"
    )]
    Stale {
        /// The vhost the plan is for.
        vhost: String,
    },
    /// Planning again gives other changes than the saved plan lists.
    #[error(
        "the plan's changes are not what applying it would do (vhost {vhost:?}): nothing was applied; make the plan again and review it{}{}",
        listed("would also", .unreviewed),
        listed("would not", .gone)
    )]
    Unreviewed {
        /// The vhost the plan is for.
        vhost: String,
        /// Changes applying now would make that the saved plan does not list,
        /// as text.
        unreviewed: Vec<String>,
        /// Changes the saved plan lists that applying now would not make, as
        /// text.
        gone: Vec<String>,
    },
    /// The plan made again under the lock differs from the one shown for
    /// confirmation: another client changed the vhost meanwhile.
    #[error(
        "the broker changed after the plan was shown (another client declared or deleted something): nothing was applied; run apply again to see the new plan"
    )]
    Moved,
    /// The broker refused a change; the changes before it were applied.
    #[error(
        "{source}\n{done} of {total} changes were applied before this one; running apply again continues from where the broker now stands"
    )]
    Step {
        /// How many changes were applied before this one.
        done: usize,
        /// How many changes the plan has.
        total: usize,
        /// The broker's refusal.
        #[source]
        source: BrokerError,
    },
    /// After applying, planning again still finds changes to make (each as
    /// text).
    #[error("the broker does not match the spec after applying; still to do: {}", .0.join("; "))]
    NotConverged(Vec<String>),
    /// The vhost was deleted while apply ran; the error that followed is its
    /// consequence.
    #[error(
        "vhost {vhost:?} was deleted while apply ran, and nothing more can be applied to it ({cause}); apply again to create it and everything in it"
    )]
    VhostGone {
        /// The vhost that was deleted.
        vhost: String,
        /// The error the broker gave once the vhost was gone.
        cause: String,
    },
    /// Talking to the broker failed outside a change.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// `error` as it happened to `vhost`: when the vhost is gone (deleted
/// while apply ran), the broker's refusal (ACCESS_REFUSED, vhost not
/// found, a closed connection) is its consequence, not its cause.
pub async fn in_context(http: &Http, vhost: &str, error: ApplyError) -> ApplyError {
    if matches!(
        error,
        ApplyError::MissingPasswords(_) | ApplyError::DataAtStake(_) | ApplyError::NoMajority(_)
    ) {
        return error;
    }
    let path = format!("vhosts/{}", crate::broker::segment(vhost));
    // A vhost being deleted refuses access first and is gone a moment
    // later.
    for _ in 0..10 {
        match http
            .get_json::<serde_json::Value>(&path, "read the vhost")
            .await
        {
            Err(BrokerError::Status { status: 404, .. }) => {
                return ApplyError::VhostGone {
                    vhost: crate::printable::for_people(vhost),
                    cause: error.to_string(),
                };
            }
            Ok(_) if !error.to_string().contains("ACCESS_REFUSED") => return error,
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            Err(_) => return error,
        }
    }
    error
}

/// Refuses to start a change the cluster cannot finish: one whose
/// metadata store has lost its majority would take the first declare and
/// wait, leaving the plan half applied.
///
/// # Errors
/// [`ApplyError::NoMajority`], or the management API cannot be read.
pub async fn can_change(http: &Http) -> Result<(), ApplyError> {
    match crate::broker::metadata::no_majority(http).await? {
        Some(no) => Err(ApplyError::NoMajority(no)),
        None => Ok(()),
    }
}

fn listed(what: &str, items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!("\n  {what}: {}", items.join("; "))
    }
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
/// Some variables are unset or empty: each user and its variable.
pub fn passwords(
    plan: &Plan,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Passwords, Vec<(String, String)>> {
    let mut found = Passwords::new();
    let mut missing = Vec::new();
    for c in &plan.changes {
        let (ObjectKind::User, Action::Create | Action::Update, Some(Object::User(u))) =
            (c.kind, c.action, &c.desired)
        else {
            continue;
        };
        match u.password_in(&env) {
            Some(p) => {
                found.insert(u.name.clone(), Password::new(p));
            }
            None => missing.push((u.name.clone(), u.password_var())),
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(missing)
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
    /// A change was applied.
    Done {
        /// The change the broker accepted.
        change: &'c Change,
        /// How many changes are applied so far, this one included.
        done: usize,
        /// How many changes the plan has.
        total: usize,
    },
}

/// The AMQP side of an apply: one connection to the vhost and a channel
/// per worker. Exchanges, queues and bindings are declared on these.
pub struct Amqp {
    connection: lapin::Connection,
    /// How long one request may wait for the broker's reply.
    timeout: std::time::Duration,
    channels: Vec<lapin::Channel>,
    /// In confirm mode, for moving messages (`--migrate`).
    confirming: lapin::Channel,
}

impl Amqp {
    /// Opens `workers` channels on one connection to `vhost`.
    ///
    /// # Errors
    /// The broker cannot be reached or refuses the connection.
    pub async fn open(
        settings: &crate::broker::Settings,
        vhost: &str,
        workers: usize,
    ) -> Result<Amqp, BrokerError> {
        let doing = format!("open AMQP channels in vhost {vhost:?}");
        crate::broker::bounded(settings.timeout, &doing, async {
            let connection = crate::broker::connect(settings, vhost).await?;
            let mut channels = Vec::new();
            for _ in 0..workers.max(1) {
                channels.push(
                    connection
                        .create_channel()
                        .await
                        .map_err(|e| BrokerError::amqp("open a channel to apply", e))?,
                );
            }
            let confirming = crate::broker::confirm_channel(&connection).await?;
            Ok(Amqp {
                connection,
                timeout: settings.timeout,
                channels,
                confirming,
            })
        })
        .await
    }

    /// Closes the connection, waiting at most the request timeout.
    pub async fn close(self) {
        let _ =
            tokio::time::timeout(self.timeout, self.connection.close(200, "applied".into())).await;
    }
}

/// Runs the plan's changes layer by layer. Within a layer, one worker per
/// channel (at most `parallelism`) takes the next change: exchanges, queues
/// and bindings go over its AMQP channel when there is one, the rest over
/// the management API. After a refusal no worker takes another change;
/// those running finish, and no later layer starts.
///
/// # Errors
/// The first refusal, with how many changes were done before it.
/// With `migrate` (and `amqp`), a replaced queue's messages are moved
/// into its replacement (see `migrate.rs`); those replaces run one at a
/// time, before the rest of their layer.
pub async fn execute(
    http: Arc<Http>,
    amqp: Option<&Amqp>,
    plan: &Plan,
    passwords: Arc<Passwords>,
    parallelism: usize,
    migrate: bool,
    mut on_event: impl FnMut(Event<'_>),
) -> Result<usize, ApplyError> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let total = plan.changes.len();
    let changes: Arc<Vec<Change>> = Arc::new(plan.changes.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let mut done = 0;
    let migrations = match amqp {
        Some(a) if migrate => migrations(plan).map(|m| (a, m)),
        _ => None,
    };
    let step_failed = |done, source| ApplyError::Step {
        done,
        total,
        source,
    };
    // Holding queues give their bindings back as soon as every binding is
    // declared, before the deletes: the shorter both queues are bound, the
    // fewer messages arrive twice.
    let mut released = migrations.is_none();
    for mut layer in crate::plan::layers(&plan.changes) {
        if !released
            && layer
                .iter()
                .all(|&i| plan.changes[i].action == Action::Delete)
        {
            if let Some((amqp, migrations)) = &migrations {
                release_all(amqp, migrations)
                    .await
                    .map_err(|e| step_failed(done, e))?;
            }
            released = true;
        }
        if let Some((amqp, migrations)) = &migrations {
            let (moving, rest): (Vec<usize>, Vec<usize>) = layer.into_iter().partition(|&i| {
                migrations.contains_key(&plan.changes[i].name)
                    && plan.changes[i].action == Action::Replace
                    && plan.changes[i].kind == ObjectKind::Queue
            });
            layer = rest;
            for i in moving {
                let change = &plan.changes[i];
                let held = migrate::hold(
                    &amqp.confirming,
                    amqp.timeout,
                    &change.name,
                    &migrations[&change.name],
                )
                .await;
                let replaced = match held {
                    Ok(_) => {
                        step::run(
                            &http,
                            Some((&amqp.confirming, amqp.timeout)),
                            &plan.vhost,
                            change,
                            &passwords,
                        )
                        .await
                    }
                    Err(e) => Err(e),
                };
                replaced.map_err(|e| step_failed(done, e))?;
                done += 1;
                on_event(Event::Done {
                    change,
                    done,
                    total,
                });
            }
        }
        if layer.is_empty() {
            continue;
        }
        let workers = parallelism.max(1).min(layer.len());
        let next = Arc::new(std::sync::Mutex::new(layer.into_iter()));
        let (report, mut results) = tokio::sync::mpsc::unbounded_channel();
        let mut running = tokio::task::JoinSet::new();
        for w in 0..workers {
            let channel = amqp.and_then(|a| a.channels.get(w % a.channels.len()).cloned());
            let after = amqp.map(|a| a.timeout).unwrap_or_default();
            let (http, passwords, changes, stop, next, report) = (
                http.clone(),
                passwords.clone(),
                changes.clone(),
                stop.clone(),
                next.clone(),
                report.clone(),
            );
            let vhost = plan.vhost.clone();
            running.spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let Some(i) = next.lock().ok().and_then(|mut n| n.next()) else {
                        break;
                    };
                    let change = &changes[i];
                    let over = channel.as_ref().map(|ch| (ch, after));
                    let result = step::run(&http, over, &vhost, change, &passwords).await;
                    if result.is_err() {
                        stop.store(true, Ordering::SeqCst);
                    }
                    let _ = report.send((i, result));
                }
            });
        }
        drop(report);
        let mut failed: Option<BrokerError> = None;
        while let Some((i, result)) = results.recv().await {
            match result {
                Ok(()) => {
                    done += 1;
                    on_event(Event::Done {
                        change: &plan.changes[i],
                        done,
                        total,
                    });
                }
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        while let Some(joined) = running.join_next().await {
            if let Err(e) = joined {
                failed.get_or_insert(BrokerError::Http {
                    doing: "run a change".into(),
                    reason: e.to_string(),
                });
            }
        }
        if let Some(source) = failed {
            return Err(step_failed(done, source));
        }
    }
    if !released && let Some((amqp, migrations)) = &migrations {
        release_all(amqp, migrations)
            .await
            .map_err(|e| step_failed(done, e))?;
    }
    Ok(done)
}

async fn release_all(
    amqp: &Amqp,
    migrations: &BTreeMap<String, Vec<crate::topology::Binding>>,
) -> Result<(), BrokerError> {
    finish(amqp, migrations).await.map(drop)
}

/// Gives each holding queue's bindings back to its queue and moves its
/// messages there (`migrate::release`). Returns how many moved.
///
/// The messages go through a channel of their own: a channel that took
/// messages from a queue before it was replaced keeps that queue's old type,
/// and RabbitMQ 4.3 closes the connection (INTERNAL_ERROR) when it then
/// publishes to the replacement of another type.
///
/// # Errors
/// The broker refuses; what was not moved stays in the holding queue.
pub async fn finish(
    amqp: &Amqp,
    migrations: &BTreeMap<String, Vec<crate::topology::Binding>>,
) -> Result<u64, BrokerError> {
    if migrations.is_empty() {
        return Ok(0);
    }
    let channel = crate::broker::bounded(
        amqp.timeout,
        "open a channel to move messages back",
        crate::broker::confirm_channel(&amqp.connection),
    )
    .await?;
    let mut moved = 0;
    for (queue, bindings) in migrations {
        moved += migrate::release(&channel, amqp.timeout, queue, bindings).await?;
    }
    let _ = channel.close(200, "moved".into()).await;
    Ok(moved)
}

/// The migrations an earlier apply left unfinished on `vhost` that this
/// plan does not finish itself (with `migrate`, its own replaces do). The
/// plan names every live queue (as a change or as unmanaged), so the broker
/// is read again only when a holding queue is there. A plan with
/// `--prune` would delete such a queue: that delete is dropped, since
/// finishing the migration empties and deletes it.
///
/// # Errors
/// The broker cannot be read.
pub async fn unfinished(
    http: &Http,
    desired: &Topology,
    plan: &mut Plan,
    migrate: bool,
) -> Result<BTreeMap<String, Vec<crate::topology::Binding>>, BrokerError> {
    keep_holding_queues(plan, desired);
    let left_behind = plan.unmanaged.iter().any(|(kind, name)| {
        *kind == ObjectKind::Queue && migrate::holds_for(name, desired).is_some()
    });
    if !left_behind {
        return Ok(BTreeMap::new());
    }
    let live = crate::broker::observe(http, &desired.vhost, &[]).await?;
    let mut left = migrate::unfinished(&live.topology, desired);
    if migrate && let Some(own) = migrations(plan) {
        left.retain(|q, _| !own.contains_key(q));
    }
    Ok(left)
}

/// Turns a planned delete of a holding queue (`--prune`) into an unmanaged
/// queue: [`finish`] empties it into its queue and deletes it.
pub fn keep_holding_queues(plan: &mut Plan, desired: &Topology) {
    let mut kept = Vec::new();
    plan.changes.retain(|c| {
        let holding = c.kind == ObjectKind::Queue
            && c.action == Action::Delete
            && migrate::holds_for(&c.name, desired).is_some();
        if holding {
            kept.push((ObjectKind::Queue, c.name.clone()));
        }
        !holding
    });
    plan.unmanaged.extend(kept);
}

/// The queues a plan replaces, with the bindings the plan gives each one:
/// what their holding queues take over while they are replaced.
fn migrations(plan: &Plan) -> Option<BTreeMap<String, Vec<crate::topology::Binding>>> {
    let mut found: BTreeMap<String, Vec<crate::topology::Binding>> = plan
        .changes
        .iter()
        .filter(|c| c.kind == ObjectKind::Queue && c.action == Action::Replace)
        .map(|c| (c.name.clone(), Vec::new()))
        .collect();
    for c in &plan.changes {
        if let (Action::Create, Some(Object::Binding(b))) = (c.action, &c.desired)
            && b.destination_type == crate::topology::DestinationType::Queue
            && let Some(list) = found.get_mut(&b.destination)
        {
            list.push(b.clone());
        }
    }
    (!found.is_empty()).then_some(found)
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
        left = plan.changes.iter().map(Change::doing).collect();
    }
    Err(ApplyError::NotConverged(left))
}
