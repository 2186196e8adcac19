//! Writing YAML (for `expand`, and later `export` and `import`).

/// Serialises any value as YAML.
///
/// # Errors
/// When the value cannot be represented in YAML (not the case for the
/// topology types, whose maps have string keys).
pub fn to_yaml<T: serde::Serialize>(value: &T) -> Result<String, YamlError> {
    serde_saphyr::to_string(value).map_err(YamlError)
}

/// A value YAML cannot represent.
#[derive(Debug, thiserror::Error)]
#[error("cannot write YAML: {0}")]
pub struct YamlError(#[source] serde_saphyr::ser::Error);
