//! Durations as people write them: `250ms`, `5s`, `1m`, `2h`, `7d`.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration with millisecond precision, the unit RabbitMQ uses for TTLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    /// The length in milliseconds.
    pub millis: u64,
}

const UNITS: [(&str, u64); 5] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

impl Duration {
    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Duration {
        Duration { millis }
    }

    /// A stream's `x-max-age` for this duration, in the largest exact unit
    /// of RabbitMQ's D, h, m and s; none unless it is whole seconds, at
    /// least one.
    pub fn as_age(&self) -> Option<String> {
        if self.millis == 0 || !self.millis.is_multiple_of(1000) {
            return None;
        }
        let seconds = self.millis / 1000;
        for (unit, factor) in [("D", 86_400), ("h", 3_600), ("m", 60)] {
            if seconds.is_multiple_of(factor) {
                return Some(format!("{}{unit}", seconds / factor));
            }
        }
        Some(format!("{seconds}s"))
    }

    /// Reads an `x-max-age` of D, h, m or s; Y and M (years and months of
    /// the broker's calendar) have no exact duration.
    pub fn from_age(age: &str) -> Option<Duration> {
        let unit = age.chars().last()?;
        let factor = match unit {
            'D' => 86_400_000,
            'h' => 3_600_000,
            'm' => 60_000,
            's' => 1_000,
            _ => return None,
        };
        let digits = &age[..age.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let millis = digits.parse::<u64>().ok()?.checked_mul(factor)?;
        (millis > 0).then_some(Duration { millis })
    }

    /// Parses `<digits><unit>`.
    ///
    /// # Errors
    /// No number, an unknown unit, or more milliseconds than fit in a u64;
    /// the error's text is shown to the user as is.
    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        let digits_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits_end);
        if number.is_empty() {
            return Err(DurationError::NoNumber(text.to_string()));
        }
        let Some(&(_, factor)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(DurationError::UnknownUnit {
                text: text.to_string(),
                unit: unit.to_string(),
            });
        };
        number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor))
            .map(Duration::from_millis)
            .ok_or_else(|| DurationError::TooLarge(text.to_string()))
    }
}

/// Why a text is not a [`Duration`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error(
        "invalid duration {0:?}: expected a number followed by a unit, such as 250ms, 5s, 1m, 2h or 7d"
    )]
    NoNumber(String),
    #[error("invalid duration {text:?}: unknown unit {unit:?}; use ms, s, m, h or d")]
    UnknownUnit { text: String, unit: String },
    #[error("invalid duration {0:?}: too large")]
    TooLarge(String),
}

/// Prints the largest unit that divides the value exactly, so `5000` ms is `5s`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (unit, factor) = UNITS
            .iter()
            .rev()
            .find(|(_, factor)| self.millis != 0 && self.millis.is_multiple_of(*factor))
            .copied()
            .unwrap_or(("ms", 1));
        write!(f, "{}{unit}", self.millis / factor)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 250ms, 5s, 1m, 2h or 7d")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "a bare number ({v}) is ambiguous as a duration: add a unit, such as {v}ms or {v}s"
                )))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "a bare number ({v}) is ambiguous as a duration: add a unit, such as {v}ms or {v}s"
                )))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9]+(ms|s|m|h|d)$",
            "description": "A duration: a whole number and a unit (ms, s, m, h, d), e.g. 250ms, 5s, 1m, 7d."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_use_rabbitmq_units_both_ways() {
        let week = Duration::from_millis(7 * 86_400_000);
        assert_eq!(week.as_age().as_deref(), Some("7D"));
        assert_eq!(
            Duration::from_millis(7_200_000).as_age().as_deref(),
            Some("2h")
        );
        assert_eq!(
            Duration::from_millis(90_000).as_age().as_deref(),
            Some("90s")
        );
        assert_eq!(Duration::from_millis(1_500).as_age(), None);
        assert_eq!(Duration::from_millis(0).as_age(), None);
        assert_eq!(Duration::from_age("7D"), Some(week));
        assert_eq!(
            Duration::from_age("90s"),
            Some(Duration::from_millis(90_000))
        );
        assert_eq!(Duration::from_age("1Y"), None);
        assert_eq!(Duration::from_age("0s"), None);
        assert_eq!(Duration::from_age("s"), None);
        assert_eq!(Duration::from_age("ü"), None);
    }

    #[test]
    fn parses_each_unit() {
        assert_eq!(Duration::parse("250ms").unwrap().millis, 250);
        assert_eq!(Duration::parse("5s").unwrap().millis, 5_000);
        assert_eq!(Duration::parse("1m").unwrap().millis, 60_000);
        assert_eq!(Duration::parse("2h").unwrap().millis, 7_200_000);
        assert_eq!(Duration::parse("7d").unwrap().millis, 604_800_000);
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in [
            "",
            "s",
            "5",
            "5 s",
            "5sec",
            "-1s",
            "1.5s",
            "99999999999999999999d",
        ] {
            assert!(Duration::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn displays_the_largest_exact_unit() {
        assert_eq!(Duration::from_millis(5_000).to_string(), "5s");
        assert_eq!(Duration::from_millis(300_000).to_string(), "5m");
        assert_eq!(Duration::from_millis(1_500).to_string(), "1500ms");
        assert_eq!(Duration::from_millis(0).to_string(), "0ms");
    }
}
