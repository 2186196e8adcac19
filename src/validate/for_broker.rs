//! The spec checked for a live broker: what `plan`, `apply` and `status`
//! start from. The broker's release decides which checks apply, and the
//! live vhost's queue types type the queues the spec leaves untyped.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Validation, validate_loaded_with};
use crate::broker::{BrokerError, Http, Live, VhostState};
use crate::spec::{LoadError, load_paths};
use crate::topology::{LiveTypes, Topology};

/// The spec, valid for the broker, ready for planning.
pub struct ForBroker {
    /// The files loaded and checked for the broker's release (and, where
    /// they type a queue otherwise, the live vhost's queue types).
    pub validation: Validation,
    /// One per vhost, with the vhost asked for applied.
    pub topologies: Vec<Topology>,
    /// The state of the vhost the spec names (or the one asked for), read
    /// while the spec was checked: the export is most of a plan's time.
    /// Hand it to the first `broker::plan_with`.
    pub prefetched: Option<VhostState>,
}

/// What checking a spec for a broker found.
pub enum Checked {
    /// The spec has no errors for this broker.
    Valid(Box<ForBroker>),
    /// The spec has errors: its diagnostics say which.
    Invalid(Validation),
}

/// Why a spec could not be checked for a broker (its own errors are
/// [`Checked::Invalid`], not these).
#[derive(Debug, thiserror::Error)]
pub enum ForBrokerError {
    /// The spec files could not be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The broker could not be read.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// A vhost was asked for, but the files name several vhosts (how many).
    #[error("a vhost to use was given, but the files name {0} vhosts: give the files of one vhost")]
    VhostForSeveral(usize),
    /// The check itself stopped (it panicked on its thread).
    #[error("checking the spec stopped: {0}")]
    Stopped(String),
}

/// Asks the broker its release, and loads and checks `paths` for it on a
/// blocking thread. The broker's answer comes back beside the validation
/// rather than failing it: a spec with errors is reported even when the
/// broker does not answer.
///
/// # Errors
/// A path cannot be read, or the check stopped.
pub async fn beside_broker(
    paths: &[PathBuf],
    http: &Http,
) -> Result<(Validation, Result<Live, BrokerError>), ForBrokerError> {
    let live = crate::broker::live(http).await;
    let target = live.as_ref().ok().copied().unwrap_or_default();
    let validation = off_thread(paths, target, BTreeMap::new()).await?;
    Ok((validation, live))
}

/// Loads and checks `paths` on a blocking thread, so that the broker
/// requests running beside it go on.
async fn off_thread(
    paths: &[PathBuf],
    live: Live,
    live_types: BTreeMap<String, LiveTypes>,
) -> Result<Validation, ForBrokerError> {
    let owned = paths.to_vec();
    let validation = tokio::task::spawn_blocking(move || {
        load_paths(&owned).map(|loaded| validate_loaded_with(loaded, live, &live_types))
    })
    .await
    .map_err(|e| ForBrokerError::Stopped(e.to_string()))??;
    Ok(validation)
}

/// Checks `paths` for the broker `http` reaches, reading the vhost the spec
/// names (or `vhost`) meanwhile. Queues the spec leaves untyped take what
/// the live vhost says (a live queue keeps its type, a new one takes the
/// vhost's default), so the spec is checked again with those types when
/// they type a queue otherwise. `vhost` replaces the vhost of a spec that
/// names one.
///
/// # Errors
/// A path cannot be read; the spec is valid but the broker does not answer;
/// `vhost` is given for files of several vhosts.
pub async fn for_broker(
    paths: &[PathBuf],
    vhost: Option<&str>,
    http: &Http,
) -> Result<Checked, ForBrokerError> {
    let guess = vhost
        .map(str::to_string)
        .or_else(|| crate::spec::peek_vhost(paths));
    let prefetch = async {
        match &guess {
            Some(vhost) => Some(crate::broker::read_vhost(http, vhost).await),
            None => None,
        }
    };
    let (checked, prefetched) = tokio::join!(beside_broker(paths, http), prefetch);
    let (mut validation, live) = checked?;
    if validation.has_errors() {
        return Ok(Checked::Invalid(validation));
    }
    let live = live?;
    // The state is of `vhost` when given (then the spec holds one vhost),
    // else of the vhost the spec names.
    let read_for = |t: &Topology, state: &VhostState| vhost.is_some() || t.vhost == state.vhost();
    if let Some(state) = &prefetched
        && let Some(types) = state.live_types()
        && let Some(target) = validation
            .topologies
            .iter()
            .find(|t| read_for(t, state) && types.retypes(t))
    {
        let live_types = BTreeMap::from([(target.vhost.clone(), types)]);
        validation = off_thread(paths, live, live_types).await?;
        if validation.has_errors() {
            return Ok(Checked::Invalid(validation));
        }
    }
    let mut topologies = validation.topologies.clone();
    if let Some(vhost) = vhost {
        let [topology] = topologies.as_mut_slice() else {
            return Err(ForBrokerError::VhostForSeveral(topologies.len()));
        };
        topology.vhost = vhost.to_string();
    }
    Ok(Checked::Valid(Box::new(ForBroker {
        validation,
        topologies,
        prefetched,
    })))
}
