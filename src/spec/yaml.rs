//! Writing YAML (for `expand`, and later `export` and `import`).

/// Serialises any value as YAML.
///
/// # Errors
/// When the value cannot be represented in YAML (not the case for the
/// topology types, whose maps have string keys).
pub fn to_yaml<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_saphyr::to_string(value).map_err(|e| e.to_string())
}
