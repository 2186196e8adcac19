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
    #[error("{path} holds no spec files (*.yaml or *.yml)")]
    NoSpecFiles { path: PathBuf },
}
