//! How much input warren reads before it refuses: spec files, definitions
//! files and management API responses.
//!
//! `warren validate /dev/zero` or a broker that never ends its response must
//! end in a clear error, not in the machine running out of memory. The
//! limits are far above any real topology (a 50,000-queue spec is about
//! 10 MB) and can be raised from the environment; the CLI sets them once at
//! start-up and every reader asks [`get`].

use std::sync::OnceLock;

/// The limits in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest spec or definitions file, in bytes.
    pub file_bytes: u64,
    /// Largest management API answer, in bytes (for all the answers one
    /// command reads at once).
    pub body_bytes: u64,
}

/// The variable that raises [`Limits::file_bytes`].
pub const FILE_SIZE_VAR: &str = "WARREN_MAX_FILE_SIZE";
/// The variable that raises [`Limits::body_bytes`].
pub const BODY_SIZE_VAR: &str = "WARREN_MAX_RESPONSE_SIZE";

const MIB: u64 = 1024 * 1024;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            file_bytes: 256 * MIB,
            body_bytes: 256 * MIB,
        }
    }
}

impl Limits {
    /// The defaults, overridden by [`FILE_SIZE_VAR`] and [`BODY_SIZE_VAR`]
    /// (`512MiB`, `2GiB`, or a number of bytes).
    ///
    /// # Errors
    /// A variable that is set but is not a size.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Limits, NotASize> {
        let mut limits = Limits::default();
        for (var, field) in [
            (FILE_SIZE_VAR, &mut limits.file_bytes),
            (BODY_SIZE_VAR, &mut limits.body_bytes),
        ] {
            if let Some(text) = env(var) {
                *field = parse_size(&text).ok_or(NotASize { var, text })?;
            }
        }
        Ok(limits)
    }
}

/// A limit variable whose value is not a size.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{var}={text:?} is not a size: write it as 512MiB, 2GiB or a number of bytes")]
pub struct NotASize {
    /// The environment variable.
    pub var: &'static str,
    /// Its value, which did not parse.
    pub text: String,
}

/// Why [`read_file`] read nothing.
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be opened or read.
    Io(std::io::Error),
    /// Over [`Limits::file_bytes`].
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A FIFO that nothing writes to.
    NoWriter,
}

/// Reads a whole input file (a spec, a definitions export, a CA bundle),
/// refusing one over the size limit before it fills memory (`/dev/zero`).
/// A FIFO is opened without waiting for a writer, so a FIFO nothing writes
/// to is an error instead of a hang; a pipe with a writer (`<(generate)`)
/// is read to its end.
///
/// # Errors
/// The file cannot be read, is too large, or is a FIFO without a writer.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let limit = get().file_bytes;
    let fifo = std::fs::metadata(path)
        .map_err(ReadError::Io)?
        .file_type()
        .is_fifo();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(if fifo { libc::O_NONBLOCK } else { 0 })
        .open(path)
        .map_err(ReadError::Io)?;
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > limit)
    {
        return Err(ReadError::TooLarge { limit });
    }
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                if (bytes.len() + n) as u64 > limit {
                    return Err(ReadError::TooLarge { limit });
                }
                bytes.extend_from_slice(&chunk[..n]);
            }
            // A FIFO whose writer has not written yet.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    if fifo && bytes.is_empty() {
        return Err(ReadError::NoWriter);
    }
    Ok(bytes)
}

static LIMITS: OnceLock<Limits> = OnceLock::new();

/// Sets the limits for this process; the first call wins.
pub fn set(limits: Limits) {
    let _ = LIMITS.set(limits);
}

/// The limits in force: those [`set`], or the defaults.
pub fn get() -> Limits {
    LIMITS.get().copied().unwrap_or_default()
}

/// `123`, `64KiB`, `512MiB`, `2GiB` (also `KB`, `MB`, `GB`, read as powers
/// of 1024 the way people mean them for files).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => 1024 * MIB,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(factor)
}

/// `268435456` as `256 MiB`, for messages.
pub fn show_size(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("64KiB"), Some(65_536));
        assert_eq!(parse_size("512MiB"), Some(512 * MIB));
        assert_eq!(parse_size("2 GB"), Some(2048 * MIB));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999999999999GiB"), None);
        assert_eq!(show_size(256 * MIB), "256 MiB");
        assert_eq!(show_size(1000), "1000 bytes");
    }

    #[test]
    fn the_environment_raises_the_limits() {
        let env = |k: &str| (k == FILE_SIZE_VAR).then(|| "1GiB".to_string());
        let limits = Limits::from_env(env).unwrap();
        assert_eq!(limits.file_bytes, 1024 * MIB);
        assert_eq!(limits.body_bytes, Limits::default().body_bytes);
        let bad = |k: &str| (k == BODY_SIZE_VAR).then(|| "huge".to_string());
        let error = Limits::from_env(bad).unwrap_err().to_string();
        assert!(error.contains(BODY_SIZE_VAR), "{error}");
    }
}
