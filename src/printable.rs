//! Text from specs, definitions files and brokers, made safe to show.
//!
//! Names and values come from files and servers warren does not control. A
//! name holding an escape sequence must not recolour or rewrite the user's
//! terminal, and a 200 MB value must not end up in an error message. Every
//! renderer that writes text for people passes it through here.

use std::borrow::Cow;

/// Whether a character would act on the terminal instead of showing:
/// C0 controls (but tab and newline), DEL, C1 controls, and the Unicode
/// bidirectional overrides that reorder what is shown.
fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with hostile characters escaped as `\u{1b}`, the way Rust's
/// `Debug` writes them.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hostile) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hostile(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The source text as a snippet shows it: each hostile character replaced
/// by one of the same byte length (`?`, `¿` or `�`), so that byte offsets
/// into the file stay valid; a lone `\r` becomes `\n`, the line break it is.
pub fn snippet_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hostile) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => out.push('\r'),
            '\r' => out.push('\n'),
            c if is_hostile(c) => out.push(match c.len_utf8() {
                1 => '?',
                2 => '\u{BF}',
                _ => '\u{FFFD}',
            }),
            c => out.push(c),
        }
    }
    debug_assert_eq!(out.len(), text.len());
    Cow::Owned(out)
}

/// The longest run of non-space characters a message keeps whole.
const LONGEST_WORD: usize = 120;
/// The longest message kept whole.
const LONGEST_MESSAGE: usize = 2_000;

/// `text` with every run of non-space characters longer than 120 bytes
/// shortened to its start and end around `…(N bytes)…`, and the whole capped
/// at 2,000 bytes: a huge name or value stays recognisable without flooding
/// the terminal.
pub fn clip(text: &str) -> Cow<'_, str> {
    let long_word = text
        .split(char::is_whitespace)
        .any(|w| w.len() > LONGEST_WORD);
    if !long_word && text.len() <= LONGEST_MESSAGE {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(word_end);
        if word.len() > LONGEST_WORD {
            let head = floor(word, 60);
            let end = ceil(word, word.len() - 20);
            out.push_str(&word[..head]);
            out.push_str(&format!("…({} bytes)…", word.len()));
            out.push_str(&word[end..]);
        } else {
            out.push_str(word);
        }
        let space_end = tail
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(tail.len());
        out.push_str(&tail[..space_end]);
        rest = &tail[space_end..];
        if out.len() > LONGEST_MESSAGE {
            let cut = floor(&out, LONGEST_MESSAGE);
            out.truncate(cut);
            out.push_str(&format!("…({} bytes in all)", text.len()));
            break;
        }
    }
    Cow::Owned(out)
}

/// Both: clipped, then escaped. What every message shown to a person gets.
pub fn for_people(text: &str) -> String {
    printable(&clip(text)).into_owned()
}

/// Any text given as a URL, safe to print: everything up to the last `@`
/// (user and password, with or without a scheme, `//u:pw@host` too) and any
/// query or fragment (`?password=...`) removed. It errs on the side of
/// hiding: the text need not be a valid URL.
pub fn redact(text: &str) -> String {
    let scheme_end = text
        .find("://")
        .map(|i| i + 3)
        .or_else(|| text.starts_with("//").then_some(2));
    let (prefix, rest) = text.split_at(scheme_end.unwrap_or(0));
    let rest = match rest.rfind('@') {
        Some(at) => rest[at + 1..].to_string(),
        None => hide_bare_password(rest),
    };
    match rest.find(['?', '#']) {
        Some(i) => format!("{prefix}{}?…", &rest[..i]),
        None => format!("{prefix}{rest}"),
    }
}

/// `user:secret` with no `@host` after it: what follows the colon is a
/// password unless it is a port number.
fn hide_bare_password(rest: &str) -> String {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    match authority.split_once(':') {
        Some((_, after))
            if !authority.starts_with('[') && !after.chars().all(|c| c.is_ascii_digit()) =>
        {
            let colon = authority.find(':').unwrap_or(0);
            format!("{}:…{}", &rest[..colon], &rest[end..])
        }
        _ => rest.to_string(),
    }
}

fn floor(text: &str, at: usize) -> usize {
    crate::source::floor_char_boundary(text, at)
}

fn ceil(text: &str, at: usize) -> usize {
    crate::source::ceil_char_boundary(text, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_what_acts_on_a_terminal() {
        assert_eq!(printable("q\u{1b}[31mred\u{7}"), "q\\u{1b}[31mred\\u{7}");
        assert_eq!(printable("a\rb"), "a\\u{d}b");
        assert_eq!(printable("evil\u{202e}txt"), "evil\\u{202e}txt");
        assert!(matches!(printable("plain ünï\tname\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn clips_huge_values_but_keeps_small_ones() {
        let huge = format!("queue \"{}\" is bad", "x".repeat(10_000_000));
        let clipped = clip(&huge);
        assert!(clipped.len() < 300, "{}", clipped.len());
        assert!(clipped.contains("(10000002 bytes)"), "{clipped}");
        assert!(clipped.starts_with("queue \"xxx") && clipped.ends_with("\" is bad"));
        assert_eq!(clip("a short message"), "a short message");
        let many_words = "word ".repeat(1_000);
        assert!(clip(&many_words).len() < LONGEST_MESSAGE + 40);
    }

    proptest! {
        #[test]
        fn snippet_text_keeps_every_byte_offset(text in "\\PC*|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}\\u{202a}-\\u{202e}a-z\\r\\n]*") {
            let shown = snippet_text(&text);
            prop_assert_eq!(shown.len(), text.len());
            prop_assert!(!shown.chars().any(|c| is_hostile(c) && c != '\r'));
            for (i, _) in text.char_indices() {
                prop_assert!(shown.is_char_boundary(i));
            }
        }

        #[test]
        fn clip_never_splits_a_character(text in "[a-zé€ 😀]{0,400}") {
            let clipped = clip(&text);
            prop_assert!(clipped.len() <= text.len().max(LONGEST_MESSAGE + 60));
        }
    }
}
