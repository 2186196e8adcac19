use std::path::PathBuf;

/// Why warren could not read a topology at all. Problems inside a file are
/// diagnostics, not errors.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that could not be read.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is over the size limit for one input file.
    #[error(
        "{path} is larger than {limit_shown}, the limit for one input file; if it really is a topology, raise the limit with {var} (for example {var}=1GiB)",
        limit_shown = crate::limits::show_size(*limit),
        var = crate::limits::FILE_SIZE_VAR
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A path is a FIFO that no process writes to (reading it would wait
    /// for ever).
    #[error("{path} is a FIFO and nothing writes to it")]
    NoWriter {
        /// The FIFO.
        path: PathBuf,
    },
    /// A directory given holds no `*.yaml` or `*.yml` file.
    #[error("{path} holds no spec files (*.yaml or *.yml)")]
    NoSpecFiles {
        /// The directory.
        path: PathBuf,
    },
}
