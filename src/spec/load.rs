//! Reading spec files into [`SpecFile`]s.

use std::path::{Path, PathBuf};

use super::{LoadError, SpecFile};
use crate::diagnostic::{Diagnostic, codes};
use crate::source::{FileId, SourceMap, Span};

/// The files of one topology, parsed as far as they parse.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    /// Files that parsed, with the id of their text in `sources`.
    pub files: Vec<(FileId, SpecFile)>,
    /// One diagnostic per file that did not parse.
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads files and directories (every `*.yaml`/`*.yml` below, sorted, hidden
/// entries skipped) as one topology.
///
/// # Errors
/// A path that cannot be read, or a directory with no spec file.
pub fn load_paths(paths: &[PathBuf]) -> Result<Loaded, LoadError> {
    let mut loaded = Loaded::default();
    for path in paths {
        let files = spec_files(path)?;
        if files.is_empty() {
            return Err(LoadError::NoSpecFiles { path: path.clone() });
        }
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| LoadError::Io {
                path: file.clone(),
                source,
            })?;
            add(&mut loaded, file, text);
        }
    }
    Ok(loaded)
}

/// Loads one document from memory (tests, stdin).
pub fn load_str(name: &str, text: &str) -> Loaded {
    let mut loaded = Loaded::default();
    add(&mut loaded, PathBuf::from(name), text.to_string());
    loaded
}

fn add(loaded: &mut Loaded, path: PathBuf, text: String) {
    let result = parse(&text);
    let id = loaded.sources.add(path, text);
    match result {
        Ok(file) => loaded.files.push((id, file)),
        Err(error) => loaded
            .diagnostics
            .push(diagnostic(&loaded.sources, id, &error)),
    }
}

fn options() -> serde_saphyr::Options {
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    // A spec is small; a few thousand replayed events means an alias bomb.
    alias_limits.max_total_replayed_events = 100_000;
    alias_limits.max_alias_expansions_per_anchor = 1_000;
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        emit_comments: false,
        alias_limits: alias_limits,
    }
}

fn parse(text: &str) -> Result<SpecFile, serde_saphyr::Error> {
    if text.trim().is_empty() {
        // serde-saphyr reads an empty document as null; say what is missing.
        return serde_saphyr::from_str_with_options::<SpecFile>("{}", options());
    }
    serde_saphyr::from_str_with_options(text, options())
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
    let message = clean_message(&error.without_snippet().to_string());
    Diagnostic::new(&codes::SPEC_INVALID, message.clone())
        .label(Span::new(id, offset, 0), short_label(&message))
        .help(help_for(&message))
}

/// serde-saphyr appends "at line L, column C"; warren prints the location
/// itself, with the file name.
fn clean_message(message: &str) -> String {
    let message = message.trim();
    match message.find(" at line ") {
        Some(i) => message[..i].trim_end_matches(',').to_string(),
        None => message.to_string(),
    }
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
    if m.contains("unknown field") {
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

fn spec_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
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
        if child.is_dir() {
            found.extend(spec_files(&child)?);
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            found.push(child);
        }
    }
    Ok(found)
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
