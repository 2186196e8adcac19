//! The JSON Schema of the spec format, for editors and CI.

use super::SpecFile;

/// The schema as pretty-printed JSON with a trailing newline, exactly as
/// committed in schemas/warren.schema.json.
pub fn json() -> String {
    let schema = schemars::schema_for!(SpecFile);
    // Serialising a schema (a JSON value) cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema is plain JSON");
    text.push('\n');
    text
}
