//! The offline pipeline: load, compile, check.

use std::path::PathBuf;

use crate::diagnostic::{self, Diagnostic};
use crate::source::SourceMap;
use crate::spec::{LoadError, load_paths};
use std::collections::BTreeMap;

use crate::topology::compile::compile_for;
use crate::topology::{LiveTypes, Topology};
use crate::vocabulary::Targets;

mod for_broker;
pub use for_broker::{Checked, ForBroker, ForBrokerError, beside_broker, for_broker};

/// Loaded, compiled and checked topologies (one per vhost).
#[derive(Debug)]
pub struct Validation {
    /// Every file read, for diagnostics to point into.
    pub sources: SourceMap,
    /// One compiled topology per vhost the files name.
    pub topologies: Vec<Topology>,
    /// Sorted by file and position. When a file does not parse, only the
    /// parse errors are here: checking a partial topology would report
    /// references into the missing file as errors.
    pub diagnostics: Vec<Diagnostic>,
    /// What loading skipped, and why (see `spec::Loaded::notes`).
    pub notes: Vec<String>,
}

impl Validation {
    /// Whether a diagnostic is an error (warnings do not count).
    pub fn has_errors(&self) -> bool {
        diagnostic::count(&self.diagnostics).0 > 0
    }
}

/// Loads the files or directories in `paths` (one topology per vhost) and
/// checks them.
///
/// # Errors
/// Only when a path cannot be read; problems in the files are diagnostics.
pub fn validate(paths: &[PathBuf]) -> Result<Validation, LoadError> {
    Ok(validate_loaded(load_paths(paths)?))
}

/// [`validate`] for an already loaded topology (tests load from memory).
pub fn validate_loaded(loaded: crate::spec::Loaded) -> Validation {
    validate_loaded_for(loaded, crate::broker::Live::default())
}

/// [`validate_loaded`] for the live broker's release and node count (read
/// from the broker), which override what the spec states.
pub fn validate_loaded_for(loaded: crate::spec::Loaded, live: crate::broker::Live) -> Validation {
    validate_loaded_with(loaded, live, &BTreeMap::new())
}

/// [`validate_loaded_for`] knowing, per vhost, the queue types the live
/// broker has: queues the spec leaves untyped take them (see
/// `topology::TypeFrom`).
pub fn validate_loaded_with(
    loaded: crate::spec::Loaded,
    live: crate::broker::Live,
    live_types: &BTreeMap<String, LiveTypes>,
) -> Validation {
    let notes = loaded.notes.clone();
    let (topologies, mut diagnostics) = if loaded.diagnostics.is_empty() {
        let (mut topologies, mut diagnostics) = compile_for(&loaded, live_types);
        for topology in &mut topologies {
            if let Some(nodes) = live.nodes {
                topology.cluster_nodes = Some(nodes);
            }
            topology.open_files = live.open_files;
            let targets = match live.version {
                Some(v) => Targets::of([v]),
                None => topology.targets(),
            };
            diagnostics.extend(crate::check::check_for(topology, targets));
        }
        (topologies, diagnostics)
    } else {
        (Vec::new(), loaded.diagnostics)
    };
    diagnostic::sort(&mut diagnostics);
    Validation {
        sources: loaded.sources,
        topologies,
        diagnostics,
        notes,
    }
}
