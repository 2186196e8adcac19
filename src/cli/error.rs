use crate::broker::BrokerError;
use crate::definitions::DefinitionsError;
use crate::spec::LoadError;

/// Why a command could not do its job (findings are not errors).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Definitions(#[from] DefinitionsError),
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot serialise the output: {0}")]
    Serialize(String),
    #[error(transparent)]
    Yaml(#[from] crate::spec::YamlError),
    #[error(transparent)]
    ForBroker(#[from] crate::validate::ForBrokerError),
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
