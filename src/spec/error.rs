use std::path::PathBuf;

/// Why warren could not read a topology at all. Problems inside a file are
/// diagnostics, not errors.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is larger than {limit_shown}, the limit for one input file; if it really is a topology, raise the limit with {var} (for example {var}=1GiB)",
        limit_shown = crate::limits::show_size(*limit),
        var = crate::limits::FILE_SIZE_VAR
    )]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path} is a FIFO and nothing writes to it")]
    NoWriter { path: PathBuf },
    #[error("{path} holds no spec files (*.yaml or *.yml)")]
    NoSpecFiles { path: PathBuf },
}
