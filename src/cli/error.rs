use crate::spec::LoadError;

/// Why a command could not do its job (findings are not errors).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot serialise the topology: {0}")]
    Serialize(String),
}
