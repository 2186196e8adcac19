//! Reading spec files into [`SpecFile`]s.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{LoadError, SpecFile};
use crate::diagnostic::{Diagnostic, codes};
use crate::source::{FileId, SourceMap, Span};

/// The files of one topology, parsed as far as they parse.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The text of every file read, parsed or not, for diagnostics to point
    /// into.
    pub sources: SourceMap,
    /// Files that parsed, with the id of their text in `sources`.
    pub files: Vec<(FileId, SpecFile)>,
    /// One diagnostic per file that did not parse.
    pub diagnostics: Vec<Diagnostic>,
    /// What loading skipped, and why (a FIFO in a spec directory, a link
    /// back to a directory already read).
    pub notes: Vec<String>,
}

/// Loads files and directories (every `*.yaml`/`*.yml` below, sorted, hidden
/// entries skipped) as one topology. Each real file is loaded once, however
/// many paths or links lead to it; a link back into a directory already
/// read is not followed again; entries that are not regular files (FIFOs,
/// sockets, devices) are skipped with a note, since reading them could
/// block or never end.
///
/// # Errors
/// A path that cannot be read, a file over the size limit
/// ([`crate::limits`]), or a directory with no spec file.
pub fn load_paths(paths: &[PathBuf]) -> Result<Loaded, LoadError> {
    let mut loaded = Loaded::default();
    let mut walk = Walk::default();
    for path in paths {
        let before = walk.files.len();
        let repeated = walk.already_seen(path);
        walk.visit(path, true)?;
        if walk.files.len() == before && !repeated {
            return Err(LoadError::NoSpecFiles { path: path.clone() });
        }
    }
    loaded.notes = walk.notes;
    for file in walk.files {
        let bytes = read_file(&file)?;
        add(&mut loaded, file, bytes);
    }
    Ok(loaded)
}

/// Reads a whole input file, refusing one over the size limit before it
/// fills memory (`/dev/zero`, a runaway generator).
///
/// # Errors
/// The file cannot be read or is over [`crate::limits::Limits::file_bytes`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    use crate::limits::ReadError;
    crate::limits::read_file(path).map_err(|e| match e {
        ReadError::Io(source) => LoadError::Io {
            path: path.to_path_buf(),
            source,
        },
        ReadError::TooLarge { limit } => LoadError::TooLarge {
            path: path.to_path_buf(),
            limit,
        },
        ReadError::NoWriter => LoadError::NoWriter {
            path: path.to_path_buf(),
        },
    })
}

/// The spec files below the paths given, each real file once.
#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    /// Canonical paths of the files and directories read so far.
    seen: HashSet<PathBuf>,
    notes: Vec<String>,
}

impl Walk {
    fn already_seen(&self, path: &Path) -> bool {
        std::fs::canonicalize(path).is_ok_and(|c| self.seen.contains(&c))
    }

    fn visit(&mut self, path: &Path, given: bool) -> Result<(), LoadError> {
        let io = |source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        // A pipe from `<(generate)` has no canonical path: its own will do.
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if !meta.is_dir() {
            if !given && !meta.is_file() {
                self.notes.push(format!(
                    "skipped {}: not a regular file (a FIFO, socket or device could block or never end)",
                    path.display()
                ));
                return Ok(());
            }
            // A path given on the command line is read whatever it is
            // (`<(generate-spec)` is a pipe); the size limit bounds it.
            if self.seen.insert(canonical) {
                self.files.push(path.to_path_buf());
            }
            return Ok(());
        }
        if !self.seen.insert(canonical) {
            if !given {
                self.notes.push(format!(
                    "skipped {}: it leads to a directory already read",
                    path.display()
                ));
            }
            return Ok(());
        }
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(io)?
            .collect::<Result<_, _>>()
            .map_err(io)?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let child = entry.path();
            if child.is_dir() || name.ends_with(".yaml") || name.ends_with(".yml") {
                self.visit(&child, false)?;
            }
        }
        Ok(())
    }
}

/// Loads one document from memory (tests, stdin).
pub fn load_str(name: &str, text: &str) -> Loaded {
    let mut loaded = Loaded::default();
    add(&mut loaded, PathBuf::from(name), text.as_bytes().to_vec());
    loaded
}

fn add(loaded: &mut Loaded, path: PathBuf, bytes: Vec<u8>) {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            let byte = error.as_bytes()[at];
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            let id = loaded.sources.add(path, text);
            loaded.diagnostics.push(
                Diagnostic::new(
                    &codes::SPEC_INVALID,
                    format!("the file is not UTF-8 text: byte 0x{byte:02x} cannot start or continue a character"),
                )
                .label(Span::new(id, at, 1), "not UTF-8")
                .help("warren reads specs as UTF-8: convert the file, for example with `iconv -f LATIN1 -t UTF-8`"),
            );
            return;
        }
    };
    let result = parse(&text);
    let id = loaded.sources.add(path, text);
    match result {
        Ok(file) => loaded.files.push((id, file)),
        Err(error) => loaded
            .diagnostics
            .push(diagnostic(&loaded.sources, id, &error)),
    }
}

/// Parser budgets that grow with the file: a plain file cannot hold more
/// nodes than bytes, so they never refuse a real spec (50,000 queues in one
/// file), while alias expansion, the one way a small file becomes a huge
/// document, stays bounded.
fn options(len: usize) -> serde_saphyr::Options {
    let scaled = |floor: usize, per_byte: usize| floor.max(len.saturating_mul(per_byte));
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = scaled(100_000, 2);
    alias_limits.max_alias_expansions_per_anchor = scaled(1_000, 1);
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = None;
    budget.max_events = scaled(1_000_000, 4);
    budget.max_nodes = scaled(250_000, 2);
    budget.max_aliases = scaled(50_000, 1);
    budget.max_anchors = scaled(50_000, 1);
    budget.max_merge_keys = scaled(10_000, 1);
    budget.max_recorded_anchor_events = scaled(1_000_000, 2);
    budget.max_total_scalar_bytes = scaled(64 * 1024 * 1024, 1);
    budget.max_recorded_anchor_bytes = scaled(64 * 1024 * 1024, 1);
    // One anchor used by every queue (`<<: *defaults`) is a normal spec.
    budget.enforce_alias_anchor_ratio = false;
    budget.max_depth = MAX_DEPTH;
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        emit_comments: false,
        alias_limits: alias_limits,
        budget: Some(budget),
    }
}

/// Deepest nesting a spec needs is under ten levels.
const MAX_DEPTH: usize = 64;

fn parse(text: &str) -> Result<SpecFile, serde_saphyr::Error> {
    if text.trim().is_empty() {
        // serde-saphyr reads an empty document as null; say what is missing.
        return serde_saphyr::from_str_with_options::<SpecFile>("{}", options(0));
    }
    serde_saphyr::from_str_with_options(text, options(text.len()))
}

fn diagnostic(sources: &SourceMap, id: FileId, error: &serde_saphyr::Error) -> Diagnostic {
    let file = sources.file(id);
    let location = error.location();
    let offset = location
        .and_then(|l| l.span().byte_offset())
        .map(|o| o as usize)
        .or_else(|| {
            location
                .filter(|l| l.line() > 0)
                .map(|l| file.offset_of(l.line() as usize, l.column() as usize))
        })
        .unwrap_or(0);
    let (message, help) = describe(error.without_snippet());
    Diagnostic::new(&codes::SPEC_INVALID, message.clone())
        .label(Span::new(id, offset, 0), short_label(&message))
        .help(help)
}

/// The parser's error in warren's words: what is wrong and how to fix it,
/// without the parser's own API names.
fn describe(error: &serde_saphyr::Error) -> (String, String) {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach as B;
    match error {
        E::InvalidScalar { ty, .. } => {
            let expected = match *ty {
                "boolean" => "true or false",
                "floating point" | "f32" | "f64" => "a number",
                "u8" => "a whole number from 0 to 255",
                "u16" => "a whole number from 0 to 65,535",
                "u32" => "a whole number from 0 to 4,294,967,295",
                "u64" | "usize" => "a whole number from 0 to 18,446,744,073,709,551,615",
                "i64" => "a whole number from -9,223,372,036,854,775,808 to 9,223,372,036,854,775,807",
                t if t.starts_with('u') => "a whole number, 0 or more",
                _ => "a whole number",
            };
            (
                format!("expected {expected} here"),
                "write the value as a plain YAML number or boolean (docs/spec.md gives each field's type)".into(),
            )
        }
        E::MultipleDocuments { .. } => (
            "a spec file holds one YAML document, and this one holds more".into(),
            "put each document (each part after `---`) in a file of its own; a directory of files is one topology".into(),
        ),
        E::Budget { breach, .. } => {
            let what = match breach {
                B::Depth { .. } => format!("it nests more than {MAX_DEPTH} levels deep"),
                B::Aliases { aliases } => format!("it uses {aliases} aliases"),
                B::Anchors { anchors } => format!("it defines {anchors} anchors"),
                B::MergeKeys { merge_keys } => format!("it uses {merge_keys} merge keys"),
                B::Events { events } | B::Documents { documents: events } => {
                    format!("it expands to {events} parser events")
                }
                B::Nodes { nodes } => format!("it expands to {nodes} nodes"),
                _ => "aliases expand it far beyond its size".into(),
            };
            (
                format!("the YAML is too large to read: {what}, past warren's limit for a file of this size"),
                "a spec never needs this: look for aliases (`*name`) that expand into each other, or nesting that runs away; the limits grow with the file's size".into(),
            )
        }
        other => {
            let message = plain_words(&clean_message(&other.to_string()));
            if message.contains("budget breached") {
                // A budget breach wrapped in another error (a merge chain).
                return (
                    "the YAML is too large to read: aliases or merge keys nest or expand past warren's limit for a file of this size".into(),
                    "a spec never needs this: look for aliases (`*name`) and merge keys (`<<`) that expand into each other".into(),
                );
            }
            let help = help_for(&message);
            (message, help)
        }
    }
}

/// serde's and the parser's phrases in a spec author's words: no Rust
/// types, no API advice.
pub fn plain_words(message: &str) -> String {
    static RUST_TYPE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b(struct|enum) [A-Z]\w*|\b[ui](8|16|32|64|128|size)\b|\bf(32|64)\b")
            .expect("a valid pattern")
    });
    let message = message
        .replace(
            "cannot deserialize null into string; use Option<String>",
            "expected text here, not an empty value",
        )
        .replace("unit value", "an empty value")
        .replace(
            "recursive references require weak recursion types",
            "an alias refers to the mapping that contains it: aliases cannot loop",
        )
        .replace(
            "externally tagged enum expected scalar or mapping",
            "expected one key naming the kind, for example { exec: [./handle.sh] }",
        )
        .replace(
            "expected string key for externally tagged enum",
            "expected one key naming the kind, for example { exec: [./handle.sh] }",
        );
    RUST_TYPE
        .replace_all(&message, |c: &regex::Captures| match &c[0] {
            t if t.starts_with("struct") || t.starts_with("enum") => "an object".to_string(),
            t if t.starts_with('f') => "a number".to_string(),
            _ => "a whole number".to_string(),
        })
        .into_owned()
}

/// serde-saphyr appends "at line L, column C" and API advice; warren prints
/// the location itself, with the file name.
fn clean_message(message: &str) -> String {
    let mut message = message.trim();
    if let Some(i) = message.find(" at line ") {
        message = &message[..i];
    }
    if let Some(i) = message.find(", set DuplicateKeyPolicy") {
        message = &message[..i];
    }
    message.trim_end_matches(',').to_string()
}

fn short_label(message: &str) -> String {
    if message.contains("unknown field") {
        "unknown field".into()
    } else if message.contains("duplicate") {
        "duplicate key".into()
    } else {
        "here".into()
    }
}

fn help_for(message: &str) -> String {
    let m = message.to_ascii_lowercase();
    if m.contains("unknown field `changes`") || m.contains("unknown field `desired`") {
        "this looks like a saved plan (`warren plan --out`): apply it with `warren apply PLAN.json`; this command takes spec files".into()
    } else if m.contains("unknown field") {
        match closest_field(message) {
            Some(field) => format!("did you mean `{field}`? (fields are listed in docs/spec.md)"),
            None => "check the spelling against docs/spec.md or the JSON Schema in schemas/warren.schema.json".into(),
        }
    } else if m.contains("duplicate") {
        "a key may appear once per mapping: merge the two entries or rename one".into()
    } else if m.contains("boolean") {
        "write true or false: YAML 1.1 spellings such as yes, no, on and off are not booleans here"
            .into()
    } else if m.contains("alias") || m.contains("budget") {
        "aliases expand too far: write the repeated part out or use fewer nested aliases".into()
    } else if m.contains("missing field") {
        "add the field; docs/spec.md lists what each object needs".into()
    } else {
        "see docs/spec.md for the spec format".into()
    }
}

/// From serde's "unknown field `durabel`, expected one of `type`,
/// `durable`, ...", the expected field closest to the one written.
fn closest_field(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let (_, expected) = rest.split_once("expected")?;
    expected
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|w| w.trim_matches('`'))
        .filter(|w| !w.is_empty() && !matches!(*w, "one" | "of" | "or"))
        .map(|candidate| (strsim::damerau_levenshtein(field, candidate), candidate))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, candidate)| candidate.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_field() {
        let message =
            "unknown field `durabel`, expected one of type, durable, auto_delete, internal";
        assert_eq!(closest_field(message).as_deref(), Some("durable"));
        let message = "unknown field `durabel`, expected one of `type`, `durable`";
        assert_eq!(closest_field(message).as_deref(), Some("durable"));
        assert_eq!(
            closest_field("unknown field `zzzzzzzz`, expected one of type, durable"),
            None
        );
    }
}
