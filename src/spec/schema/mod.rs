//! The JSON Schema of the spec format, for editors and CI.
//!
//! schemars derives the shape from the spec types; three passes then make it
//! what an editor needs: `scalars` accepts the scalars warren accepts,
//! `rules` adds what the types cannot say (one binding destination, queue
//! type restrictions, name limits), and `docs` gives every field a title and
//! a readable description. `scripts/editor-check.py` measures the result in
//! yaml-language-server.

mod docs;
mod rules;
mod scalars;

use super::SpecFile;

/// The schema as pretty-printed JSON with a trailing newline, exactly as
/// committed in schemas/warren.schema.json.
pub fn json() -> String {
    let schema = schemars::schema_for!(SpecFile);
    let mut value = schema.to_value();
    scalars::as_warren_reads_them(&mut value);
    rules::add(&mut value);
    docs::add(&mut value);
    // Serialising a schema (a JSON value) cannot fail.
    let mut text = serde_json::to_string_pretty(&value).expect("a schema is plain JSON");
    text.push('\n');
    text
}
