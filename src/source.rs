//! Source files and byte spans.
//!
//! Every object warren reports on points back into the YAML that caused it.
//! Spans are byte ranges in a [`SourceMap`] entry; line and column are derived
//! on demand so that the hot path (loading 10,000 queues) stores two integers.

use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Span {
    /// The file the range is in.
    pub file: FileId,
    /// Byte offset of the range's start.
    pub start: u32,
    /// Length of the range in bytes.
    pub len: u32,
}

impl Span {
    /// A span of `len` bytes from `start`; offsets past `u32::MAX` saturate.
    pub fn new(file: FileId, start: usize, len: usize) -> Span {
        Span {
            file,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(len).unwrap_or(u32::MAX),
        }
    }
}

/// A position a person can type into an editor: 1-based line and column.
///
/// Lines end at `\n`, `\r\n` or a lone `\r`, as YAML and editors break
/// them; columns count characters (Unicode scalar values), not bytes. Every
/// output format (human, JSON, GitHub) reads positions from here, so they
/// agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Where a span starts, as a person or a program reads it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// The file's path as the user gave it.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// One loaded file: its path as the user gave it and its text.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user gave it (not canonicalised).
    pub path: PathBuf,
    /// The whole text of the file.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    fn new(path: PathBuf, text: String) -> SourceFile {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            // A `\r` followed by `\n` is one break, counted at the `\n`.
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                line_starts.push(i + 1);
            }
        }
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    /// 0-based line of a byte offset (clamped to the end of the file).
    pub fn line_index(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }

    /// Byte offset where 0-based line `line` starts; the end of the text
    /// past the last line.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// Number of lines (a trailing newline starts an empty last line).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte offset where the text of 0-based line `line` ends, before its
    /// line break.
    pub fn line_end(&self, line: usize) -> usize {
        let next = self.line_start(line + 1);
        let text = &self.text.as_bytes()[self.line_start(line)..next];
        let trimmed = match text {
            [.., b'\r', b'\n'] => 2,
            [.., b'\n' | b'\r'] => 1,
            _ => 0,
        };
        next - trimmed
    }

    /// Characters from the start of the offset's line to the offset.
    pub fn column_of(&self, offset: usize) -> usize {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let start = self.line_starts[self.line_index(offset)];
        self.text[start..offset].chars().count()
    }

    /// Line and column of a byte offset (clamped to the end of the file).
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        LineCol {
            line: self.line_index(offset) + 1,
            column: self.column_of(offset) + 1,
        }
    }

    /// Byte offset of a 1-based line and character column.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        self.text[start..]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(self.text.len(), |(i, _)| start + i)
    }
}

/// The largest char boundary at or before `offset`.
pub fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The smallest char boundary at or after `offset`.
pub fn ceil_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset += 1;
    }
    offset
}

/// Every file a topology was loaded from. Files are shared (`Arc`) so that
/// renderers can hold them without copying the text.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<std::sync::Arc<SourceFile>>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, path: impl Into<PathBuf>, text: String) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files
            .push(std::sync::Arc::new(SourceFile::new(path.into(), text)));
        id
    }

    /// The file `id` names.
    ///
    /// # Panics
    /// When `id` is not from this map.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// The path of the file `id` names.
    pub fn path(&self, id: FileId) -> &Path {
        &self.file(id).path
    }

    /// Line and column of a span's start.
    pub fn line_col(&self, span: Span) -> LineCol {
        self.file(span.file).line_col(span.start as usize)
    }

    /// File name, line and column of a span's start.
    pub fn locate(&self, span: Span) -> Location {
        let lc = self.line_col(span);
        Location {
            file: self.path(span.file).display().to_string(),
            line: lc.line,
            column: lc.column,
        }
    }

    /// Every file with its id, in the order they were added.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &std::sync::Arc<SourceFile>)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let mut map = SourceMap::new();
        let id = map.add("a.yaml", "ab\nçd: x\n".to_string());
        let file = map.file(id);
        assert_eq!(file.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(file.line_col(3), LineCol { line: 2, column: 1 });
        // 'ç' is two bytes but one column.
        assert_eq!(file.line_col(5), LineCol { line: 2, column: 2 });
        assert_eq!(file.offset_of(2, 2), 5);
        assert_eq!(file.line_col(1000), LineCol { line: 3, column: 1 });
    }

    #[test]
    fn every_line_break_counts_once() {
        let mut map = SourceMap::new();
        // \n, \r\n and a lone \r each end a line.
        let id = map.add("a.yaml", "a\nb\r\nc\rd".to_string());
        let file = map.file(id);
        assert_eq!(file.line_count(), 4);
        assert_eq!(file.line_col(2), LineCol { line: 2, column: 1 });
        assert_eq!(file.line_col(5), LineCol { line: 3, column: 1 });
        assert_eq!(file.line_col(7), LineCol { line: 4, column: 1 });
        assert_eq!(file.line_end(1), 3);
        assert_eq!(file.line_end(2), 6);
        assert_eq!(file.offset_of(4, 1), 7);
    }

    #[test]
    fn columns_inside_a_character_count_the_character_once() {
        let mut map = SourceMap::new();
        let id = map.add("a.yaml", "é: ü".to_string());
        let file = map.file(id);
        assert_eq!(file.column_of(1), 0);
        assert_eq!(file.column_of(2), 1);
        assert_eq!(file.line_col(4), LineCol { line: 1, column: 4 });
    }
}
