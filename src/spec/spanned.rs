//! A value with the byte range of the YAML node it was read from.
//!
//! serde-saphyr's own `Spanned` has no `JsonSchema` impl and carries more than
//! warren needs; this wrapper keeps the value and a file-relative byte range,
//! and is transparent to serde serialisation and to the JSON Schema.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Byte range inside one file; the file is known to whoever loaded it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loc {
    /// Byte offset of the node's start.
    pub start: u32,
    /// The node's length in bytes.
    pub len: u32,
}

/// A value read from YAML, with where it was read. Compares, hashes and
/// serialises as the value alone.
#[derive(Clone, Debug, Default)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where in its file the value was read; zero for a value built by code.
    pub loc: Loc,
}

impl<T> Spanned<T> {
    /// A value with no position (built by code, not read from a file).
    pub fn bare(value: T) -> Spanned<T> {
        Spanned {
            value,
            loc: Loc::default(),
        }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let inner = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let span = inner.referenced.span();
        let loc = Loc {
            start: span
                .byte_offset()
                .and_then(|o| u32::try_from(o).ok())
                .unwrap_or(0),
            len: span
                .byte_len()
                .and_then(|l| u32::try_from(l).ok())
                .unwrap_or(0),
        };
        Ok(Spanned {
            value: inner.value,
            loc,
        })
    }
}

impl<T: Serialize> Serialize for Spanned<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

// Equality and ordering look at the value only: two mentions of the same name
// in different places are the same name.
impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq> Eq for Spanned<T> {}
impl<T: PartialOrd> PartialOrd for Spanned<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}
impl<T: Ord> Ord for Spanned<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}
impl<T: Hash> Hash for Spanned<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}

/// Names can be looked up by `&str` in maps keyed by `Spanned<String>`
/// (equality and ordering look at the value only).
impl std::borrow::Borrow<str> for Spanned<String> {
    fn borrow(&self) -> &str {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    struct Doc {
        a: Spanned<String>,
        m: BTreeMap<Spanned<String>, Spanned<Inner>>,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[allow(dead_code)]
        x: u32,
    }

    #[test]
    fn spans_are_byte_ranges() {
        let text = "a: héllo\nm:\n  key1:\n    x: 1\n";
        let doc: Doc = serde_saphyr::from_str(text).unwrap();
        let s = doc.a.loc.start as usize;
        assert_eq!(&text[s..s + doc.a.loc.len as usize], "héllo");
        let (k, v) = doc.m.iter().next().unwrap();
        let ks = k.loc.start as usize;
        assert_eq!(&text[ks..ks + k.loc.len as usize], "key1");
        eprintln!("{:?}", v.loc);
    }
}
