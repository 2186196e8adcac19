use crate::broker::BrokerError;
use crate::definitions::DefinitionsError;
use crate::spec::LoadError;

/// Why a command could not do its job (findings are not errors).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The topology files could not be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Talking to the broker failed.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// A definitions file could not be imported.
    #[error(transparent)]
    Definitions(#[from] DefinitionsError),
    /// An output file given on the command line could not be written.
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why it could not be written.
        source: std::io::Error,
    },
    /// stdout or stderr could not be written.
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
    /// A report could not be turned into JSON.
    #[error("cannot serialise the output: {0}")]
    Serialize(String),
    /// A topology could not be written as YAML.
    #[error(transparent)]
    Yaml(#[from] crate::spec::YamlError),
    /// The spec could not be checked against the broker.
    #[error(transparent)]
    ForBroker(#[from] crate::validate::ForBrokerError),
    /// An apply failed (`warren apply`).
    #[error(transparent)]
    Apply(#[from] crate::apply::ApplyError),
    /// A publish was refused or not confirmed (`warren publish`).
    #[error(transparent)]
    Request(#[from] crate::worker::publish::RequestError),
    /// A dead-letter queue could not be listed or replayed (`warren dlq`).
    #[error(transparent)]
    Dlq(#[from] crate::worker::dlq::DlqError),
    /// The workers could not start or stopped on an error (`warren run`).
    #[error(transparent)]
    Worker(#[from] crate::worker::WorkerError),
    /// The metrics recorder could not be installed.
    #[error(transparent)]
    Metrics(#[from] crate::worker::metrics::RecorderError),
    /// The metrics endpoint could not listen on its address.
    #[error("cannot serve metrics on {addr}: {source}")]
    Serve {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why it could not be bound.
        source: std::io::Error,
    },
    /// The arguments do not fit the command or the topology (a missing
    /// flag, an unknown service, an exchange publishers cannot use): exit 64.
    #[error("{0}")]
    Usage(String),
    /// The command could not do its job for a reason that is not the
    /// arguments (a vhost that does not exist, a missing tool): exit 1.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// For `map_err` on a failed write of `path`.
    pub fn write_file(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
        move |source| CliError::WriteFile {
            path: path.to_path_buf(),
            source,
        }
    }
}
