//! Source text for miette, read through warren's line index.

use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::source::{SourceFile, ceil_char_boundary, floor_char_boundary};

/// A loaded file as miette reads it: through the file's line index, so
/// that rendering a diagnostic reads the few lines around its span instead
/// of scanning the file from the start (10,000 warnings on a 50,000-line
/// file took 38 s that way, 0.4 s this way).
///
/// Positions are warren's own (`SourceFile::line_col`: every line break, columns
/// in characters), so the header of a human diagnostic names the same line
/// and column as JSON and GitHub output. Lines longer than [`LONG_LINE`] are
/// shown as an excerpt around the span: a generated one-line spec must not
/// be echoed whole (and miette cannot draw past column 65,535).
#[derive(Debug)]
pub(super) struct IndexedSource {
    file: Arc<SourceFile>,
    /// The text as shown, when it holds characters a terminal would act on.
    shown: Option<String>,
}

/// The longest line shown whole in a snippet, in bytes.
pub(super) const LONG_LINE: usize = 400;
/// How much of a long line is shown on each side of the span, in bytes.
const EXCERPT_MARGIN: usize = 80;

impl IndexedSource {
    pub(super) fn new(file: Arc<SourceFile>) -> IndexedSource {
        use std::borrow::Cow;
        let safe = crate::printable::snippet_text(&file.text);
        let shown = match (&safe, mask_passwords(&safe)) {
            (Cow::Borrowed(_), Cow::Borrowed(_)) => None,
            (_, shown) => Some(shown.into_owned()),
        };
        IndexedSource { file, shown }
    }

    fn text(&self) -> &str {
        self.shown.as_deref().unwrap_or(&self.file.text)
    }

    /// Whether two offsets can be drawn in one snippet: on a long line,
    /// only when they are close.
    pub(super) fn shown_together(&self, a: usize, b: usize) -> bool {
        let (line_a, line_b) = (self.file.line_index(a), self.file.line_index(b));
        let long = self.is_long(line_a) || self.is_long(line_b);
        !long || a.abs_diff(b) <= LONG_LINE / 2
    }

    fn is_long(&self, line: usize) -> bool {
        self.file.line_end(line) - self.file.line_start(line) > LONG_LINE
    }
}

/// The value of every `password:` key masked with `*` of the same byte
/// length: E004 points at a password written in a spec, and a snippet must
/// not print it (nor the neighbour of any other finding).
fn mask_passwords(text: &str) -> std::borrow::Cow<'_, str> {
    static PASSWORD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?m)(?:^|[\s{,])["']?password["']?[ \t]*:[ \t]*([^\s,}#][^\n\r,}#]*)"#)
            .expect("a valid pattern")
    });
    static URL_PASSWORD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"://[^/\s:@]*:([^@\s/]+)@").expect("a valid pattern")
    });
    let mut ranges: Vec<std::ops::Range<usize>> = PASSWORD
        .captures_iter(text)
        .chain(URL_PASSWORD.captures_iter(text))
        .filter_map(|c| c.get(1))
        .map(|m| m.range())
        .collect();
    ranges.sort_by_key(|r| r.start);
    let mut ranges = ranges.into_iter().peekable();
    if ranges.peek().is_none() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for range in ranges {
        if range.start < at {
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push_str(&"*".repeat(range.len()));
        at = range.end;
    }
    out.push_str(&text[at..]);
    std::borrow::Cow::Owned(out)
}

impl SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let file = &self.file;
        let text = self.text();
        let start = span.offset().min(text.len());
        let end = (span.offset() + span.len()).min(text.len()).max(start);
        let start_line = file.line_index(start);
        // As miette counts it: a span that ends with a line break ends on
        // the next line.
        let end_line = file.line_index(end);
        let has_long_line =
            end_line - start_line > 1_000 || (start_line..=end_line).any(|line| self.is_long(line));
        if has_long_line {
            // An excerpt: no context lines, and at most LONG_LINE bytes of
            // span.
            let from = floor_char_boundary(text, start.saturating_sub(EXCERPT_MARGIN))
                .max(file.line_start(start_line));
            let to = ceil_char_boundary(text, end.min(start + LONG_LINE) + EXCERPT_MARGIN)
                .min(file.line_end(end_line));
            let column = file.column_of(if context_lines_before == 0 {
                start
            } else {
                from
            });
            return Ok(Box::new(MietteSpanContents::new(
                &text.as_bytes()[from..to],
                SourceSpan::new(from.into(), to - from),
                start_line,
                column,
                end_line + 1,
            )));
        }
        // Context lines stop at a long line: it would flood the snippet.
        let mut first_line = start_line;
        while first_line > 0
            && start_line - first_line < context_lines_before
            && !self.is_long(first_line - 1)
        {
            first_line -= 1;
        }
        let mut last_line = end_line;
        while last_line + 1 < file.line_count()
            && last_line - end_line < context_lines_after
            && !self.is_long(last_line + 1)
        {
            last_line += 1;
        }
        let (from, column) = if context_lines_before == 0 {
            (start, file.column_of(start))
        } else {
            (file.line_start(first_line), 0)
        };
        let to = file.line_start(last_line + 1);
        Ok(Box::new(MietteSpanContents::new(
            &text.as_bytes()[from..to],
            SourceSpan::new(from.into(), to - from),
            first_line,
            column,
            last_line + 1,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;
    use proptest::prelude::*;

    #[test]
    fn passwords_are_masked_in_snippets() {
        let text =
            "users:\n  u: { password: S3cr3t, tags: [] }\n  v:\n    \"password\": 'hunter 2'\n";
        let masked = mask_passwords(text);
        assert!(
            !masked.contains("S3cr3t") && !masked.contains("hunter"),
            "{masked}"
        );
        assert_eq!(masked.len(), text.len());
        assert!(masked.contains("tags: []"), "{masked}");
    }

    proptest! {
        /// The indexed reader returns what miette's own reader returns.
        #[test]
        fn indexed_source_reads_like_miette(
            lines in prop::collection::vec("[a-z: ]{0,12}", 1..30),
            at in 0usize..400,
            len in 0usize..20,
            before in 0usize..3,
            after in 0usize..3,
        ) {
            let text = lines.join("\n");
            let start = at.min(text.len());
            let span = SourceSpan::new(start.into(), len.min(text.len() - start));
            let mut map = SourceMap::new();
            let id = map.add("t.yaml", text.clone());
            let indexed = IndexedSource::new(map.files().find(|(f, _)| *f == id).unwrap().1.clone());
            let expected = text.as_str().read_span(&span, before, after);
            // miette reads a span with context after it but none before
            // only when asked to; the renderer never asks.
            prop_assume!(before > 0 || after == 0);
            let got = indexed.read_span(&span, before, after);
            match (expected, got) {
                // Without context after the span, miette stops at the span's
                // end; warren reads the whole line. Only the position is
                // used then (the header of a diagnostic).
                (Ok(e), Ok(g)) if after == 0 => {
                    prop_assert_eq!(e.line(), g.line());
                    prop_assert_eq!(e.column(), g.column());
                }
                (Ok(e), Ok(g)) => {
                    prop_assert_eq!(e.data(), g.data());
                    prop_assert_eq!(e.span(), g.span());
                    prop_assert_eq!(e.line(), g.line());
                    prop_assert_eq!(e.column(), g.column());
                }
                (Err(_), Err(_)) => {}
                (e, g) => prop_assert!(false, "miette: {:?}, indexed: {:?}", e.is_ok(), g.is_ok()),
            }
        }
    }
}
