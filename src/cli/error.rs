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
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot serialise the output: {0}")]
    Serialize(String),
    /// The arguments do not fit the topology (an unknown service, an
    /// exchange publishers cannot use).
    #[error("{0}")]
    Usage(String),
}
